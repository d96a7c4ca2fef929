package veriff

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/processor"
)

func TestDerive(t *testing.T) {
	event := func(code int, action, attempt, reason, state string) Webhook {
		return Webhook{Kind: KindEvent, SessionID: "s", AttemptID: attempt, Code: code, Action: action, Reason: reason, State: state}
	}
	decision := func(code int, status, reason, reasonCode string) Webhook {
		return Webhook{Kind: KindDecision, SessionID: "s", AttemptID: "a1", Code: code, Status: status, Reason: reason, ReasonCode: reasonCode}
	}
	fullAuto := func(decision, score string) Webhook {
		return Webhook{Kind: KindFullAuto, SessionID: "s", AttemptID: "a1", Status: decision, Code: DecisionCode(decision), DecisionScore: score}
	}
	watchlist := func(match string, hits int) Webhook {
		return Webhook{Kind: KindWatchlist, SessionID: "s", AttemptID: "a1", CheckType: "updated_result", MatchStatus: match, Hits: hits}
	}
	fresh := Session{}
	submitted := Session{Submitted: true, SubmittedAttempt: "a1"}
	approved := Session{DecisionCode: CodeApproved, DecisionStatus: "approved", DecisionAttempt: "a1", Submitted: true}
	expired := Session{DecisionCode: CodeExpired, DecisionStatus: "expired", DecisionAttempt: "a1"}
	resubmit := Session{DecisionCode: CodeResubmissionRequested, DecisionStatus: "resubmission_requested", DecisionAttempt: "a1", Submitted: true}
	resubmitNoAttempt := Session{DecisionCode: CodeResubmissionRequested}

	tests := []struct {
		name    string
		w       Webhook
		s       Session
		status  kyc.Status
		reasons []string
		guard   processor.Guard
	}{
		{"9001 approved", decision(9001, "approved", "", ""), fresh, kyc.Approved, nil, processor.Always},
		// The app sees Veriff's reason code as "veriff:<code>", never its free-text reason.
		{"9102 declined, with its reason code", decision(9102, "declined", "Suspected document tampering", "102"), fresh, kyc.Rejected, []string{"veriff:102"}, processor.Always},
		{"9102 declined without a reason", decision(9102, "declined", "", ""), fresh, kyc.Rejected, nil, processor.Always},
		{"9103 resubmission requested, with the reason", decision(9103, "resubmission_requested", "Poor image quality", "204"), submitted,
			kyc.ResubmissionRequired, []string{"veriff:204"}, processor.Always},
		{"9103 with a reason code that is not a number", decision(9103, "resubmission_requested", "Poor image quality", "call me maybe"), submitted,
			kyc.ResubmissionRequired, []string{"veriff:other"}, processor.Always},
		{"9103 without a reason", decision(9103, "resubmission_requested", "", ""), submitted, kyc.ResubmissionRequired, nil, processor.Always},
		{"9104 expired", decision(9104, "expired", "", ""), fresh, kyc.Abandoned, nil, processor.Always},
		{"9104 abandoned", decision(9104, "abandoned", "", ""), fresh, kyc.Abandoned, nil, processor.Always},
		{"9121 review", decision(9121, "review", "", ""), submitted, kyc.InReview, nil, processor.Always},
		{"a decision after another decision (ordering is the resolver's)", decision(9001, "approved", "", ""), Session{DecisionCode: CodeReview}, kyc.Approved, nil, processor.Always},
		{"unknown decision code", decision(9999, "brand_new", "", ""), fresh, "", nil, processor.Always},

		{"7001 started", event(7001, ActionStarted, "a1", "", ""), fresh, "", nil, processor.Always},
		{"7002 submitted", event(7002, ActionSubmitted, "a1", "", ""), fresh, kyc.PendingVerification, nil, processor.UnlessDecided},
		{"7002 submitted after a cancellation", event(7002, ActionSubmitted, "a1", "", ""), Session{ChangeAttempt: "a1", ChangeVersion: 5}, kyc.PendingVerification, nil, processor.UnlessDecided},
		{"7002 late, after approval", event(7002, ActionSubmitted, "a1", "", ""), approved, "", nil, processor.Always},
		{"7002 late, after expiry", event(7002, ActionSubmitted, "a1", "", ""), expired, "", nil, processor.Always},
		{"7002 late, of the attempt resubmission was asked for", event(7002, ActionSubmitted, "a1", "", ""), resubmit, "", nil, processor.Always},
		{"7002 of the new attempt after a resubmission request", event(7002, ActionSubmitted, "a2", "", ""), resubmit, kyc.PendingVerification, nil, processor.Always},
		{"7002 after a resubmission request, attempts unknown", event(7002, ActionSubmitted, "a2", "", ""), resubmitNoAttempt, "", nil, processor.Always},

		{"flow_cancelled on the consent screen", event(7009, ActionFlowCancelled, "a1", ReasonConsentScreenCancelPressed, "consent_screen_shown"), fresh,
			kyc.Abandoned, []string{"reason:consent_screen_cancel_pressed", "state:consent_screen_shown"}, processor.UnlessDecided},
		// Issue 14 item 11: the desktop-to-phone handover is not an abandonment.
		{"flow_cancelled, desktop-to-phone handover", event(7010, ActionFlowCancelled, "a1", ReasonMobileHandoverScreenShown, ""), fresh, "", nil, processor.Always},
		{"flow_cancelled, unknown free-text reason bounded", event(7009, ActionFlowCancelled, "a1", "the user said: bye!", "x y"), fresh,
			kyc.Abandoned, []string{"reason:other", "state:other"}, processor.UnlessDecided},
		{"flow_cancelled, unknown reason and state as they came", event(7008, ActionFlowCancelled, "a1", "new_reason", "new_state"), fresh,
			kyc.Abandoned, []string{"reason:new_reason", "state:new_state"}, processor.UnlessDecided},
		{"flow_cancelled without context", event(7007, ActionFlowCancelled, "a1", "", ""), fresh, kyc.Abandoned, nil, processor.UnlessDecided},
		{"flow_cancelled after the submission", event(7009, ActionFlowCancelled, "a1", ReasonQuitSessionConfirmed, "waiting_decision"), submitted, "", nil, processor.Always},
		{"flow_cancelled after approval", event(7009, ActionFlowCancelled, "a1", ReasonQuitSessionConfirmed, ""), approved, "", nil, processor.Always},
		{"flow_cancelled after a resubmission request", event(7009, ActionFlowCancelled, "a2", ReasonConsentScreenCancelPressed, ""), resubmit, "", nil, processor.Always},
		{"flow_cancelled after expiry", event(7009, ActionFlowCancelled, "a1", ReasonErrorScreenExitClicked, ""), expired, "", nil, processor.Always},
		{"waiting_complete", event(7007, ActionWaitingComplete, "a1", ReasonFinalDecisionReceived, ""), approved, "", nil, processor.Always},
		{"flow_finished", event(7008, ActionFlowFinished, "a1", ReasonFinishedScreenConfirmedClicked, ""), fresh, "", nil, processor.Always},
		{"flow event with an unknown action", event(7010, "flow_paused", "a1", "", ""), fresh, "", nil, processor.Always},
		{"unknown event code", event(7003, "something", "a1", "", ""), fresh, "", nil, processor.Always},

		// Full Auto (Essential plan): the decision value through the same codes.
		{"full auto approved", fullAuto("approved", "0.97"), fresh, kyc.Approved, nil, processor.Always},
		{"full auto declined", fullAuto("declined", "0.12"), fresh, kyc.Rejected, nil, processor.Always},
		{"full auto resubmission requested", fullAuto("resubmission_requested", ""), fresh, kyc.ResubmissionRequired, nil, processor.Always},
		{"full auto expired", fullAuto("expired", ""), fresh, kyc.Abandoned, nil, processor.Always},
		{"full auto abandoned", fullAuto("abandoned", ""), fresh, kyc.Abandoned, nil, processor.Always},
		{"full auto review", fullAuto("review", ""), fresh, kyc.InReview, nil, processor.Always},
		{"full auto unknown decision value", fullAuto("brand_new", "0.99"), fresh, "", nil, processor.Always},
		{"full auto no decision, no threshold configured", fullAuto("", "0.99"), fresh, kyc.InReview, []string{"decision:missing"}, processor.Always},
		{"full auto no decision and no score", fullAuto("", ""), fresh, kyc.InReview, []string{"decision:missing"}, processor.Always},

		// Watchlist screening: a possible match puts an approved profile back in review.
		{"watchlist possible match", watchlist(MatchPossible, 2), approved, kyc.InReview, []string{"watchlist:possible_match"}, processor.OnlyIfApproved},
		{"watchlist no match", watchlist(MatchNone, 0), approved, "", nil, processor.Always},
		{"watchlist unknown match status", watchlist("maybe", 1), approved, "", nil, processor.Always},

		{"user-defined status", Webhook{Kind: KindUserDefined, SessionID: "s", AttemptID: "a1", EventType: "user_defined_status"}, approved, "", nil, processor.Always},
		{"unknown kind", Webhook{Kind: KindUnknown, SessionID: "s"}, fresh, "", nil, processor.Always},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DefaultPolicy.Derive(tt.w, tt.s)
			if got.Status != tt.status || !reflect.DeepEqual(got.Reasons, tt.reasons) || got.Guard != tt.guard {
				t.Errorf("Derive() = %+v, want status %q reasons %q guard %v", got, tt.status, tt.reasons, tt.guard)
			}
			if got.Status == "" && got.Note == "" {
				t.Errorf("Derive() changes nothing and says nothing: want a timeline note")
			}
		})
	}
}

// Every flow event code handles every action the same way: the action decides, not the
// code (Veriff's table does not tie actions to codes).
func TestDeriveEveryFlowCodeAndReason(t *testing.T) {
	for code := CodeFlowFirst; code <= CodeFlowLast; code++ {
		for _, reason := range Reasons() {
			r, _ := Reason(reason)
			t.Run(fmt.Sprintf("%d %s %s", code, r.Action, reason), func(t *testing.T) {
				got := DefaultPolicy.Derive(Webhook{Kind: KindEvent, Code: code, Action: r.Action, Reason: reason}, Session{})
				want := kyc.Status("")
				if r.Action == ActionFlowCancelled && reason != ReasonMobileHandoverScreenShown {
					want = kyc.Abandoned
				}
				if got.Status != want {
					t.Errorf("Derive() = %+v, want %q", got, want)
				}
				if want != "" && (len(got.Reasons) != 1 || got.Reasons[0] != "reason:"+reason) {
					t.Errorf("reasons = %q, want [reason:%s]", got.Reasons, reason)
				}
			})
		}
	}
}

// The Full Auto decision score against the configured threshold, when the payload has no
// decision value (VERIFF_DECISION_SCORE_THRESHOLD).
func TestDeriveFullAutoScore(t *testing.T) {
	p := DefaultPolicy
	p.ScoreThreshold = 0.8
	tests := []struct {
		score   string
		status  kyc.Status
		reasons []string
	}{
		{"0.8", kyc.Approved, nil},
		{"0.95", kyc.Approved, nil},
		{"0.79", kyc.InReview, []string{ReasonScoreBelow}},
		{"0", kyc.InReview, []string{ReasonScoreBelow}},
		{"", kyc.InReview, []string{ReasonNoDecision}},
		{"high", kyc.InReview, []string{ReasonNoDecision}},
	}
	for _, tt := range tests {
		got := p.Derive(Webhook{Kind: KindFullAuto, SessionID: "s", DecisionScore: tt.score}, Session{})
		if got.Status != tt.status || !reflect.DeepEqual(got.Reasons, tt.reasons) {
			t.Errorf("Derive(score %q) = %+v, want %s %q", tt.score, got, tt.status, tt.reasons)
		}
	}
	// A decision value wins over the score.
	if got := p.Derive(Webhook{Kind: KindFullAuto, Status: "declined", Code: CodeDeclined, DecisionScore: "0.99"}, Session{}); got.Status != kyc.Rejected {
		t.Errorf("Derive(declined, score 0.99) = %+v, want REJECTED", got)
	}
}

func TestWatchlistMatchConfigurable(t *testing.T) {
	tests := []struct {
		config  string
		want    kyc.Status
		wantErr bool
	}{
		{"", kyc.InReview, false}, {"IN_REVIEW", kyc.InReview, false}, {"rejected", kyc.Rejected, false},
		{"NONE", "", false}, {"APPROVED", "", true},
	}
	for _, tt := range tests {
		got, err := ParseWatchlistMatch(tt.config)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseWatchlistMatch(%q) = %q, %v, want %q (error %v)", tt.config, got, err, tt.want, tt.wantErr)
		}
		if err != nil {
			continue
		}
		p := DefaultPolicy
		p.WatchlistMatch = got
		d := p.Derive(Webhook{Kind: KindWatchlist, SessionID: "s", MatchStatus: MatchPossible}, Session{})
		if d.Status != tt.want {
			t.Errorf("Derive(possible_match) with %q = %+v, want %q", tt.config, d, tt.want)
		}
	}
}

func TestParseScoreThreshold(t *testing.T) {
	for in, want := range map[string]float64{"": 0, "0.5": 0.5, " 1 ": 1} {
		if got, err := ParseScoreThreshold(in); err != nil || got != want {
			t.Errorf("ParseScoreThreshold(%q) = %v, %v, want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"0", "-0.1", "1.5", "80", "x"} {
		if _, err := ParseScoreThreshold(in); err == nil {
			t.Errorf("ParseScoreThreshold(%q) = nil error, want one", in)
		}
	}
}

func TestSessionRoundTrip(t *testing.T) {
	s := Session{DecisionCode: 9103, DecisionStatus: "resubmission_requested", DecisionAttempt: "a1", DecisionTime: "2026-05-01T10:15:27.916Z",
		DecisionVersion: 123, ReasonCode: "204", Reason: "Poor image quality", Submitted: true, SubmittedAttempt: "a1",
		ChangeAttempt: "a1", ChangeVersion: 124, ChangeEventID: "abc",
		WatchlistMatch: "possible_match", WatchlistCheck: "updated_result", WatchlistHits: 3}
	if got := SessionOf(s.Decisions()); !reflect.DeepEqual(got, s) {
		t.Errorf("SessionOf(Decisions()) = %+v, want %+v", got, s)
	}
	if got := SessionOf(nil); !reflect.DeepEqual(got, Session{}) {
		t.Errorf("SessionOf(nil) = %+v, want zero", got)
	}
	if d := (Session{}).Decisions(); len(d) != 0 {
		t.Errorf("Decisions() of an empty session = %v, want empty", d)
	}
}

// Every sample of testdata/ through the real parser and the policy (a fresh session, and
// an approved one for the watchlist samples).
func TestTestdataDerive(t *testing.T) {
	approved := Session{DecisionCode: CodeApproved, DecisionStatus: "approved"}
	tests := map[string]kyc.Status{
		"event-started.json": "", "event-submitted.json": kyc.PendingVerification, "event-waiting-complete.json": "",
		"event-flow-finished.json": "", "event-flow-cancelled.json": kyc.Abandoned, "event-flow-cancelled-handover.json": "",
		"decision-approved.json": kyc.Approved, "decision-declined.json": kyc.Rejected,
		"decision-resubmission-requested.json": kyc.ResubmissionRequired, "decision-expired.json": kyc.Abandoned,
		"decision-abandoned.json": kyc.Abandoned, "decision-review.json": kyc.InReview,
		"fullauto-approved.json": kyc.Approved, "fullauto-declined-decision-object.json": kyc.Rejected, "fullauto-no-decision.json": kyc.InReview,
		"watchlist-possible-match.json": kyc.InReview, "watchlist-no-match.json": "",
		"user-defined-status.json": "", "proof-of-address-declined.json": "",
	}
	files, _ := filepath.Glob("testdata/*.json")
	if len(files) != len(tests) {
		t.Errorf("testdata has %d samples, the table %d", len(files), len(tests))
	}
	for file, want := range tests {
		raw, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		w, err := Parse(raw)
		if err != nil {
			t.Fatalf("Parse(%s) = %v", file, err)
		}
		s := Session{}
		if w.Kind == KindWatchlist {
			s = approved
		}
		if strings.HasPrefix(file, "proof-of-address") {
			w.Product = ProductProofOfAddress // told apart only by the integration that signed it
			if got := DefaultPolicy.Derive(Webhook{Kind: w.Kind, Code: w.Code, SessionID: w.SessionID}, s); got.Status != kyc.Rejected {
				t.Errorf("Derive(%s from the identity integration) = %+v, want REJECTED", file, got)
			}
		}
		if got := DefaultPolicy.Derive(w, s); got.Status != want {
			t.Errorf("Derive(%s) = %+v, want %q", file, got, want)
		}
	}
}
