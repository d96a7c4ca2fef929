package devices_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kycbackend/kyc/shared/core/devices"
	"github.com/kycbackend/kyc/shared/core/devices/devicestest"
)

// memEndpoints makes one endpoint per token and records deletions.
type memEndpoints struct {
	configured map[devices.Platform]bool
	byToken    map[string]string
	deleted    []string
}

func (e *memEndpoints) Register(_ context.Context, p devices.Platform, token, arn string) (string, error) {
	if !e.configured[p] {
		return "", devices.ErrPlatformNotConfigured
	}
	if a, ok := e.byToken[token]; ok {
		return a, nil
	}
	a := fmt.Sprintf("arn:endpoint/%s/%d", p, len(e.byToken))
	e.byToken[token] = a
	return a, nil
}

func (e *memEndpoints) Delete(_ context.Context, arn string) error {
	e.deleted = append(e.deleted, arn)
	return nil
}

func TestService(t *testing.T) {
	clock := time.Unix(1_800_000_000, 0)
	newService := func(max int) (*devices.Service, *devicestest.MemStore, *memEndpoints) {
		m := devicestest.NewMemStore()
		e := &memEndpoints{configured: map[devices.Platform]bool{devices.APNS: true, devices.FCM: true}, byToken: map[string]string{}}
		s := devices.New(m, e, max)
		devices.SetClock(s, func() time.Time { clock = clock.Add(time.Second); return clock })
		return s, m, e
	}
	tok := func(i int) string { return fmt.Sprintf("%064x", i) }
	ctx := context.Background()

	t.Run("idempotent per token", func(t *testing.T) {
		s, m, _ := newService(5)
		r1, err := s.Register(ctx, "a", devices.Registration{Platform: "APNS", Token: tok(1)})
		if err != nil || !r1.Created || r1.Device.Locale != "en" {
			t.Fatalf("Register() = %+v, %v; want created, locale en", r1, err)
		}
		r2, err := s.Register(ctx, "a", devices.Registration{Platform: "APNS", Token: tok(1), Locale: "ar"})
		if err != nil || r2.Created || r2.Device.DeviceID != r1.Device.DeviceID || !r2.Device.CreatedAt.Equal(r1.Device.CreatedAt) || r2.Device.Locale != "ar" {
			t.Errorf("second Register() = %+v, %v; want the same device, not created, locale ar", r2, err)
		}
		if list, _ := m.Devices(ctx, "a"); len(list) != 1 {
			t.Errorf("devices = %d, want 1", len(list))
		}
	})

	t.Run("an erased profile takes no devices", func(t *testing.T) {
		s, m, e := newService(5)
		m.Erase("gone")
		if _, err := s.Register(ctx, "gone", devices.Registration{Platform: "APNS", Token: tok(9)}); !errors.Is(err, devices.ErrErased) {
			t.Fatalf("Register() for an erased profile = %v, want devices.ErrErased", err)
		}
		if list, _ := m.Devices(ctx, "gone"); len(list) != 0 || len(e.byToken) != 0 || m.Saves != 0 {
			t.Errorf("devices = %d, endpoints = %d, saves = %d; want nothing written", len(list), len(e.byToken), m.Saves)
		}
	})

	t.Run("token moves with its endpoint", func(t *testing.T) {
		s, m, e := newService(5)
		ra, _ := s.Register(ctx, "a", devices.Registration{Platform: "FCM", Token: strings.Repeat("f", 40)})
		rb, err := s.Register(ctx, "b", devices.Registration{Platform: "FCM", Token: strings.Repeat("f", 40)})
		if err != nil || !rb.Created || rb.Device.EndpointARN != ra.Device.EndpointARN {
			t.Fatalf("Register() for b = %+v, %v; want created on the same endpoint", rb, err)
		}
		if list, _ := m.Devices(ctx, "a"); len(list) != 0 {
			t.Errorf("a's devices = %v, want none", list)
		}
		if len(e.deleted) != 0 {
			t.Errorf("deleted endpoints = %v, want none (the endpoint moved)", e.deleted)
		}
	})

	t.Run("cap drops the least recently registered and its endpoint", func(t *testing.T) {
		s, m, e := newService(2)
		var rs []devices.Result
		for i := 1; i <= 3; i++ {
			r, err := s.Register(ctx, "c", devices.Registration{Platform: "APNS", Token: tok(i)})
			if err != nil {
				t.Fatal(err)
			}
			rs = append(rs, r)
		}
		list, _ := m.Devices(ctx, "c")
		ids := []string{}
		for _, d := range list {
			ids = append(ids, d.DeviceID)
		}
		if len(list) != 2 || slices.Contains(ids, rs[0].Device.DeviceID) {
			t.Errorf("devices = %v, want 2 without the first", ids)
		}
		if !slices.Equal(e.deleted, []string{rs[0].Device.EndpointARN}) {
			t.Errorf("deleted endpoints = %v, want the first device's", e.deleted)
		}
	})

	t.Run("lost races are retried", func(t *testing.T) {
		s, m, _ := newService(5)
		m.Conflicts = 2
		if _, err := s.Register(ctx, "d", devices.Registration{Platform: "APNS", Token: tok(4)}); err != nil || m.Saves != 3 {
			t.Errorf("Register() = %v after %d saves, want success on the third", err, m.Saves)
		}
		m.Conflicts = 100
		if _, err := s.Register(ctx, "d", devices.Registration{Platform: "APNS", Token: tok(5)}); !errors.Is(err, devices.ErrConflict) {
			t.Errorf("Register() under endless conflicts = %v, want devices.ErrConflict", err)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		s, m, _ := newService(5)
		if _, err := s.Register(ctx, "e", devices.Registration{Platform: "APNS_SANDBOX", Token: tok(1)}); !errors.Is(err, devices.ErrPlatformNotConfigured) {
			t.Errorf("Register(APNS_SANDBOX) = %v, want devices.ErrPlatformNotConfigured", err)
		}
		if _, err := s.Register(ctx, "e", devices.Registration{Platform: "APNS", Token: "zz"}); !errors.Is(err, devices.ErrInvalid) {
			t.Errorf("Register(bad token) = %v, want devices.ErrInvalid", err)
		}
		if m.Saves != 0 {
			t.Errorf("saves = %d, want none", m.Saves)
		}
	})

	t.Run("remove deletes the endpoint; removing twice is fine", func(t *testing.T) {
		s, _, e := newService(5)
		r, _ := s.Register(ctx, "f", devices.Registration{Platform: "APNS", Token: tok(6)})
		if err := s.Remove(ctx, "f", r.Device.DeviceID); err != nil {
			t.Fatal(err)
		}
		if err := s.Remove(ctx, "f", r.Device.DeviceID); err != nil {
			t.Errorf("second Remove() = %v", err)
		}
		if !slices.Equal(e.deleted, []string{r.Device.EndpointARN}) {
			t.Errorf("deleted endpoints = %v, want exactly the device's", e.deleted)
		}
		if err := s.Remove(ctx, "f", "nope"); !errors.Is(err, devices.ErrInvalid) {
			t.Errorf("Remove(bad id) = %v, want devices.ErrInvalid", err)
		}
	})
}
