package idwise

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/vendors/webhookjson"

	"github.com/kycbackend/kyc/shared/core/kyc"
)

// Payloads copied from the IDWise documentation, placeholders included: 001
// https://docs.idwise.com/docs/finished-user-steps-webhook, 002
// https://docs.idwise.com/docs/webhook-specifications (the generic envelope), 003
// https://docs.idwise.com/docs/updated-journey-webhook.
var seedPayloads = map[string]string{
	"001 finished user steps": `{
  "event": "Finished User Steps",
  "body": {
    "eventId":"4****-****-****-*********7",
    "journeyId": "6720***********22e",
    "referenceNo": "840...........23",
    "systemDecision": "<SYSTEM_DECISION>"
  }
}`,
	"002 webhook specification": `{
  "event": "**EVENT_NAME**",
  "body": {
    "eventId":"4****-****-****-*********7",
    "journeyId": "62e6...........5d0c",
    "referenceNo": "840...........23",
    "systemDecision": "**SYSTEM_DECISION**",
    "manualDecision": "**MANUAL_DECISION**",
    "finalDecision": "**FINAL_DECISION**"
  }
}`,
	"003 updated journey": `{
  "event": "Updated Journey",
  "body": {
    "eventId":"4****-****-****-*********7",
    "journeyId": "6720***********22e",
    "referenceNo": "840...........23",
    "systemDecision": "<SYSTEM_DECISION>",
    "manualDecision": "<MANUAL_DECISION>",
    "finalDecision": "<FINAL_DECISION>",
    "action": "<ACTION>"
  }
}`,
}

func TestParseSeedPayloads(t *testing.T) {
	want := map[string]Webhook{
		"001 finished user steps": {Event: FinishedUserSteps, EventID: "4****-****-****-*********7", JourneyID: "6720***********22e",
			ReferenceNo: "840...........23", SystemDecision: "<SYSTEM_DECISION>"},
		"002 webhook specification": {Event: "**EVENT_NAME**", EventID: "4****-****-****-*********7", JourneyID: "62e6...........5d0c",
			ReferenceNo: "840...........23", SystemDecision: "**SYSTEM_DECISION**", ManualDecision: "**MANUAL_DECISION**", FinalDecision: "**FINAL_DECISION**"},
		"003 updated journey": {Event: UpdatedJourney, EventID: "4****-****-****-*********7", JourneyID: "6720***********22e",
			ReferenceNo: "840...........23", SystemDecision: "<SYSTEM_DECISION>", ManualDecision: "<MANUAL_DECISION>",
			FinalDecision: "<FINAL_DECISION>", Action: "<ACTION>"},
	}
	for name, raw := range seedPayloads {
		t.Run(name, func(t *testing.T) {
			got, err := Parse([]byte(raw))
			if err != nil {
				t.Fatalf("Parse() error = %v, want nil", err)
			}
			if !reflect.DeepEqual(got, want[name]) {
				t.Errorf("Parse() = %+v, want %+v", got, want[name])
			}
		})
	}
}

func TestParseFixtures(t *testing.T) {
	tests := []struct {
		file        string
		event       string
		processable bool
		check       func(t *testing.T, w Webhook)
	}{
		{file: "finished-user-steps.json", event: FinishedUserSteps, processable: true},
		{file: "finished-journey.json", event: FinishedJourney, processable: true, check: func(t *testing.T, w Webhook) {
			if w.ManualDecision != "" || w.FinalDecision != "Complete" {
				t.Errorf("decisions = %q/%q, want \"\"/Complete", w.ManualDecision, w.FinalDecision)
			}
		}},
		{file: "manually-reviewed.json", event: ManuallyReviewed, processable: true, check: func(t *testing.T, w Webhook) {
			if w.ManualDecision != "Approved" || w.FinalDecision != "Approved" {
				t.Errorf("decisions = %q/%q, want Approved/Approved", w.ManualDecision, w.FinalDecision)
			}
		}},
		{file: "updated-journey-manual-review.json", event: UpdatedJourney, processable: true, check: func(t *testing.T, w Webhook) {
			if w.Action != "Manual Review" || w.ReviewDecision != "Resubmission Requested" || w.ReviewReasonCode != "DOC_BLURRY" {
				t.Errorf("review = %q %q %q, want Manual Review / Resubmission Requested / DOC_BLURRY", w.Action, w.ReviewDecision, w.ReviewReasonCode)
			}
			if !reflect.DeepEqual(w.ResubmitSteps, []string{"0"}) {
				t.Errorf("ResubmitSteps = %v, want [0]", w.ResubmitSteps)
			}
		}},
		{file: "updated-journey-step-update.json", event: UpdatedJourney, processable: true},
		{file: "aml-monitor-update.json", event: AMLMonitorUpdate, processable: true, check: func(t *testing.T, w Webhook) {
			if w.AMLVersion != 2 || w.PreviousSystem != "Complete" {
				t.Errorf("aml = %d %q, want 2 Complete", w.AMLVersion, w.PreviousSystem)
			}
		}},
		{file: "finished-step.json", event: FinishedStep, processable: true, check: func(t *testing.T, w Webhook) {
			if w.StepID != "0" {
				t.Errorf("StepID = %q, want 0", w.StepID)
			}
		}},
		{file: "finished-ongoing-check.json", event: FinishedOngoingCheck, processable: true, check: func(t *testing.T, w Webhook) {
			if w.OngoingCheckID != "oc-0001" {
				t.Errorf("OngoingCheckID = %q, want oc-0001", w.OngoingCheckID)
			}
		}},
		{file: "finished-spot-check.json", event: FinishedSpotCheck, processable: true, check: func(t *testing.T, w Webhook) {
			if w.JourneyID != "65ee0a1b2c3d4e5f6ad700ca" || w.SpotCheckJourneyID != w.JourneyID || w.SystemDecision != "Refer" {
				t.Errorf("spot check = journey %q spotCheck %q decision %q, want the spot check journey id and Refer", w.JourneyID, w.SpotCheckJourneyID, w.SystemDecision)
			}
		}},
		{file: "verification-update-required.json", event: VerificationUpdateRequired, processable: true, check: func(t *testing.T, w Webhook) {
			want := []RequiredStep{{StepID: "0", ReasonCode: "DOCUMENT_EXPIRING"}, {StepID: "2", ReasonCode: "SELFIE_RENEWAL"}}
			if w.Trigger != "KYC Renewal" || !reflect.DeepEqual(w.RequiredSteps, want) {
				t.Errorf("update required = %q %+v, want KYC Renewal %+v", w.Trigger, w.RequiredSteps, want)
			}
		}},
		{file: "kyc-renewal-deadline-exceeded.json", event: KYCRenewalDeadlineExceeded, processable: true, check: func(t *testing.T, w Webhook) {
			want := []RequiredStep{{StepID: "0", RenewalDeadline: "2025-09-15T00:00:00Z"}}
			if !reflect.DeepEqual(w.RequiredSteps, want) {
				t.Errorf("RequiredSteps = %+v, want %+v", w.RequiredSteps, want)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(raw)
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			if got.Event != tt.event || got.Processable() != tt.processable {
				t.Errorf("Parse() event=%q processable=%v, want %q %v", got.Event, got.Processable(), tt.event, tt.processable)
			}
			if got.EventID == "" || got.JourneyID == "" || got.ReferenceNo != "customer-0001" {
				t.Errorf("Parse() ids = %q %q %q, want all set", got.EventID, got.JourneyID, got.ReferenceNo)
			}
			if tt.check != nil {
				tt.check(t, got)
			}
		})
	}
}

func TestParseTolerance(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want Webhook
	}{
		{
			name: "unknown fields are ignored",
			raw:  `{"event":"Finished Journey","version":3,"body":{"eventId":"e1","journeyId":"j1","newThing":{"a":[1,2]},"systemDecision":"Complete"},"extra":true}`,
			want: Webhook{Event: FinishedJourney, EventID: "e1", JourneyID: "j1", SystemDecision: "Complete"},
		},
		{
			name: "null decisions are empty",
			raw:  `{"event":"Manually Reviewed","body":{"eventId":"e1","journeyId":"j1","referenceNo":null,"systemDecision":null,"manualDecision":null,"finalDecision":null}}`,
			want: Webhook{Event: ManuallyReviewed, EventID: "e1", JourneyID: "j1"},
		},
		{
			name: "unknown event is parsed",
			raw:  `{"event":"Journey Archived","body":{"eventId":"e1","journeyId":"j1"}}`,
			want: Webhook{Event: "Journey Archived", EventID: "e1", JourneyID: "j1"},
		},
		{
			name: "numeric ids are kept as written",
			raw:  `{"event":"Finished Journey","body":{"eventId":12345,"journeyId":678}}`,
			want: Webhook{Event: FinishedJourney, EventID: "12345", JourneyID: "678"},
		},
		{
			name: "odd types in optional fields do not cost the event",
			raw:  `{"event":"AML Monitor Update","body":{"eventId":"e1","journeyId":"j1","systemDecision":{"x":1},"updatedAMLVersionNumber":"7","manualReviewDetails":"n/a"}}`,
			want: Webhook{Event: AMLMonitorUpdate, EventID: "e1", JourneyID: "j1", AMLVersion: 7},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.raw))
			if err != nil {
				t.Fatalf("Parse() error = %v, want nil", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse() = %+v, want %+v", got, tt.want)
			}
		})
	}
	if Known("Journey Archived") {
		t.Errorf("Known(%q) = true, want false", "Journey Archived")
	}
}

func TestParseErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name      string
		raw       string
		wantField string
	}{
		{"empty body", ``, "(root)"},
		{"not json", `event=x`, "(root)"},
		{"array", `[1,2]`, "(root)"},
		{"trailing garbage", `{"event":"x","body":{"eventId":"e","journeyId":"j"}} {}`, "(root)"},
		{"missing event", `{"body":{"eventId":"e","journeyId":"j"}}`, "event"},
		{"null event", `{"event":null,"body":{"eventId":"e","journeyId":"j"}}`, "event"},
		{"empty event", `{"event":"  ","body":{"eventId":"e","journeyId":"j"}}`, "event"},
		{"event not a string", `{"event":42,"body":{"eventId":"e","journeyId":"j"}}`, "event"},
		{"missing body", `{"event":"Finished Journey"}`, "body"},
		{"body not an object", `{"event":"Finished Journey","body":"x"}`, "body"},
		{"eventId not a string or number", `{"event":"Finished Journey","body":{"eventId":{},"journeyId":"j"}}`, "body.eventId"},
		{"Step Submitted without journeyId", `{"event":"Step Submitted","body":{"referenceNo":"r","stepId":"1","stepType":"Document"}}`, "body.journeyId"},
		{"empty eventId", `{"event":"Finished Journey","body":{"eventId":"","journeyId":"j"}}`, "body.eventId"},
		{"eventId with control char", `{"event":"Finished Journey","body":{"eventId":"a\u0000b","journeyId":"j"}}`, "body.eventId"},
		{"eventId too long", `{"event":"Finished Journey","body":{"eventId":"` + strings.Repeat("x", 300) + `","journeyId":"j"}}`, "body.eventId"},
		{"missing journeyId", `{"event":"Finished Journey","body":{"eventId":"e"}}`, "body.journeyId"},
		{"journeyId object", `{"event":"Finished Journey","body":{"eventId":"e","journeyId":{}}}`, "body.journeyId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.raw))
			var fe *kyc.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Parse() error = %v, want *kyc.FieldError", err)
			}
			if fe.Field != tt.wantField {
				t.Errorf("Parse() field = %q (%v), want %q", fe.Field, err, tt.wantField)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("errors.Is(%v, ErrMalformed) = false, want true", err)
			}
		})
	}
}

// TestParseWithoutEventID: older accounts' deliveries carry no eventId, the step
// webhooks' Step Submitted (https://developers.idwise.com/step-webhooks.html: journeyId,
// referenceNo, stepId, stepType Document or Selfie) and the older generic template. They
// are accepted, and their event id is the SHA-256 hex of the raw body, as Veriff's are.
func TestParseWithoutEventID(t *testing.T) {
	// The page's sample names the event **EVENT_NAME** and lists Step Submitted as its
	// one value: the file has that name in place of the placeholder.
	published, err := os.ReadFile(filepath.Join("testdata", "published", "step-submitted.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		raw       string
		event     string
		wantAttrs map[string]string
	}{
		{"Step Submitted, as published (testdata/published/step-submitted.json)", string(published), StepSubmittedEvent, map[string]string{"stepId": "1", "stepType": "Document", AttrEventIDFrom: EventIDFromBodyHash}},
		{"Step Submitted, selfie", `{"event":"Step Submitted","body":{"journeyId":"j-1","referenceNo":"cust/001","stepId":"2","stepType":"Selfie"}}`,
			StepSubmittedEvent, map[string]string{"stepId": "2", "stepType": "Selfie", AttrEventIDFrom: EventIDFromBodyHash}},
		{"legacy Finished Journey", `{"event":"Finished Journey","body":{"journeyId":"j-1","referenceNo":"cust/001","systemDecision":"Complete"}}`,
			FinishedJourney, map[string]string{"systemDecision": "Complete", AttrEventIDFrom: EventIDFromBodyHash}},
		{"eventId null", `{"event":"Finished Journey","body":{"eventId":null,"journeyId":"j-1","systemDecision":"Refer"}}`,
			FinishedJourney, map[string]string{"systemDecision": "Refer", AttrEventIDFrom: EventIDFromBodyHash}},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := Parse([]byte(tt.raw))
			if err != nil {
				t.Fatalf("Parse() error = %v, want nil", err)
			}
			if !w.EventIDFromBody || w.EventID != "" || w.Event != tt.event || !w.Processable() {
				t.Errorf("Parse() = %+v, want %s, processable, no eventId of its own", w, tt.event)
			}
			ev := w.InboxEvent([]byte(tt.raw))
			sum := sha256.Sum256([]byte(tt.raw))
			if want := hex.EncodeToString(sum[:]); ev.EventID != want || ev.BodyHash != want {
				t.Errorf("InboxEvent() id %q body hash %q, want both the body's SHA-256 %q", ev.EventID, ev.BodyHash, want)
			}
			if !reflect.DeepEqual(ev.Attributes, tt.wantAttrs) {
				t.Errorf("InboxEvent() attributes = %v, want %v", ev.Attributes, tt.wantAttrs)
			}
			if other, ok := seen[ev.EventID]; ok {
				t.Errorf("event id of %q equals that of %q, want one per body", tt.name, other)
			}
			seen[ev.EventID] = tt.name
		})
	}
	// A delivery with its own eventId keeps it.
	ev, err := ParseEvent([]byte(`{"event":"Finished Journey","body":{"eventId":"e-1","journeyId":"j-1"}}`))
	if err != nil || ev.EventID != "e-1" || ev.Attributes[AttrEventIDFrom] != "" {
		t.Errorf("ParseEvent(with eventId) = id %q attrs %v, %v; want e-1 and no eventIdFrom", ev.EventID, ev.Attributes, err)
	}
}

func TestInboxEvent(t *testing.T) {
	raw, _ := os.ReadFile(filepath.Join("testdata", "updated-journey-manual-review.json"))
	ev, err := ParseEvent(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"systemDecision": "Refer", "manualDecision": "Rejected", "finalDecision": "Rejected",
		"action": "Manual Review", "reviewDecision": "Resubmission Requested",
		"reviewReasonCode": "DOC_BLURRY", "resubmitSteps": "0", "resubmitReasonCodes": "DOC_BLURRY", // reviewedSteps[].reasonCode
	}
	if !reflect.DeepEqual(ev.Attributes, want) {
		t.Errorf("Attributes = %v, want %v", ev.Attributes, want)
	}
	if ev.Provider != Provider || ev.Name != UpdatedJourney || !ev.Processable || string(ev.Body) != string(raw) {
		t.Errorf("event = %+v, want idwise Updated Journey processable with the raw body", ev)
	}
}

// FuzzParse checks that Parse never panics, and that whatever it accepts has the
// required fields and survives a JSON round trip. The seed corpus (seeds and testdata)
// runs as a normal test.
func FuzzParse(f *testing.F) {
	for _, raw := range seedPayloads {
		f.Add([]byte(raw))
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte(`{"event":"x","body":{"eventId":1e400,"journeyId":"j"}}`))
	f.Add([]byte(`{"event":"x","body":null}`))
	f.Add([]byte(`{"event":"Step Submitted","body":{"journeyId":"j","stepId":"1","stepType":"Selfie"}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		w, err := Parse(raw)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse() error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if w.Event == "" || (w.EventID == "") != w.EventIDFromBody || w.JourneyID == "" {
			t.Fatalf("Parse() accepted %q with an empty required field: %+v", raw, w)
		}
		if e := w.InboxEvent(raw); e.EventID == "" || (w.EventIDFromBody && e.EventID != inbox.Hash(raw)) {
			t.Fatalf("InboxEvent(%q) id = %q, want the eventId or the body's hash", raw, e.EventID)
		}
		if len(w.EventID) > webhookjson.MaxIDLength || len(w.JourneyID) > webhookjson.MaxIDLength {
			t.Fatalf("Parse() accepted an id longer than %d", webhookjson.MaxIDLength)
		}
		if !json.Valid(raw) {
			t.Fatalf("Parse() accepted invalid JSON %q", raw)
		}
	})
}

// TestParsePublishedSamples runs the samples of IDWise's public documentation, placeholders
// included, through the real parser and the inbox event the processor reads. Sources:
//   - published/finished-journey.json: https://docs.idwise.com/docs/finished-journey-webhook
//   - published/finished-ongoing-check.json: https://docs.idwise.com/docs/ongoing-verification-webhook-specification
//   - published/finished-spot-check.json: https://docs.idwise.com/docs/finished-spot-check-webhook
//     ("Selfie Spot Check Webhook": spotCheckJourneyId and no journeyId)
//   - published/verification-update-required.json: https://docs.idwise.com/docs/verification-update-required-webhook
//   - published/kyc-renewal-deadline-exceeded.json: https://docs.idwise.com/docs/kyc-renewal-deadline-exceeded-webhook
//     (the page's sample has a trailing comma after renewalDeadline, which is not JSON: the
//     file drops it; a body with it would be refused, 400 and quarantine, like any invalid JSON)
func TestParsePublishedSamples(t *testing.T) {
	tests := []struct {
		file  string
		event string
		want  func(e inbox.Event) string // "" when the event is as expected
	}{
		{"finished-journey.json", FinishedJourney, func(e inbox.Event) string {
			return expect(e.JourneyID == "6720***********22e" && e.Attributes["systemDecision"] == "<SYSTEM_DECISION>", "journey id and decision")
		}},
		{"finished-ongoing-check.json", FinishedOngoingCheck, func(e inbox.Event) string {
			return expect(e.Attributes["ongoingCheckId"] == "65ee...........d700ca", "ongoingCheckId")
		}},
		{"finished-spot-check.json", FinishedSpotCheck, func(e inbox.Event) string {
			return expect(e.JourneyID == "65ee...........d700ca" && e.Attributes["spotCheckJourneyId"] == e.JourneyID &&
				e.ReferenceNo == "840...........23", "the spot check journey id as the journey id")
		}},
		{"verification-update-required.json", VerificationUpdateRequired, func(e inbox.Event) string {
			steps := RequiredSteps(e)
			return expect(e.Attributes["trigger"] == "<TRIGGER>" && len(steps) == 1 && steps[0] == RequiredStep{StepID: "<STEP_ID>", ReasonCode: "<REASON_CODE>"},
				"trigger and one required step with its reason code")
		}},
		{"kyc-renewal-deadline-exceeded.json", KYCRenewalDeadlineExceeded, func(e inbox.Event) string {
			steps := RequiredSteps(e)
			return expect(len(steps) == 1 && steps[0] == RequiredStep{StepID: "<STEP_ID>", RenewalDeadline: "2025-09-15T00:00:00Z"},
				"one required step with its deadline")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", "published", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			e, err := ParseEvent(raw)
			if err != nil {
				t.Fatalf("ParseEvent(%s) error = %v, want nil", tt.file, err)
			}
			if e.Name != tt.event || !e.Processable || e.EventID != "4****-****-****-*********7" {
				t.Errorf("ParseEvent(%s) = %q processable=%v id=%q, want %q processable", tt.file, e.Name, e.Processable, e.EventID, tt.event)
			}
			if why := tt.want(e); why != "" {
				t.Errorf("ParseEvent(%s) = %+v, want %s", tt.file, e, why)
			}
		})
	}
}

func expect(ok bool, what string) string {
	if ok {
		return ""
	}
	return what
}

func TestParseSpotCheckNeedsItsJourneyID(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		wantField string // "" when it parses
		wantID    string
	}{
		{"spot check journey id", `{"event":"Finished Spot Check","body":{"eventId":"e","spotCheckJourneyId":"sc1"}}`, "", "sc1"},
		{"both ids: the spot check's wins", `{"event":"Finished Spot Check","body":{"eventId":"e","journeyId":"j1","spotCheckJourneyId":"sc1"}}`, "", "sc1"},
		{"no spot check journey id", `{"event":"Finished Spot Check","body":{"eventId":"e","journeyId":"j1"}}`, "body.spotCheckJourneyId", ""},
		{"other events still need journeyId", `{"event":"Finished Journey","body":{"eventId":"e","spotCheckJourneyId":"sc1"}}`, "body.journeyId", ""},
		{"requiredSteps of the wrong type is no steps", `{"event":"Verification Update Required","body":{"eventId":"e","journeyId":"j1","requiredSteps":"0"}}`, "", "j1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := Parse([]byte(tt.body))
			var fe *kyc.FieldError
			switch {
			case tt.wantField == "" && err != nil:
				t.Fatalf("Parse(%s) error = %v, want nil", tt.body, err)
			case tt.wantField != "" && (!errors.As(err, &fe) || fe.Field != tt.wantField):
				t.Fatalf("Parse(%s) error = %v, want a FieldError on %s", tt.body, err, tt.wantField)
			case tt.wantField == "" && w.JourneyID != tt.wantID:
				t.Errorf("Parse(%s).JourneyID = %q, want %q", tt.body, w.JourneyID, tt.wantID)
			}
		})
	}
}
