package inbox_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/inbox/inboxtest"
)

func TestMemStoreContract(t *testing.T) {
	inboxtest.StoreContract(t, func(t *testing.T) (inbox.Store, inboxtest.Reader) {
		m := inboxtest.NewMemStore()
		return m, inboxtest.ReaderFor(m)
	})
}

func TestAcceptSetsTimesAndHash(t *testing.T) {
	store := inboxtest.NewMemStore()
	svc := inbox.New(store, nil, 48*time.Hour)
	e := inboxtest.NewEvent("e-1")
	e.BodyHash, e.ReceivedAt, e.ExpiresAt = "", time.Time{}, time.Time{}
	res, err := svc.Accept(context.Background(), e)
	if err != nil || res.Status != inbox.Accepted || res.EventID != "e-1" {
		t.Fatalf("Accept() = %+v, %v, want accepted e-1", res, err)
	}
	got, _ := store.Event("idwise", "e-1")
	if got.BodyHash != inbox.Hash(e.Body) {
		t.Errorf("BodyHash = %q, want %q", got.BodyHash, inbox.Hash(e.Body))
	}
	if d := got.ExpiresAt.Sub(got.ReceivedAt); d != 48*time.Hour {
		t.Errorf("ExpiresAt - ReceivedAt = %v, want 48h", d)
	}
	if time.Since(got.ReceivedAt) > time.Minute || got.ReceivedAt.Location() != time.UTC {
		t.Errorf("ReceivedAt = %v, want now in UTC", got.ReceivedAt)
	}
}

func TestAcceptStoreErrorIsNotAccepted(t *testing.T) {
	store := inboxtest.NewMemStore()
	store.Fail = errors.New("throttled")
	svc := inbox.New(store, nil, time.Hour)
	if _, err := svc.Accept(context.Background(), inboxtest.NewEvent("e-1")); err == nil {
		t.Fatal("Accept() error = nil, want the store error")
	}
	if _, err := svc.Quarantine(context.Background(), "idwise", []byte("x"), "bad"); err == nil {
		t.Fatal("Quarantine() error = nil, want the store error")
	}
}
