package processor

import "github.com/kycbackend/kyc/shared/core/inbox"

// OtherEvent is the "event" metric dimension of every name a vendor's catalogue does not
// list: a vendor body must not choose how many CloudWatch metrics the account pays for.
const OtherEvent = "other"

// EventCatalog is implemented by a Resolver that knows its vendor's event names. Only the
// names it knows become an "event" metric dimension; a Resolver without one counts every
// event as OtherEvent.
type EventCatalog interface {
	KnownEvent(name string) bool
}

// eventDimension is e's "event" metric dimension: its name when the provider's resolver
// knows it, else OtherEvent.
func (s *Service) eventDimension(e inbox.Event) string {
	if c, ok := s.resolvers[e.Provider].(EventCatalog); ok && c.KnownEvent(e.Name) {
		return e.Name
	}
	return OtherEvent
}
