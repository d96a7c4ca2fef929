package push_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/push"
)

func renewalEvent() kyc.StatusEvent {
	return kyc.StatusEvent{Type: kyc.RenewalDueType, Version: 1, ID: "ev-due", Provider: "idwise", ReferenceNo: "r",
		JourneyID: "j", PreviousStatus: kyc.Approved, Status: kyc.Approved, Reasons: []string{"renewal_due", "step:0"},
		RenewalDueBy: "2026-09-15T00:00:00Z"}
}

// A profile.renewal_due event says "renew before <date>" in the device's language (issue 19).
func TestRenewalDueRendersTheDateInBothLanguages(t *testing.T) {
	tpl := defaultTemplates(t)
	for _, tt := range []struct{ locale, want string }{
		{"en-GB", "renew before 2026-09-15"},
		{"ar-SA", "يُرجى التجديد قبل 2026-09-15"},
		{"fr", "renew before 2026-09-15"}, // no French texts: English
	} {
		got, err := tpl.Render(tt.locale, renewalEvent())
		if err != nil {
			t.Fatalf("Render(%s) = %v", tt.locale, err)
		}
		if !strings.Contains(got.Body, tt.want) || got.Title == "" {
			t.Errorf("Render(%s) = %+v, want a title and a body containing %q", tt.locale, got, tt.want)
		}
	}
	status, _ := tpl.Render("en", kyc.StatusEvent{Type: kyc.EventType, Status: kyc.Approved})
	if renewal, _ := tpl.Render("en", renewalEvent()); renewal.Body == status.Body {
		t.Errorf("renewal text = status text %q, want its own", renewal.Body)
	}
}

// A customer's template file without RENEWAL_DUE still loads, and renewals then get the
// product's English text; a RENEWAL_DUE with an unknown placeholder is refused.
func TestRenewalDueTemplateIsOptional(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"en":{`)
	for i, st := range kyc.Statuses {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"` + string(st) + `":{"title":"t","body":"b"}`)
	}
	without := b.String() + `}}`
	tpl, err := push.LoadTemplates([]byte(without))
	if err != nil {
		t.Fatalf("LoadTemplates(without RENEWAL_DUE) = %v", err)
	}
	got, err := tpl.Render("en", renewalEvent())
	if err != nil || !strings.Contains(got.Body, "renew before 2026-09-15") {
		t.Errorf("Render() = %+v, %v; want the built-in renewal text", got, err)
	}
	bad := b.String() + `,"RENEWAL_DUE":{"title":"t","body":"before {{.Deadline}}"}}}`
	if _, err := push.LoadTemplates([]byte(bad)); !errors.Is(err, push.ErrTemplates) {
		t.Errorf("LoadTemplates(unknown placeholder) = %v, want ErrTemplates", err)
	}
}

// The push decoder takes profile.renewal_due (the push queue's filter lets it through) and
// refuses one without a due date.
func TestDecodeRenewalDue(t *testing.T) {
	ok := `{"type":"profile.renewal_due","version":1,"id":"x","provider":"idwise","referenceNo":"r","journeyId":"j",` +
		`"previousStatus":"APPROVED","status":"APPROVED","reasons":["renewal_due"],"occurredAt":"2026-01-01T00:00:00Z","renewalDueBy":"2026-09-15T00:00:00Z"}`
	ev, err := push.DecodeStatusEvent([]byte(ok))
	if err != nil || ev.Type != kyc.RenewalDueType || ev.RenewalDueBy != "2026-09-15T00:00:00Z" {
		t.Errorf("DecodeStatusEvent(renewal due) = %+v, %v", ev, err)
	}
	missing := strings.Replace(ok, `,"renewalDueBy":"2026-09-15T00:00:00Z"`, "", 1)
	if _, err := push.DecodeStatusEvent([]byte(missing)); !errors.Is(err, push.ErrMalformed) {
		t.Errorf("DecodeStatusEvent(no renewalDueBy) = %v, want ErrMalformed", err)
	}
}
