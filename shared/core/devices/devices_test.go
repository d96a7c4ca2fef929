package devices

import (
	"errors"
	"strings"
	"testing"

	"github.com/kycbackend/kyc/shared/core/kyc"
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
			var fe *kyc.FieldError
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
