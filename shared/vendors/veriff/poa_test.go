package veriff_test

import (
	"context"
	"testing"
	"time"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/processor"
	"github.com/kycbackend/kyc/shared/core/processor/processortest"
	"github.com/kycbackend/kyc/shared/vendors/veriff"
)

// poaEvent is body parsed as the webhook edge does, signed by the integration named: the
// edge adds the authenticator's attributes to the event.
func poaEvent(t *testing.T, body string, product veriff.Product, at time.Time) inbox.Event {
	t.Helper()
	e, err := veriff.ParseEvent([]byte(body))
	if err != nil {
		t.Fatalf("ParseEvent(%s) = %v", body, err)
	}
	e.Attributes[veriff.AttrIntegration], e.Attributes[veriff.AttrProduct] = string(product), string(product)
	e.ReceivedAt = at
	return e
}

// Issue 19 item 5: Veriff's proof-of-address results arrive on the decision webhook with
// the same 9xxx codes, told apart only by the integration
// (https://devdocs.veriff.com/v1/docs/proof-of-address-verification: no separate webhook,
// "the API keys and the BaseURL of your PoA integration"). A PoA decision is
// checks.proofOfAddress beside the status and never the identity status; identity
// decisions still move it.
func TestProofOfAddressIsACheckNotTheStatus(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name         string
		code         int
		status       string
		wantDecision string
	}{
		{"declined", 9102, "declined", "declined"},
		{"approved", 9001, "approved", "approved"},
		{"resubmission requested", 9103, "resubmission_requested", "resubmission_requested"},
		{"expired", 9104, "expired", "expired"},
		{"abandoned", 9104, "abandoned", "abandoned"},
		{"review", 9121, "review", "review"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := processortest.NewMemStore()
			svc := processor.New(map[string]processor.Resolver{veriff.Provider: veriff.NewResolver(veriff.DefaultPolicy).WithProfiles(store)},
				processor.Deps{Journeys: store, Profiles: store, Outbox: store, Publisher: nopPublisher{}, Events: store, Checks: store})
			ctx := context.Background()
			// The identity integration approves the user.
			idv := poaEvent(t, decision("s-idv", "a1", "ref-poa", 9001, "approved", t0), veriff.ProductIdentity, t0)
			if err := svc.Process(ctx, idv); err != nil {
				t.Fatal(err)
			}
			// The PoA integration's session of the same user: started, submitted, decided.
			for i, b := range []string{
				ev("s-poa", "p1", "ref-poa", 7001, "started"),
				ev("s-poa", "p1", "ref-poa", 7002, "submitted"),
				ev("s-poa", "p1", "ref-poa", 7009, "flow_cancelled", "quit_session_confirmed"),
				decision("s-poa", "p1", "ref-poa", tt.code, tt.status, t0.Add(time.Hour)),
			} {
				e := poaEvent(t, b, veriff.ProductProofOfAddress, t0.Add(time.Duration(i+1)*time.Minute))
				if err := svc.Process(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
			p, _, _ := store.Profile(ctx, "ref-poa")
			if p.Status != kyc.Approved || p.JourneyID != "s-idv" {
				t.Errorf("profile = %s on %s, want APPROVED on the identity session s-idv", p.Status, p.JourneyID)
			}
			checks, _ := store.Checks(ctx, "ref-poa")
			if len(checks) != 1 || checks[0].Name != kyc.CheckProofOfAddress || checks[0].Decision != tt.wantDecision ||
				checks[0].SessionID != "s-poa" || !checks[0].DecidedAt.Equal(t0.Add(time.Hour)) {
				t.Errorf("checks = %+v, want proofOfAddress %s of s-poa decided at %s", checks, tt.wantDecision, t0.Add(time.Hour))
			}
		})
	}
}

// An older PoA decision (Veriff retries for days) never replaces a newer one; an identity
// decision from the identity integration still moves the status after a PoA decision.
func TestProofOfAddressOrderAndIdentityStillDecides(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	store := processortest.NewMemStore()
	svc := processor.New(map[string]processor.Resolver{veriff.Provider: veriff.NewResolver(veriff.DefaultPolicy).WithProfiles(store)},
		processor.Deps{Journeys: store, Profiles: store, Outbox: store, Publisher: nopPublisher{}, Events: store, Checks: store})
	ctx := context.Background()
	for _, e := range []inbox.Event{
		poaEvent(t, decision("s-poa", "p2", "ref-o", 9001, "approved", t0.Add(2*time.Hour)), veriff.ProductProofOfAddress, t0),
		poaEvent(t, decision("s-poa", "p1", "ref-o", 9102, "declined", t0.Add(time.Hour)), veriff.ProductProofOfAddress, t0.Add(time.Minute)),
		poaEvent(t, decision("s-idv", "a1", "ref-o", 9102, "declined", t0.Add(3*time.Hour)), veriff.ProductIdentity, t0.Add(2*time.Minute)),
	} {
		if err := svc.Process(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	checks, _ := store.Checks(ctx, "ref-o")
	if len(checks) != 1 || checks[0].Decision != "approved" {
		t.Errorf("checks = %+v, want the newer PoA decision approved kept", checks)
	}
	if p, _, _ := store.Profile(ctx, "ref-o"); p.Status != kyc.Rejected || p.JourneyID != "s-idv" {
		t.Errorf("profile = %s on %s, want the identity decision REJECTED on s-idv", p.Status, p.JourneyID)
	}
}

type nopPublisher struct{}

func (nopPublisher) Publish(context.Context, kyc.StatusEvent) error { return nil }
