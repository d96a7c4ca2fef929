package compose

import (
	"strconv"
	"strings"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/processor"
	"github.com/kycbackend/kyc/shared/vendors/idwise"
	"github.com/kycbackend/kyc/shared/vendors/veriff"
)

// catalogued gives a vendor's resolver the catalogue of its event names, so that only those
// become the processor's "event" metric dimension (processor.EventCatalog); any other name
// is counted as "other". A vendor package whose resolver implements KnownEvent itself needs
// no wrapper.
type catalogued struct {
	processor.Resolver
	known func(name string) bool
}

func (c catalogued) KnownEvent(name string) bool { return c.known(name) }

// Recheck passes the wrapped resolver's processor.Rechecks through (false without one).
func (c catalogued) Recheck(e inbox.Event) bool {
	rc, ok := c.Resolver.(processor.Rechecks)
	return ok && rc.Recheck(e)
}

// eventCatalogs are the vendors' event name catalogues: IDWise's knownEvents, and Veriff's
// codes with their documented labels.
var eventCatalogs = map[string]func(string) bool{
	idwise.Provider: idwise.Known,
	veriff.Provider: knownVeriffEvent,
}

// withCatalogs gives each resolver its vendor's catalogue, unless it has one already.
func withCatalogs(resolvers map[string]processor.Resolver) map[string]processor.Resolver {
	for provider, r := range resolvers {
		known, ok := eventCatalogs[provider]
		if _, has := r.(processor.EventCatalog); has || !ok {
			continue
		}
		resolvers[provider] = catalogued{Resolver: r, known: known}
	}
	return resolvers
}

// veriffLabels are the actions and decision statuses Veriff documents (event webhook
// action, decision webhook verification.status), the label part of veriff.Webhook.Name.
var veriffLabels = map[string]bool{
	"started": true, "submitted": true, "waiting_complete": true, "flow_finished": true, "flow_cancelled": true,
	"approved": true, "declined": true, "resubmission_requested": true, "expired": true, "abandoned": true, "review": true,
}

// knownVeriffEvent accepts "<code>" and "<code> <label>" (veriff.Webhook.Name) for a code
// the product knows and a documented label.
func knownVeriffEvent(name string) bool {
	code, label, _ := strings.Cut(name, " ")
	n, err := strconv.Atoi(code)
	if err != nil || !veriff.Known(n) {
		return false
	}
	return label == "" || veriffLabels[label]
}
