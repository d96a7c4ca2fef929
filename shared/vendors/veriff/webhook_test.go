package veriff

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/kycbackend/kyc/shared/core/inbox"

	"github.com/kycbackend/kyc/shared/core/kyc"
)

const (
	sessionID = "f04bdb47-d3be-4b28-b028-a652feb060b5"
	attemptID = "e30122d1-740b-4764-853f-470374a7abf4"
	endUserID = "a1b2c35d-e8f7-6d5e-3cd2-a1b2c35db3d4"
)

func TestParseTestdata(t *testing.T) {
	ev := func(code int, action, reason, state string) Webhook {
		return Webhook{Kind: KindEvent, SessionID: sessionID, AttemptID: attemptID, Code: code, Action: action, Feature: "selfid",
			Reason: reason, State: state, VendorData: "customer-0002", EndUserID: endUserID}
	}
	dec := func(code int, status, reason, reasonCode string) Webhook {
		return Webhook{Kind: KindDecision, SessionID: sessionID, AttemptID: attemptID, Code: code, Status: status,
			Reason: reason, ReasonCode: reasonCode, VendorData: "customer-0002", EndUserID: endUserID,
			DecisionTime: "2026-05-01T10:15:27.916Z"}
	}
	tests := []struct {
		file string
		want Webhook
		name string
	}{
		{"event-started.json", ev(CodeStarted, ActionStarted, "", ""), "7001 started"},
		{"event-submitted.json", ev(CodeSubmitted, ActionSubmitted, "", ""), "7002 submitted"},
		{"event-waiting-complete.json", ev(7007, ActionWaitingComplete, ReasonFinalDecisionReceived, ""), "7007 waiting_complete"},
		{"event-flow-finished.json", ev(7008, ActionFlowFinished, ReasonFinishedScreenConfirmedClicked, "finished_screen_shown"), "7008 flow_finished"},
		{"event-flow-cancelled.json", ev(7009, ActionFlowCancelled, ReasonConsentScreenCancelPressed, "consent_screen_shown"), "7009 flow_cancelled"},
		{"event-flow-cancelled-handover.json", ev(7010, ActionFlowCancelled, ReasonMobileHandoverScreenShown, ""), "7010 flow_cancelled"},
		{"decision-approved.json", dec(CodeApproved, "approved", "", ""), "9001 approved"},
		{"decision-declined.json", dec(CodeDeclined, "declined", "Suspected document tampering", "102"), "9102 declined"},
		{"decision-resubmission-requested.json", dec(CodeResubmissionRequested, "resubmission_requested", "Poor image quality", "204"), "9103 resubmission_requested"},
		{"decision-expired.json", dec(CodeExpired, "expired", "", ""), "9104 expired"},
		{"decision-abandoned.json", dec(CodeExpired, "abandoned", "", ""), "9104 abandoned"},
		{"decision-review.json", dec(CodeReview, "review", "", ""), "9121 review"},
		{"fullauto-approved.json", Webhook{Kind: KindFullAuto, SessionID: sessionID, AttemptID: attemptID, Code: CodeApproved, Status: "approved",
			VendorData: "customer-0002", EndUserID: endUserID, DecisionTime: "2026-05-01T10:15:27.916Z", DecisionScore: "0.97", EventType: "fullauto"}, "fullauto approved"},
		{"fullauto-declined-decision-object.json", Webhook{Kind: KindFullAuto, SessionID: sessionID, AttemptID: attemptID, Code: CodeDeclined, Status: "declined",
			VendorData: "customer-0002", DecisionTime: "2026-05-01T10:15:27.916Z", DecisionScore: "0.08", EventType: "fullauto"}, "fullauto declined"},
		{"fullauto-no-decision.json", Webhook{Kind: KindFullAuto, SessionID: sessionID, AttemptID: attemptID,
			VendorData: "customer-0002", DecisionTime: "2026-05-01T10:15:27.916Z", DecisionScore: "0.91", EventType: "fullauto"}, "fullauto"},
		{"watchlist-possible-match.json", Webhook{Kind: KindWatchlist, SessionID: sessionID, AttemptID: "54233318-f81c-4ec4-8e4c-413168a3f5e6",
			VendorData: "12345678", EndUserID: endUserID, CheckType: "initial_result", MatchStatus: MatchPossible, Hits: 1}, "watchlist possible_match"},
		{"watchlist-no-match.json", Webhook{Kind: KindWatchlist, SessionID: sessionID, AttemptID: "54233318-f81c-4ec4-8e4c-413168a3f5e6",
			VendorData: "12345678", EndUserID: endUserID, CheckType: "updated_result", MatchStatus: MatchNone}, "watchlist no_match"},
		{"user-defined-status.json", Webhook{Kind: KindUserDefined, SessionID: "a1c68aea-7f4d-478d-80ab-ca9356074f69", AttemptID: "f2270684-8c51-4d03-88eb-dafd43e8b486",
			EventType: "user-status.created"}, "user_defined_status"},
		{"proof-of-address-declined.json", Webhook{Kind: KindDecision, SessionID: sessionID,
			AttemptID: attemptID, Code: CodeDeclined, Status: "declined", Reason: "Suspected document tampering",
			ReasonCode: "102", VendorData: "customer-0002", EndUserID: endUserID, DecisionTime: "2026-05-02T09:30:11.204Z"}, "9102 declined"},
	}
	files, _ := filepath.Glob("testdata/*.json")
	if len(files) != len(tests) {
		t.Errorf("testdata has %d files, the table %d: cover every fixture", len(files), len(tests))
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
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse() = %+v, want %+v", got, tt.want)
			}
			if got.Name() != tt.name || got.Processable() != (got.Kind != KindUnknown) {
				t.Errorf("Name() = %q processable=%v, want %q, processable unless of an unknown kind", got.Name(), got.Processable(), tt.name)
			}
			// The inbox event round-trips to the same webhook (the processor never re-parses).
			e := got.InboxEvent(raw, ReferenceVendorData)
			if back := FromEvent(e); !reflect.DeepEqual(back, got) {
				t.Errorf("FromEvent(InboxEvent()) = %+v, want %+v", back, got)
			}
			if e.EventID != inbox.Hash(raw) || e.BodyHash != e.EventID || e.JourneyID != tt.want.SessionID ||
				e.ReferenceNo != tt.want.VendorData || e.Provider != Provider {
				t.Errorf("InboxEvent() = %+v, want the body hash as id, the session as journey, vendorData as referenceNo", e)
			}
			// What the webhook edge stores: the body without the person, the raw hash.
			pe, err := ParseEvent(raw)
			if err != nil || pe.EventID != inbox.Hash(raw) || pe.BodyHash != inbox.Hash(raw) || string(pe.Body) != string(Redact(raw)) || !json.Valid(pe.Body) {
				t.Errorf("ParseEvent() = %+v, %v; want the stripped body under the raw hash", pe, err)
			}
		})
	}
}

// The decision webhook carries personal data (person, document): none of it may reach the
// inbox event's attributes, which end up in the table next to ids.
func TestDecisionPersonalDataNotInAttributes(t *testing.T) {
	raw, err := os.ReadFile("testdata/decision-approved.json")
	if err != nil {
		t.Fatal(err)
	}
	e, err := ParseEvent(raw)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range e.Attributes {
		for _, pii := range []string{"TEST", "PERSON", "1990-01-01", "TEST0000000", "192.0.2.10"} {
			if strings.Contains(v, pii) {
				t.Errorf("attribute %s = %q carries personal data %q", k, v, pii)
			}
		}
	}
}

func TestEveryFlowReasonRecognised(t *testing.T) {
	// The reason values of Veriff's end-user flow events table (https://devdocs.veriff.com/docs/event-webhook, "Additional info about end-user events"), with the
	// action each comes with.
	seed := map[string]string{
		"final_decision_received":             ActionWaitingComplete,
		"final_decision_received_from_socket": ActionWaitingComplete,
		"waiting_decision_continue_clicked":   ActionWaitingComplete,
		"finished_screen_confirmed_clicked":   ActionFlowFinished,
		"quit_session_confirmed":              ActionFlowCancelled,
		"error_screen_exit_clicked":           ActionFlowCancelled,
		"consent_screen_cancel_pressed":       ActionFlowCancelled,
		"mobile_handover_screen_shown":        ActionFlowCancelled,
	}
	for reason, action := range seed {
		t.Run(reason, func(t *testing.T) {
			r, ok := Reason(reason)
			if !ok || r.Action != action || r.Description == "" {
				t.Errorf("Reason(%q) = %+v, %v; want recognised with action %s", reason, r, ok, action)
			}
			body := fmt.Sprintf(`{"id":"s","attemptId":"a","code":7009,"action":%q,"context":{"reason":%q,"state":"some_state"},"vendorData":"r"}`, action, reason)
			w, err := Parse([]byte(body))
			if err != nil || w.Reason != reason || w.Action != action || w.State != "some_state" {
				t.Errorf("Parse() = %+v, %v; want reason %q", w, err, reason)
			}
		})
	}
	got := Reasons()
	sort.Strings(got)
	if len(got) != len(seed) {
		t.Errorf("Reasons() = %v, want the %d of the seed", got, len(seed))
	}
}

func TestParseTolerant(t *testing.T) {
	tests := []struct {
		name string
		body string
		want Webhook
	}{
		{"unknown reason and state stored as they came",
			`{"id":"s1","code":7009,"action":"flow_cancelled","context":{"reason":"brand_new_reason","state":"screen_we_never_saw"}}`,
			Webhook{Kind: KindEvent, SessionID: "s1", Code: 7009, Action: ActionFlowCancelled, Reason: "brand_new_reason", State: "screen_we_never_saw"}},
		{"context of another shape ignored", `{"id":"s1","code":7008,"action":"flow_finished","context":"x"}`,
			Webhook{Kind: KindEvent, SessionID: "s1", Code: 7008, Action: ActionFlowFinished}},
		{"nulls and unknown fields", `{"id":"s1","attemptId":null,"code":7002,"action":"submitted","vendorData":null,"endUserId":null,"new":{"x":1}}`,
			Webhook{Kind: KindEvent, SessionID: "s1", Code: 7002, Action: ActionSubmitted}},
		{"code as a string", `{"id":"s1","code":"7001","action":"started"}`,
			Webhook{Kind: KindEvent, SessionID: "s1", Code: 7001, Action: ActionStarted}},
		// 7001.0 is the number 7001 in JSON (RFC 8259 has one number type) and an integer to
		// JSON Schema, so openapi.yaml's `integer` allows it: a re-serialized body keeps it.
		{"code a number of integral value", `{"id":"s1","code":7001.0,"action":"started"}`,
			Webhook{Kind: KindEvent, SessionID: "s1", Code: 7001, Action: ActionStarted}},
		{"decision code in exponent form", `{"verification":{"id":"s2","code":9.001e3,"status":"approved"}}`,
			Webhook{Kind: KindDecision, SessionID: "s2", Code: 9001, Status: "approved"}},
		{"numeric reason code and vendorData", `{"status":"success","verification":{"id":"s2","code":9103,"status":"resubmission_requested","reason":"Poor image quality","reasonCode":204,"vendorData":12345}}`,
			Webhook{Kind: KindDecision, SessionID: "s2", Code: 9103, Status: "resubmission_requested", Reason: "Poor image quality", ReasonCode: "204", VendorData: "12345"}},
		{"invalid decisionTime kept as sent", `{"verification":{"id":"s2","code":9001,"status":"approved","decisionTime":"yesterday"}}`,
			Webhook{Kind: KindDecision, SessionID: "s2", Code: 9001, Status: "approved", DecisionTime: "yesterday"}},
		{"null verification is an event", `{"verification":null,"id":"s3","code":7001}`,
			Webhook{Kind: KindEvent, SessionID: "s3", Code: 7001}},
		// An unknown kind's session id is a guess: one that cannot be a key is passed over,
		// the body is stored all the same (openapi.yaml leaves these members free).
		{"unknown kind: ids that cannot be keys are no session id", `{"sessionId":"not a key","id":"bad/id"}`,
			Webhook{Kind: KindUnknown}},
		{"unknown kind: the first candidate that can be a key", `{"sessionId":"bad id","id":"s4"}`,
			Webhook{Kind: KindUnknown, SessionID: "s4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.body))
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	tests := []struct {
		name, body, field string
	}{
		{"not JSON", `{"id":`, "(root)"},
		{"array", `[1,2]`, "(root)"},
		{"null", `null`, "(root)"},
		{"trailing data", `{"id":"s","code":7001} {}`, "(root)"},
		{"event without id", `{"code":7001,"action":"started"}`, "id"},
		{"event with empty id", `{"id":"  ","code":7001}`, "id"},
		{"event id an object", `{"id":{},"code":7001}`, "id"},
		{"event id with a control character", `{"id":"a\u0000b","code":7001}`, "id"},
		{"event id too long", `{"id":"` + strings.Repeat("x", 300) + `","code":7001}`, "id"},
		{"event without code", `{"id":"s","action":"started"}`, "code"},
		{"event code not a number", `{"id":"s","code":"started"}`, "code"},
		{"event code fractional", `{"id":"s","code":7001.5}`, "code"},
		{"event code negative", `{"id":"s","code":-7001.0}`, "code"},
		{"event code a fraction in a string", `{"id":"s","code":"7001.0"}`, "code"},
		{"event code beyond int64", `{"id":"s","code":1e19}`, "code"},
		{"verification not an object", `{"status":"success","verification":"x"}`, "verification"},
		{"decision without id", `{"verification":{"code":9001,"status":"approved"}}`, "verification.id"},
		{"decision without code", `{"verification":{"id":"s","status":"approved"}}`, "verification.code"},
		{"decision code null", `{"verification":{"id":"s","code":null}}`, "verification.code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseEvent([]byte(tt.body))
			var fe *kyc.FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseEvent() error = %v, want a *kyc.FieldError wrapping ErrMalformed", err)
			}
			if fe.FieldName() != tt.field {
				t.Errorf("field = %q (%v), want %q", fe.FieldName(), err, tt.field)
			}
		})
	}
}

func TestUnknownCodesStoredNotProcessable(t *testing.T) {
	for _, body := range []string{
		`{"id":"s","code":7003,"action":"something_new"}`,
		`{"verification":{"id":"s","code":9999,"status":"brand_new"}}`,
	} {
		e, err := ParseEvent([]byte(body))
		if err != nil {
			t.Fatalf("ParseEvent(%s) = %v, want it stored", body, err)
		}
		if e.Processable {
			t.Errorf("ParseEvent(%s).Processable = true, want false for an unknown code", body)
		}
	}
	for code := 7007; code <= 7010; code++ {
		if !Known(code) || !IsFlowEvent(code) {
			t.Errorf("Known(%d) = false, want every flow event code known", code)
		}
	}
}

func TestReferenceField(t *testing.T) {
	raw := []byte(`{"id":"s","code":7002,"action":"submitted","vendorData":"vd-1","endUserId":"eu-1"}`)
	tests := []struct {
		config  string
		want    string
		wantErr bool
	}{
		{"", "vd-1", false},
		{"vendorData", "vd-1", false},
		{"endUserId", "eu-1", false},
		{"email", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.config, func(t *testing.T) {
			f, err := ParseReferenceField(tt.config)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseReferenceField(%q) error = %v, wantErr %v", tt.config, err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			e, err := Parser{Reference: f}.ParseEvent(raw)
			if err != nil || e.ReferenceNo != tt.want {
				t.Errorf("ReferenceNo = %q (%v), want %q", e.ReferenceNo, err, tt.want)
			}
			if e.Attributes[AttrVendorData] != "vd-1" || e.Attributes[AttrEndUserID] != "eu-1" {
				t.Errorf("attributes = %v, want both ids kept", e.Attributes)
			}
		})
	}
}

// Two deliveries of the same bytes share an event id (the dedup key); one changed byte
// makes another event.
func TestEventIDIsTheBodyHash(t *testing.T) {
	a := []byte(`{"id":"s","code":7002,"action":"submitted"}`)
	b := []byte(`{"id":"s","code":7002,"action":"submitted" }`)
	ea, _ := ParseEvent(a)
	ea2, _ := ParseEvent(append([]byte(nil), a...))
	eb, _ := ParseEvent(b)
	if ea.EventID != ea2.EventID || ea.EventID == eb.EventID || len(ea.EventID) != 64 {
		t.Errorf("event ids %s %s %s: want equal for equal bodies, different otherwise", ea.EventID, ea2.EventID, eb.EventID)
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, file := range files {
		raw, _ := os.ReadFile(file)
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		w, err := Parse(raw)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse() error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if (w.SessionID == "" && w.Kind != KindUnknown) || w.Kind == "" {
			t.Fatalf("Parse() = %+v without a session or kind", w)
		}
		if !json.Valid(Redact(raw)) {
			t.Fatalf("Redact() of accepted %q is not JSON", raw)
		}
		if !json.Valid(raw) {
			t.Fatalf("Parse() accepted invalid JSON %q", raw)
		}
	})
}

// Issue 13 item 7: the personal sections never reach the stored body, wherever Veriff puts
// them; the event id (the dedup key) stays the hash of the raw bytes.
func TestStoredBodyWithoutPersonalData(t *testing.T) {
	pii := []string{"TEST", "PERSON", "1990-01-01", "TEST0000000", "192.0.2.10", "Example PEP list", "1 TEST STREET"}
	files, _ := filepath.Glob("testdata/*.json")
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			raw, _ := os.ReadFile(file)
			e, err := ParseEvent(raw)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range pii {
				if strings.Contains(string(e.Body), v) {
					t.Errorf("stored body carries %q: %s", v, e.Body)
				}
			}
			if e.EventID != inbox.Hash(raw) || e.BodyHash != inbox.Hash(raw) {
				t.Errorf("event id %s, body hash %s, want both the raw hash %s", e.EventID, e.BodyHash, inbox.Hash(raw))
			}
		})
	}
	// The allow-listed members are kept: a decision still says what it decided.
	raw, _ := os.ReadFile("testdata/decision-approved.json")
	var kept struct {
		Verification map[string]json.RawMessage `json:"verification"`
		Technical    json.RawMessage            `json:"technicalData"`
	}
	if err := json.Unmarshal(Redact(raw), &kept); err != nil || string(kept.Verification["code"]) != "9001" ||
		string(kept.Verification["decisionTime"]) != `"2026-05-01T10:15:27.916Z"` || kept.Technical != nil ||
		kept.Verification["person"] != nil || kept.Verification["document"] != nil {
		t.Errorf("Redact(decision) = %s (%v), want code and decisionTime kept, person, document, technicalData gone", Redact(raw), err)
	}
	// Not a JSON object: nothing of it.
	for _, b := range []string{`{"id":`, `[1]`, `"TEST PERSON"`} {
		if got := Redact([]byte(b)); string(got) != "{}" {
			t.Errorf("Redact(%s) = %s, want {}", b, got)
		}
	}
}

// Issue 20 item 2: raw Veriff bodies by allow-list. A marker planted in every section that
// is not an id, code, status, reason code or time (person, document, technicalData,
// additionalVerifiedData, hits, a section Veriff might add later, unknown members nested
// inside allow-listed objects, an object where a scalar is expected) is gone from the stored
// body of every kind, while the allow-listed values stay.
func TestRedactKeepsOnlyTheAllowList(t *testing.T) {
	const m = "MARKER-9f3c"
	tests := []struct {
		name string
		body string
		kept []string // allow-listed values that must stay
	}{
		{"event", `{"id":"s1","attemptId":"a1","feature":"selfid","code":7002,"action":"submitted","vendorData":"ref-1","endUserId":"u-1",
			"technicalData":{"ip":"` + m + `"},"futureSection":{"x":"` + m + `"},"context":{"reason":"r","state":"st","extra":"` + m + `"},"note":"` + m + `"}`,
			[]string{`"s1"`, `"a1"`, "7002", `"submitted"`, `"ref-1"`, `"u-1"`, `"r"`, `"st"`}},
		{"decision", `{"status":"success","verification":{"id":"s1","attemptId":"a1","code":9102,"status":"declined","reason":"x","reasonCode":102,
			"vendorData":"ref-1","decisionTime":"2026-05-01T10:15:27.916Z","person":{"firstName":"` + m + `"},"document":{"number":"` + m + `"},
			"additionalVerifiedData":{"nationalId":"` + m + `","name":"` + m + `"},"riskLabels":[{"label":"` + m + `"}],"comments":["` + m + `"],
			"futureSection":{"nested":{"deep":"` + m + `"}},"newScalar":"` + m + `"},"technicalData":{"ip":"` + m + `"},"rootExtra":"` + m + `"}`,
			[]string{`"s1"`, "9102", `"declined"`, "102", `"ref-1"`, `"2026-05-01T10:15:27.916Z"`}},
		{"decision with an object where a scalar is expected", `{"status":"success","verification":{"id":"s1","code":9001,"status":{"v":"` + m + `"},"reason":["` + m + `"]}}`,
			[]string{`"s1"`, "9001"}},
		{"fullauto", `{"eventType":"fullauto","sessionId":"s1","attemptId":"a1","vendorData":"ref-1","time":"2026-05-01T10:15:27.916Z",
			"data":{"verification":{"decision":{"value":"approved","sources":["` + m + `"]},"decisionScore":0.97,"person":{"firstName":{"value":"` + m + `"}},
			"insights":[{"label":"` + m + `"}],"future":"` + m + `"},"other":{"x":"` + m + `"}}}`,
			[]string{`"s1"`, `"approved"`, "0.97"}},
		{"watchlist", `{"checkType":"initial_result","matchStatus":"possible_match","sessionId":"s1","attemptId":"a1","vendorData":"ref-1","totalHits":1,
			"searchTerm":{"name":"` + m + `"},"hits":[{"matchedName":"` + m + `"}],"future":{"x":"` + m + `"}}`,
			[]string{`"s1"`, `"possible_match"`, `"initial_result"`}},
		{"user-defined status", `{"eventType":"user_defined_status","attemptId":"a1","time":"2026-05-02T09:00:00.000Z",
			"data":{"verification":{"id":"s1","userDefinedData":{"status":"x","comment":"` + m + `"},"future":"` + m + `"}}}`,
			[]string{`"s1"`, `"a1"`}},
		{"unknown kind", `{"sessionId":"s1","eventType":"proof_of_address","vendorData":"ref-1","data":{"proofOfAddress":{"fullAddress":"` + m + `"},
			"verification":{"id":"s1","address":"` + m + `"}},"future":"` + m + `"}`,
			[]string{`"s1"`, `"ref-1"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := []byte(tt.body)
			if !json.Valid(raw) {
				t.Fatalf("test body is not JSON: %s", raw)
			}
			e, err := ParseEvent(raw)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(e.Body), m) {
				t.Errorf("stored body = %s, want no %s", e.Body, m)
			}
			for _, v := range tt.kept {
				if !strings.Contains(string(e.Body), v) {
					t.Errorf("stored body = %s, want %s kept", e.Body, v)
				}
			}
			if e.EventID != inbox.Hash(raw) || e.BodyHash != inbox.Hash(raw) {
				t.Errorf("event id %s, body hash %s, want both the raw hash", e.EventID, e.BodyHash)
			}
		})
	}
	// VERIFF_STRIP_FIELDS still drops an allow-listed member.
	if got := (Parser{Drop: []string{"endUserId"}}).Redact([]byte(tests[0].body)); strings.Contains(string(got), "u-1") {
		t.Errorf("Redact with Drop endUserId = %s, want endUserId gone", got)
	}
}

func TestParseUnknownKinds(t *testing.T) {
	tests := []struct {
		name, body, session string
	}{
		{"INE-like body", `{"sessionId":"s-ine","eventType":"ine_validation","data":{"ine":{"valid":true}}}`, "s-ine"},
		{"CURP-like body with an id only", `{"id":"s-curp","curp":{"status":"valid"}}`, "s-curp"},
		{"empty object", `{}`, ""},
		{"id not usable", `{"sessionId":{"x":1}}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := ParseEvent([]byte(tt.body))
			if err != nil || e.Processable || e.JourneyID != tt.session || e.Name != "unknown" {
				t.Errorf("ParseEvent(%s) = %+v, %v; want stored, not processable, session %q", tt.body, e, err, tt.session)
			}
		})
	}
	// The known kinds still need their session id: a 400 naming it.
	for body, field := range map[string]string{
		`{"eventType":"fullauto","data":{"verification":{"decision":"approved"}}}`: "sessionId",
		`{"checkType":"initial_result","matchStatus":"no_match"}`:                  "sessionId",
		`{"data":{"verification":{"userDefinedData":{}}},"eventType":"x"}`:         "data.verification.id",
	} {
		_, err := ParseEvent([]byte(body))
		var fe *kyc.FieldError
		if !errors.As(err, &fe) || fe.FieldName() != field {
			t.Errorf("ParseEvent(%s) = %v, want a field error on %s", body, err, field)
		}
	}
}
