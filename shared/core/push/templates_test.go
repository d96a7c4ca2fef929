package push_test

import (
	"errors"
	"strings"
	"testing"
	"unicode"

	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/push"
)

func defaultTemplates(t *testing.T) *push.Templates {
	t.Helper()
	tpl, err := push.DefaultTemplates()
	if err != nil {
		t.Fatalf("DefaultTemplates() error = %v", err)
	}
	return tpl
}

func hasArabic(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Arabic, r) {
			return true
		}
	}
	return false
}

// TestEveryStatusRendersInBothLanguages: the shipped file has an English and an Arabic
// text for every status of the contract, each distinct per status and in its script.
func TestEveryStatusRendersInBothLanguages(t *testing.T) {
	tpl := defaultTemplates(t)
	if got := strings.Join(tpl.Locales(), ","); got != "ar,en" {
		t.Errorf("Locales() = %s, want ar,en", got)
	}
	for _, locale := range []string{"en", "ar"} {
		seen := map[string]kyc.Status{}
		for _, st := range kyc.Statuses {
			t.Run(locale+"/"+string(st), func(t *testing.T) {
				ev := kyc.StatusEvent{ID: "e1", Status: st, JourneyID: "j1"}
				got, err := tpl.Render(locale, ev)
				if err != nil {
					t.Fatalf("Render(%s, %s) error = %v", locale, st, err)
				}
				if strings.TrimSpace(got.Title) == "" || strings.TrimSpace(got.Body) == "" {
					t.Fatalf("Render(%s, %s) = %+v, want a title and a body", locale, st, got)
				}
				if arabic := hasArabic(got.Title) && hasArabic(got.Body); arabic != (locale == "ar") {
					t.Errorf("Render(%s, %s) = %+v: Arabic script = %v, want %v", locale, st, got, arabic, locale == "ar")
				}
				if other, dup := seen[got.Body]; dup {
					t.Errorf("Render(%s, %s) body is the same as for %s: %q", locale, st, other, got.Body)
				}
				seen[got.Body] = st
			})
		}
	}
}

func TestLocaleFallback(t *testing.T) {
	tpl := defaultTemplates(t)
	tests := []struct {
		name, locale, want string
	}{
		{"english", "en", "en"},
		{"arabic", "ar", "ar"},
		{"arabic with region", "ar-SA", "ar"},
		{"upper case with underscore", "AR_ae", "ar"},
		{"english with region", "en-GB", "en"},
		{"unknown language", "fr", "en"},
		{"empty", "", "en"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tpl.Locale(tt.locale); got != tt.want {
				t.Errorf("Locale(%q) = %q, want %q", tt.locale, got, tt.want)
			}
			ev := kyc.StatusEvent{Status: kyc.Approved}
			got, _ := tpl.Render(tt.locale, ev)
			want, _ := tpl.Render(tt.want, ev)
			if got != want {
				t.Errorf("Render(%q) = %+v, want the %s text %+v", tt.locale, got, tt.want, want)
			}
		})
	}
}

// allStatuses returns a template file body for locales with the same text for every status.
func allStatuses(locales map[string]string) string {
	var b strings.Builder
	b.WriteString("{")
	first := true
	for locale, text := range locales {
		if !first {
			b.WriteString(",")
		}
		first = false
		b.WriteString(`"` + locale + `":{`)
		for i, st := range kyc.Statuses {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(`"` + string(st) + `":{"title":"T","body":"` + text + `"}`)
		}
		b.WriteString("}")
	}
	b.WriteString("}")
	return b.String()
}

func TestLoadTemplates(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		wantErr string // empty: valid
	}{
		{"valid with fields", allStatuses(map[string]string{"en": "{{.Status}} for journey {{.JourneyID}}"}), ""},
		{"not json", "{", "invalid push templates"},
		{"no english", allStatuses(map[string]string{"ar": "x"}), `no "en" locale`},
		{"missing status", `{"en":{"APPROVED":{"title":"a","body":"b"}}}`, "needs a title and a body"},
		{"empty body", allStatuses(map[string]string{"en": " "}), "needs a title and a body"},
		{"unknown field", allStatuses(map[string]string{"en": "{{.Name}}"}), "unknown placeholder"},
		{"bad syntax", allStatuses(map[string]string{"en": "{{.Status"}), "invalid push templates"},
		{"unknown status", `{"en":{"DONE":{"title":"a","body":"b"}}}`, `unknown status "DONE"`},
		{"region in locale key", allStatuses(map[string]string{"en": "x", "ar-SA": "y"}), "lower-case language code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := push.LoadTemplates([]byte(tt.file))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("LoadTemplates() error = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, push.ErrTemplates) {
				t.Errorf("LoadTemplates() error = %v, want ErrTemplates mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func TestRenderFields(t *testing.T) {
	tpl, err := push.LoadTemplates([]byte(allStatuses(map[string]string{"en": "{{.PreviousStatus}} -> {{.Status}} ({{.JourneyID}}, {{.Provider}})"})))
	if err != nil {
		t.Fatal(err)
	}
	got, err := tpl.Render("en", kyc.StatusEvent{Status: kyc.Rejected, PreviousStatus: kyc.InReview, JourneyID: "j-9", Provider: "idwise"})
	if want := "IN_REVIEW -> REJECTED (j-9, idwise)"; err != nil || got.Body != want {
		t.Errorf("Render() = %+v, %v, want body %q", got, err, want)
	}
}
