package webhook

import (
	"context"
	"testing"
	"time"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/inbox/inboxtest"
	"github.com/kycbackend/kyc/shared/vendors/idwise"
	"github.com/kycbackend/kyc/shared/vendors/webhookauth"
)

// signerAuth names who signed, as the Veriff authenticator names its integration.
type signerAuth struct{ attrs map[string]string }

func (a signerAuth) Check(context.Context, webhookauth.Request) error { return nil }

func (a signerAuth) Attributes(_ context.Context, r webhookauth.Request) (map[string]string, error) {
	if r.Headers["authorization"] != "Bearer tok" {
		return nil, webhookauth.ErrUnauthenticated
	}
	return a.attrs, nil
}

// The integration that signed a delivery travels on its inbox event, over a value of the
// same name the body may have tried to set; an unauthenticated one stores nothing.
func TestHandleAddsTheSignersAttributes(t *testing.T) {
	store := inboxtest.NewMemStore()
	parse := func(raw []byte) (inbox.Event, error) {
		e, err := idwise.ParseEvent(raw)
		if err == nil {
			e.Attributes = map[string]string{"product": "from-the-body"}
		}
		return e, err
	}
	h := New(idwise.Provider, signerAuth{attrs: map[string]string{"integration": "poa", "product": "proof_of_address"}},
		inbox.New(store, nil, 30*24*time.Hour), parse, nil)
	resp, _ := h.Handle(context.Background(), request(goodBody))
	if resp.StatusCode != 200 {
		t.Fatalf("Handle() = %d %s, want 200", resp.StatusCode, resp.Body)
	}
	e, ok := store.Event(idwise.Provider, "e-1")
	if !ok || e.Attributes["integration"] != "poa" || e.Attributes["product"] != "proof_of_address" {
		t.Errorf("stored attributes = %v (found %v), want integration poa, product proof_of_address", e.Attributes, ok)
	}
	resp, _ = h.Handle(context.Background(), request(goodBody, header("authorization", "Bearer nope")))
	if n, q := store.Count(); resp.StatusCode != 401 || n != 1 || q != 0 {
		t.Errorf("unauthenticated: %d, %d events %d quarantined; want 401 and nothing more stored", resp.StatusCode, n, q)
	}
}
