package devices

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestChecks(t *testing.T) {
	hex64 := strings.Repeat("ab", 32)
	tests := []struct {
		name      string
		platform  string
		token     string
		locale    string
		wantField string // empty: valid
	}{
		{"apns", "APNS", hex64, "", ""},
		{"apns upper-case hex", "APNS", strings.ToUpper(hex64), "", ""},
		{"apns sandbox, arabic", "APNS_SANDBOX", hex64, "ar", ""},
		{"fcm", "FCM", "dGVzdA:APA91bH-" + strings.Repeat("x_", 60), "en", ""},
		{"no platform", "", hex64, "", "platform"},
		{"lower-case platform", "apns", hex64, "", "platform"},
		{"gcm is FCM here", "GCM", hex64, "", "platform"},
		{"no token", "APNS", "", "", "token"},
		{"apns odd length", "APNS", hex64 + "a", "", "token"},
		{"apns too short", "APNS", "abcd", "", "token"},
		{"apns not hex", "APNS", strings.Repeat("g", 64), "", "token"},
		{"fcm too short", "FCM", "abc", "", "token"},
		{"fcm with a slash", "FCM", strings.Repeat("a", 40) + "/", "", "token"},
		{"fcm too long", "FCM", strings.Repeat("a", 4097), "", "token"},
		{"unknown locale", "FCM", strings.Repeat("a", 40), "fr", "locale"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := check(tt.platform, tt.token, tt.locale)
			var fe *FieldError
			switch {
			case tt.wantField == "" && err != nil:
				t.Errorf("check() = %v, want valid", err)
			case tt.wantField != "" && (!errors.As(err, &fe) || fe.Field != tt.wantField || !errors.Is(err, ErrInvalid)):
				t.Errorf("check() = %v, want a FieldError on %s", err, tt.wantField)
			}
		})
	}
}

func check(platform, token, locale string) error {
	p, err := ParsePlatform(platform)
	if err != nil {
		return err
	}
	if err := CheckToken(p, token); err != nil {
		return err
	}
	_, err = ParseLocale(locale)
	return err
}

func TestIDs(t *testing.T) {
	a, b := ID(APNS, "ab"), ID(APNSSandbox, "ab")
	if a == b || a != ID(APNS, "ab") || len(a) != 32 || CheckID(a) != nil {
		t.Errorf("ID() = %q, %q: want stable, per platform, 32 hex characters", a, b)
	}
	for _, bad := range []string{"", "ABCDEF0123456789ABCDEF0123456789", a + "0", "../" + a[3:]} {
		if CheckID(bad) == nil {
			t.Errorf("CheckID(%q) = nil, want an error", bad)
		}
	}
	if th := TokenHash("tok"); len(th) != 64 || strings.Contains(th, "tok") {
		t.Errorf("TokenHash() = %q, want 64 hex characters", th)
	}
}

// memStore is the device store in memory; conflicts makes SaveDevice lose that many races.
type memStore struct {
	devices   map[string]Device // ref/id
	owners    map[string]Owner  // platform/tokenHash
	conflicts int
	saves     int
	erased    map[string]bool
}

func (m *memStore) Erased(_ context.Context, ref string) (bool, error) { return m.erased[ref], nil }

func newMem() *memStore { return &memStore{devices: map[string]Device{}, owners: map[string]Owner{}} }

func (m *memStore) TokenOwner(_ context.Context, p Platform, th string) (Owner, bool, error) {
	o, ok := m.owners[string(p)+"/"+th]
	return o, ok, nil
}

func (m *memStore) Devices(_ context.Context, ref string) ([]Device, error) {
	var out []Device
	for _, d := range m.devices {
		if d.ReferenceNo == ref {
			out = append(out, d)
		}
	}
	return out, nil
}

func (m *memStore) SaveDevice(_ context.Context, d Device, prev *Owner, evict []Device) error {
	m.saves++
	if m.conflicts > 0 {
		m.conflicts--
		return ErrConflict
	}
	key := string(d.Platform) + "/" + d.TokenHash
	cur, ok := m.owners[key]
	if (prev == nil) == ok || (prev != nil && cur != *prev) {
		return ErrConflict
	}
	if prev != nil && prev.ReferenceNo != d.ReferenceNo {
		delete(m.devices, prev.ReferenceNo+"/"+prev.DeviceID)
	}
	for _, e := range evict {
		delete(m.devices, e.ReferenceNo+"/"+e.DeviceID)
		delete(m.owners, string(e.Platform)+"/"+e.TokenHash)
	}
	m.devices[d.ReferenceNo+"/"+d.DeviceID] = d
	m.owners[key] = Owner{ReferenceNo: d.ReferenceNo, DeviceID: d.DeviceID, EndpointARN: d.EndpointARN}
	return nil
}

func (m *memStore) RemoveDevice(_ context.Context, ref, id string) (Device, bool, error) {
	d, ok := m.devices[ref+"/"+id]
	delete(m.devices, ref+"/"+id)
	return d, ok, nil
}

// memEndpoints makes one endpoint per token and records deletions.
type memEndpoints struct {
	configured map[Platform]bool
	byToken    map[string]string
	deleted    []string
}

func (e *memEndpoints) Register(_ context.Context, p Platform, token, arn string) (string, error) {
	if !e.configured[p] {
		return "", ErrPlatformNotConfigured
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
	newService := func(max int) (*Service, *memStore, *memEndpoints) {
		m := newMem()
		e := &memEndpoints{configured: map[Platform]bool{APNS: true, FCM: true}, byToken: map[string]string{}}
		s := New(m, e, max)
		s.now = func() time.Time { clock = clock.Add(time.Second); return clock }
		return s, m, e
	}
	tok := func(i int) string { return fmt.Sprintf("%064x", i) }
	ctx := context.Background()

	t.Run("idempotent per token", func(t *testing.T) {
		s, m, _ := newService(5)
		r1, err := s.Register(ctx, "a", Registration{Platform: "APNS", Token: tok(1)})
		if err != nil || !r1.Created || r1.Device.Locale != "en" {
			t.Fatalf("Register() = %+v, %v; want created, locale en", r1, err)
		}
		r2, err := s.Register(ctx, "a", Registration{Platform: "APNS", Token: tok(1), Locale: "ar"})
		if err != nil || r2.Created || r2.Device.DeviceID != r1.Device.DeviceID || !r2.Device.CreatedAt.Equal(r1.Device.CreatedAt) || r2.Device.Locale != "ar" {
			t.Errorf("second Register() = %+v, %v; want the same device, not created, locale ar", r2, err)
		}
		if len(m.devices) != 1 {
			t.Errorf("devices = %d, want 1", len(m.devices))
		}
	})

	t.Run("an erased profile takes no devices", func(t *testing.T) {
		s, m, e := newService(5)
		m.erased = map[string]bool{"gone": true}
		if _, err := s.Register(ctx, "gone", Registration{Platform: "APNS", Token: tok(9)}); !errors.Is(err, ErrErased) {
			t.Fatalf("Register() for an erased profile = %v, want ErrErased", err)
		}
		if len(m.devices) != 0 || len(e.byToken) != 0 {
			t.Errorf("devices = %d, endpoints = %d; want nothing written", len(m.devices), len(e.byToken))
		}
	})

	t.Run("token moves with its endpoint", func(t *testing.T) {
		s, m, e := newService(5)
		ra, _ := s.Register(ctx, "a", Registration{Platform: "FCM", Token: strings.Repeat("f", 40)})
		rb, err := s.Register(ctx, "b", Registration{Platform: "FCM", Token: strings.Repeat("f", 40)})
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
		var rs []Result
		for i := 1; i <= 3; i++ {
			r, err := s.Register(ctx, "c", Registration{Platform: "APNS", Token: tok(i)})
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
		m.conflicts = 2
		if _, err := s.Register(ctx, "d", Registration{Platform: "APNS", Token: tok(4)}); err != nil || m.saves != 3 {
			t.Errorf("Register() = %v after %d saves, want success on the third", err, m.saves)
		}
		m.conflicts = 100
		if _, err := s.Register(ctx, "d", Registration{Platform: "APNS", Token: tok(5)}); !errors.Is(err, ErrConflict) {
			t.Errorf("Register() under endless conflicts = %v, want ErrConflict", err)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		s, m, _ := newService(5)
		if _, err := s.Register(ctx, "e", Registration{Platform: "APNS_SANDBOX", Token: tok(1)}); !errors.Is(err, ErrPlatformNotConfigured) {
			t.Errorf("Register(APNS_SANDBOX) = %v, want ErrPlatformNotConfigured", err)
		}
		if _, err := s.Register(ctx, "e", Registration{Platform: "APNS", Token: "zz"}); !errors.Is(err, ErrInvalid) {
			t.Errorf("Register(bad token) = %v, want ErrInvalid", err)
		}
		if m.saves != 0 {
			t.Errorf("saves = %d, want none", m.saves)
		}
	})

	t.Run("remove deletes the endpoint; removing twice is fine", func(t *testing.T) {
		s, _, e := newService(5)
		r, _ := s.Register(ctx, "f", Registration{Platform: "APNS", Token: tok(6)})
		if err := s.Remove(ctx, "f", r.Device.DeviceID); err != nil {
			t.Fatal(err)
		}
		if err := s.Remove(ctx, "f", r.Device.DeviceID); err != nil {
			t.Errorf("second Remove() = %v", err)
		}
		if !slices.Equal(e.deleted, []string{r.Device.EndpointARN}) {
			t.Errorf("deleted endpoints = %v, want exactly the device's", e.deleted)
		}
		if err := s.Remove(ctx, "f", "nope"); !errors.Is(err, ErrInvalid) {
			t.Errorf("Remove(bad id) = %v, want ErrInvalid", err)
		}
	})
}
