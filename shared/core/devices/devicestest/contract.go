package devicestest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kycbackend/kyc/shared/core/devices"
)

// Harness is a devices.Store under test with what the suite needs around it.
type Harness struct {
	Store devices.Store
	// Erase leaves the tombstone of an erased profile.
	Erase func(ctx context.Context, referenceNo string) error
}

// NewDevice returns a device of referenceNo for token on APNs, registered at at.
func NewDevice(referenceNo, token string, at time.Time) devices.Device {
	return devices.Device{ReferenceNo: referenceNo, DeviceID: devices.ID(devices.APNS, token), Platform: devices.APNS,
		EndpointARN: "arn:aws:sns:us-east-1:123456789012:endpoint/APNS/app/" + token, Locale: "ar",
		TokenHash: devices.TokenHash(token), CreatedAt: at, RegisteredAt: at}
}

func owner(d devices.Device) *devices.Owner {
	return &devices.Owner{ReferenceNo: d.ReferenceNo, DeviceID: d.DeviceID, EndpointARN: d.EndpointARN}
}

// RunStoreContract runs the behaviour every devices.Store must have. newStore returns a
// store with nothing in it.
func RunStoreContract(t *testing.T, newStore func(t *testing.T) Harness) {
	ctx := context.Background()
	at := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

	list := func(t *testing.T, s devices.Store, ref string) []devices.Device {
		t.Helper()
		l, err := s.Devices(ctx, ref)
		if err != nil {
			t.Fatalf("Devices(%s) = %v", ref, err)
		}
		return l
	}
	saveNew := func(t *testing.T, s devices.Store, d devices.Device) {
		t.Helper()
		if err := s.SaveDevice(ctx, d, nil, nil); err != nil {
			t.Fatalf("SaveDevice(new %s of %s) = %v", d.DeviceID, d.ReferenceNo, err)
		}
	}
	ownerOf := func(t *testing.T, s devices.Store, d devices.Device) (devices.Owner, bool) {
		t.Helper()
		o, found, err := s.TokenOwner(ctx, d.Platform, d.TokenHash)
		if err != nil {
			t.Fatalf("TokenOwner() = %v", err)
		}
		return o, found
	}

	t.Run("a new device and its token entry", func(t *testing.T) {
		h := newStore(t)
		if l := list(t, h.Store, "alice"); len(l) != 0 {
			t.Fatalf("Devices() of an empty store = %v, want none", l)
		}
		d := NewDevice("alice", "t1", at)
		if err := h.Store.SaveDevice(ctx, d, nil, nil); err != nil {
			t.Fatalf("SaveDevice(new) = %v", err)
		}
		l := list(t, h.Store, "alice")
		if len(l) != 1 || l[0].DeviceID != d.DeviceID || l[0].EndpointARN != d.EndpointARN || l[0].Locale != "ar" ||
			l[0].TokenHash != d.TokenHash || l[0].Platform != devices.APNS || !l[0].RegisteredAt.Equal(at) || !l[0].CreatedAt.Equal(at) {
			t.Errorf("Devices() = %+v, want %+v", l, d)
		}
		if o, found := ownerOf(t, h.Store, d); !found || o != *owner(d) {
			t.Errorf("TokenOwner() = %+v %v, want %+v", o, found, *owner(d))
		}
		noLocale := NewDevice("alice", "t2", at)
		noLocale.Locale = ""
		saveNew(t, h.Store, noLocale)
		for _, x := range list(t, h.Store, "alice") {
			if x.DeviceID == noLocale.DeviceID && x.Locale != devices.DefaultLocale {
				t.Errorf("device saved without locale reads back %q, want %q", x.Locale, devices.DefaultLocale)
			}
		}
		if l := list(t, h.Store, "bob"); len(l) != 0 {
			t.Errorf("Devices(bob) = %v, want only a profile's own", l)
		}
	})

	t.Run("the token entry must still be what was read", func(t *testing.T) {
		h := newStore(t)
		d := NewDevice("alice", "t1", at)
		saveNew(t, h.Store, d)
		again := d
		again.RegisteredAt = at.Add(time.Minute)
		stale := *owner(d)
		stale.EndpointARN = "arn:other"
		for name, prev := range map[string]*devices.Owner{"read as absent": nil, "read with another endpoint": &stale} {
			if err := h.Store.SaveDevice(ctx, again, prev, nil); !errors.Is(err, devices.ErrConflict) {
				t.Errorf("SaveDevice(%s) = %v, want ErrConflict", name, err)
			}
		}
		if l := list(t, h.Store, "alice"); len(l) != 1 || !l[0].RegisteredAt.Equal(at) {
			t.Errorf("Devices() after conflicts = %+v, want the first registration only", l)
		}
		if err := h.Store.SaveDevice(ctx, again, owner(d), nil); err != nil {
			t.Errorf("SaveDevice(as read) = %v, want nil", err)
		}
		if l := list(t, h.Store, "alice"); len(l) != 1 || !l[0].RegisteredAt.Equal(again.RegisteredAt) {
			t.Errorf("Devices() after a registration again = %+v, want one device, registered again", l)
		}
	})

	t.Run("a token moving to another profile takes its device item along", func(t *testing.T) {
		h := newStore(t)
		a := NewDevice("alice", "t1", at)
		saveNew(t, h.Store, a)
		b := NewDevice("bob", "t1", at.Add(time.Minute))
		if err := h.Store.SaveDevice(ctx, b, owner(a), nil); err != nil {
			t.Fatalf("SaveDevice(moved token) = %v", err)
		}
		if l := list(t, h.Store, "alice"); len(l) != 0 {
			t.Errorf("alice's devices = %v, want none (the token moved)", l)
		}
		if l := list(t, h.Store, "bob"); len(l) != 1 {
			t.Errorf("bob's devices = %v, want the moved one", l)
		}
		if o, _ := ownerOf(t, h.Store, b); o.ReferenceNo != "bob" {
			t.Errorf("TokenOwner() = %+v, want bob", o)
		}
	})

	t.Run("evicted devices go with their token entries, unless registered again", func(t *testing.T) {
		h := newStore(t)
		old, keep := NewDevice("carol", "t1", at), NewDevice("carol", "t2", at.Add(time.Second))
		for _, d := range []devices.Device{old, keep} {
			saveNew(t, h.Store, d)
		}
		stale := old
		stale.RegisteredAt = at.Add(-time.Hour) // what a competing registration read before old was registered again
		n := NewDevice("carol", "t3", at.Add(2*time.Second))
		if err := h.Store.SaveDevice(ctx, n, nil, []devices.Device{stale}); !errors.Is(err, devices.ErrConflict) {
			t.Errorf("SaveDevice(evicting a device registered again) = %v, want ErrConflict", err)
		}
		if l := list(t, h.Store, "carol"); len(l) != 2 {
			t.Errorf("devices after a conflicting eviction = %d, want 2 (nothing written)", len(l))
		}
		if _, found := ownerOf(t, h.Store, n); found {
			t.Errorf("the new device's token entry exists after a conflict, want none")
		}
		if err := h.Store.SaveDevice(ctx, n, nil, []devices.Device{old}); err != nil {
			t.Fatalf("SaveDevice(evicting the oldest) = %v", err)
		}
		l := list(t, h.Store, "carol")
		if len(l) != 2 || l[0].DeviceID == old.DeviceID || l[1].DeviceID == old.DeviceID {
			t.Errorf("devices = %+v, want keep and the new one", l)
		}
		if _, found := ownerOf(t, h.Store, old); found {
			t.Errorf("the evicted device's token entry is left")
		}
	})

	t.Run("remove", func(t *testing.T) {
		h := newStore(t)
		d := NewDevice("dave", "t1", at)
		saveNew(t, h.Store, d)
		got, found, err := h.Store.RemoveDevice(ctx, "dave", d.DeviceID)
		if err != nil || !found || got.EndpointARN != d.EndpointARN || got.TokenHash != d.TokenHash {
			t.Fatalf("RemoveDevice() = %+v %v %v, want the device", got, found, err)
		}
		if _, found := ownerOf(t, h.Store, d); found {
			t.Errorf("token entry left after RemoveDevice")
		}
		if _, found, err := h.Store.RemoveDevice(ctx, "dave", d.DeviceID); err != nil || found {
			t.Errorf("RemoveDevice() again = found %v, %v; want not found, no error", found, err)
		}
		if _, found, _ := h.Store.RemoveDevice(ctx, "erin", d.DeviceID); found {
			t.Errorf("RemoveDevice(another profile's id) found a device")
		}
	})

	t.Run("removing a device whose token moved on keeps the new owner's entry", func(t *testing.T) {
		h := newStore(t)
		a := NewDevice("alice", "t1", at)
		saveNew(t, h.Store, a)
		b := NewDevice("bob", "t1", at.Add(time.Minute))
		b.DeviceID = "b-device" // an entry that points elsewhere
		if err := h.Store.SaveDevice(ctx, b, owner(a), nil); err != nil {
			t.Fatal(err)
		}
		// alice's item went with the move; a stale copy removed by id finds nothing and
		// must leave bob's entry alone.
		if _, found, err := h.Store.RemoveDevice(ctx, "alice", a.DeviceID); err != nil || found {
			t.Errorf("RemoveDevice(alice) = found %v, %v; want none", found, err)
		}
		if o, found := ownerOf(t, h.Store, b); !found || o.ReferenceNo != "bob" {
			t.Errorf("TokenOwner() = %+v %v, want bob's entry kept", o, found)
		}
	})

	t.Run("erased profiles", func(t *testing.T) {
		h := newStore(t)
		if erased, err := h.Store.Erased(ctx, "frank"); err != nil || erased {
			t.Fatalf("Erased() before = %v, %v", erased, err)
		}
		if err := h.Erase(ctx, "frank"); err != nil {
			t.Fatal(err)
		}
		if erased, err := h.Store.Erased(ctx, "frank"); err != nil || !erased {
			t.Errorf("Erased() = %v, %v; want true", erased, err)
		}
	})
}
