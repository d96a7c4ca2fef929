package compose_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kycbackend/kyc/infra/local/provision"
	"github.com/kycbackend/kyc/shared/aws/dynamo/dynamotest"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/push"
	"github.com/kycbackend/kyc/shared/vendors/idwise"
)

// result scripts the simulator's Get Journey Result with an end_time.
func (p *pipeline) result(id, ref, system, manual, final string, end time.Time) {
	p.sim.SetJourney(idwise.Journey{JourneyID: id, ReferenceNumber: ref, SystemDecision: system, ManualDecision: manual,
		FinalDecision: final, EndTime: end.UTC().Format("2006-01-02T15:04:05"), // IDWise often sends no zone
		Documents: map[string]idwise.Document{"0": {DocumentType: "Passport", IssuingCountry: "ARE"}}})
}

// Issue 19, item 3: one reviewer's "Resubmission Requested" produces Updated Journey
// (action Manual Review), Verification Update Required and a re-sent Finished Journey, in
// any order (IDWise states no delivery order: https://docs.idwise.com/docs/webhooks-overview;
// Verification Update Required is sent "because a reviewer requested resubmission during
// manual review": https://docs.idwise.com/docs/verification-update-required-webhook). Every
// order ends RESUBMISSION_REQUIRED with the same steps and reason codes, whether or not the
// journey result shows the review's decision (the re-sent Finished Journey's result was
// decided before the request, so it is no answer to it).
func TestResubmissionReviewInAnyOrder(t *testing.T) {
	p := newPipeline(t)
	finished := time.Now().Add(-10 * time.Minute) // the journey's end_time, before the review
	wantReasons := []string{"step:0", "step:2", "reason:DOC_BLURRY", "reason:GLARE"}
	for _, variant := range []struct {
		name                  string
		system, manual, final string
	}{
		{"result shows Resubmission Requested", "Refer", "Resubmission Requested", "Resubmission Requested"},
		{"result still Refer", "Refer", "", "Refer"},
	} {
		for n, order := range permutations([]int{0, 1, 2}) {
			t.Run(fmt.Sprintf("%s/order %v", variant.name, order), func(t *testing.T) {
				jid, ref := fmt.Sprintf("rs-%d-%d", len(variant.manual), n), fmt.Sprintf("rs-r-%d-%d", len(variant.manual), n)
				p.result(jid, ref, "Refer", "", "Refer", finished)
				first, _ := p.deliver(body(idwise.FinishedJourney, jid+"-fj0", jid, ref, "systemDecision", "Refer"))
				p.mustProcess(first)
				if got := p.profile(ref).Status; got != kyc.InReview {
					t.Fatalf("before the review: %s, want IN_REVIEW", got)
				}
				p.messages()
				p.result(jid, ref, variant.system, variant.manual, variant.final, finished)
				deliveries := []string{
					body(idwise.UpdatedJourney, jid+"-uj", jid, ref, "action", "Manual Review", "systemDecision", "Refer",
						"manualReviewDetails", `{"journeyReviewDecision":"Resubmission Requested","journeyReviewReasonCode":"DOC_BLURRY",`+
							`"reviewedSteps":[{"stepId":"0","decision":"Resubmit","reasonCode":"DOC_BLURRY"},{"stepId":"1","decision":"Approve"},`+
							`{"stepId":"2","decision":"Resubmit","reasonCode":"GLARE"}]}`),
					body(idwise.VerificationUpdateRequired, jid+"-vur", jid, ref, "trigger", "Manual Review",
						"requiredSteps", `[{"stepId":"0","reasonCode":"DOC_BLURRY"},{"stepId":"2","reasonCode":"GLARE"}]`),
					body(idwise.FinishedJourney, jid+"-fj1", jid, ref, "systemDecision", "Refer", "manualDecision", variant.manual, "finalDecision", variant.final),
				}
				for _, i := range order {
					e, _ := p.deliver(deliveries[i])
					p.mustProcess(e)
				}
				got := p.profile(ref)
				if got.Status != kyc.ResubmissionRequired || !slices.Equal(got.Reasons, wantReasons) {
					t.Errorf("profile = %s %v, want RESUBMISSION_REQUIRED %v", got.Status, got.Reasons, wantReasons)
				}
				msgs := p.messages()
				if len(msgs) == 0 || msgs[len(msgs)-1].Status != kyc.ResubmissionRequired {
					t.Errorf("status events = %+v, want the last one RESUBMISSION_REQUIRED", msgs)
				}
			})
		}
	}
}

// An unknown decision fails the event loudly (UnknownDecision, alarmed in template.yaml)
// and leaves the status as it was, instead of IN_REVIEW.
func TestUnknownDecisionFailsTheEvent(t *testing.T) {
	p := newPipeline(t)
	p.approve("ud-j", "ud-r", "ud-fj0")
	p.messages()
	p.journey("ud-j", "ud-r", "Complete", "Escalated", "Escalated")
	e, _ := p.deliver(body(idwise.ManuallyReviewed, "ud-e1", "ud-j", "ud-r", "manualDecision", "Escalated", "finalDecision", "Escalated"))
	if err := p.process(e); err != nil {
		t.Fatalf("Process() = %v, want the event marked failed", err)
	}
	if state, _ := p.eventState(e); state != "failed" {
		t.Errorf("event state = %q, want failed", state)
	}
	if got := p.profile("ud-r"); got.Status != kyc.Approved {
		t.Errorf("profile = %s, want APPROVED kept", got.Status)
	}
	if !strings.Contains(p.emf.String(), `"UnknownDecision":1`) || !strings.Contains(p.emf.String(), `"event":"Manually Reviewed"`) {
		t.Errorf("EMF lacks UnknownDecision with the event dimension")
	}
	if msgs := p.messages(); len(msgs) != 0 {
		t.Errorf("status events = %+v, want none", msgs)
	}
}

// Issue 19, item 4: KYC renewal as a lifecycle with RenewalPolicy grace (the default).
// IDWise sends Verification Update Required with trigger "KYC Renewal" a grace period
// before the deadline (https://docs.idwise.com/docs/kyc-renewal: "Number of days before the
// deadline to send the Verification Update Required Webhook") and KYC Renewal Deadline
// Exceeded when it passes (https://docs.idwise.com/docs/kyc-renewal-deadline-exceeded-webhook:
// "restricting account access"); renewal re-opens the same journey ("without starting a
// new journey").
func TestKYCRenewalLifecycle(t *testing.T) {
	p := newPipeline(t)
	const jid, ref = "kr-j", "kr-r"
	p.result(jid, ref, "Complete", "", "Complete", time.Now().Add(-24*time.Hour))
	fj0, _ := p.deliver(body(idwise.FinishedJourney, "kr-fj0", jid, ref, "systemDecision", "Complete"))
	p.mustProcess(fj0)
	p.messages()

	// Stage 1: still APPROVED, due at the grace end (no step deadline), reasons, an event of
	// its own type and a "renew before" push in EN and AR.
	vur, _ := p.deliver(body(idwise.VerificationUpdateRequired, "kr-vur", jid, ref, "systemDecision", "Complete",
		"finalDecision", "Complete", "trigger", "KYC Renewal", "requiredSteps", `[{"stepId":"0","reasonCode":"DOCUMENT_EXPIRING"}]`))
	p.mustProcess(vur)
	wantDue := vur.ReceivedAt.Add(idwise.DefaultRenewalGrace).UTC().Truncate(time.Second)
	got := p.profile(ref)
	if got.Status != kyc.Approved || !got.RenewalDueBy.Equal(wantDue) || !slices.Equal(got.Reasons, []string{"renewal_due", "step:0"}) {
		t.Fatalf("after the renewal request: %s due %v %v, want APPROVED due %v [renewal_due step:0]", got.Status, got.RenewalDueBy, got.Reasons, wantDue)
	}
	msgs := p.messages()
	if len(msgs) != 1 || msgs[0].Type != kyc.RenewalDueType || msgs[0].Status != kyc.Approved || msgs[0].RenewalDueBy != wantDue.Format(time.RFC3339) {
		t.Fatalf("events = %+v, want one %s APPROVED renewalDueBy %s", msgs, kyc.RenewalDueType, wantDue.Format(time.RFC3339))
	}
	raw, _ := json.Marshal(msgs[0])
	ev, err := push.DecodeStatusEvent(raw) // what the push function reads from its queue
	if err != nil {
		t.Fatalf("push decoder refuses the renewal event: %v", err)
	}
	tpl, _ := push.DefaultTemplates()
	date := wantDue.Format("2006-01-02")
	for locale, want := range map[string]string{"en": "renew before " + date, "ar": "التجديد قبل " + date} {
		if text, err := tpl.Render(locale, ev); err != nil || !strings.Contains(text.Body, want) {
			t.Errorf("push text (%s) = %+v, %v; want it to contain %q", locale, text, err, want)
		}
	}

	// The Finished Journey IDWise re-sends with the old result is no renewal: still due.
	again, _ := p.deliver(body(idwise.FinishedJourney, "kr-fj0-again", jid, ref, "systemDecision", "Complete"))
	p.mustProcess(again)
	if got := p.profile(ref); got.Status != kyc.Approved || !got.RenewalDueBy.Equal(wantDue) {
		t.Errorf("after a re-sent Finished Journey: %s due %v, want APPROVED due %v kept", got.Status, got.RenewalDueBy, wantDue)
	}

	// Stage 2: the deadline passed.
	krde, _ := p.deliver(body(idwise.KYCRenewalDeadlineExceeded, "kr-krde", jid, ref,
		"requiredSteps", `[{"stepId":"0","renewalDeadline":"`+wantDue.Format(time.RFC3339)+`"}]`))
	p.mustProcess(krde)
	got = p.profile(ref)
	if got.Status != kyc.ResubmissionRequired || !got.RenewalDueBy.IsZero() || !slices.Equal(got.Reasons, []string{"renewal_deadline_exceeded", "step:0"}) {
		t.Errorf("after the deadline: %s due %v %v, want RESUBMISSION_REQUIRED, no due date, [renewal_deadline_exceeded step:0]", got.Status, got.RenewalDueBy, got.Reasons)
	}
	if msgs := p.messages(); len(msgs) != 1 || msgs[0].Type != kyc.EventType || msgs[0].Status != kyc.ResubmissionRequired {
		t.Errorf("events = %+v, want one status change to RESUBMISSION_REQUIRED", msgs)
	}

	// The user renews: the journey is decided again, after the request.
	p.result(jid, ref, "Complete", "", "Complete", time.Now().Add(time.Second))
	fj1, _ := p.deliver(body(idwise.FinishedJourney, "kr-fj1", jid, ref, "systemDecision", "Complete"))
	p.mustProcess(fj1)
	got = p.profile(ref)
	if got.Status != kyc.Approved || !got.RenewalDueBy.IsZero() || len(got.Reasons) != 0 {
		t.Errorf("after the renewal: %s due %v %v, want APPROVED, no due date, no reasons", got.Status, got.RenewalDueBy, got.Reasons)
	}
}

// A renewal completed within the grace period clears the due date without ever leaving
// APPROVED; the due date is the earliest step deadline when the steps give one.
func TestKYCRenewalCompletedInGrace(t *testing.T) {
	p := newPipeline(t)
	const jid, ref = "kg-j", "kg-r"
	p.result(jid, ref, "Complete", "", "Complete", time.Now().Add(-time.Hour))
	fj0, _ := p.deliver(body(idwise.FinishedJourney, "kg-fj0", jid, ref))
	p.mustProcess(fj0)
	vur, _ := p.deliver(body(idwise.VerificationUpdateRequired, "kg-vur", jid, ref, "trigger", "KYC Renewal",
		"requiredSteps", `[{"stepId":"0","renewalDeadline":"2030-02-01T00:00:00Z"},{"stepId":"1","renewalDeadline":"2030-01-15T00:00:00Z"}]`))
	p.mustProcess(vur)
	if got := p.profile(ref); !got.RenewalDueBy.Equal(time.Date(2030, 1, 15, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("renewalDueBy = %v, want the earliest step deadline 2030-01-15", got.RenewalDueBy)
	}
	p.messages()
	p.result(jid, ref, "Complete", "", "Complete", time.Now().Add(time.Second))
	fj1, _ := p.deliver(body(idwise.FinishedJourney, "kg-fj1", jid, ref))
	p.mustProcess(fj1)
	if got := p.profile(ref); got.Status != kyc.Approved || !got.RenewalDueBy.IsZero() {
		t.Errorf("after the renewal: %s due %v, want APPROVED without a due date", got.Status, got.RenewalDueBy)
	}
	if msgs := p.messages(); len(msgs) != 1 || msgs[0].Type != kyc.EventType || msgs[0].Status != kyc.Approved {
		t.Errorf("events = %+v, want one status event APPROVED (the due date cleared)", msgs)
	}
}

// RenewalPolicy strict: the first stage already asks for the resubmission (the behaviour
// before issue 19).
func TestKYCRenewalStrict(t *testing.T) {
	p := newPipeline(t, "RENEWAL_POLICY", "strict")
	p.approve("ks-j", "ks-r", "ks-fj0")
	vur, _ := p.deliver(body(idwise.VerificationUpdateRequired, "ks-vur", "ks-j", "ks-r", "trigger", "KYC Renewal",
		"requiredSteps", `[{"stepId":"0","reasonCode":"DOCUMENT_EXPIRING"}]`))
	p.mustProcess(vur)
	got := p.profile("ks-r")
	if got.Status != kyc.ResubmissionRequired || !got.RenewalDueBy.IsZero() || !slices.Equal(got.Reasons, []string{"step:0", "reason:DOCUMENT_EXPIRING"}) {
		t.Errorf("profile = %s due %v %v, want RESUBMISSION_REQUIRED [step:0 reason:DOCUMENT_EXPIRING] without a due date", got.Status, got.RenewalDueBy, got.Reasons)
	}
}

// The push queue's subscription lets profile.renewal_due through (its filter policy is on
// the type attribute).
func TestPushQueueTakesRenewalDue(t *testing.T) {
	tpl, err := provision.Load(dynamotest.TemplatePath())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range tpl.Subscriptions() {
		if s.EndpointLogicalID != "PushQueue" {
			continue
		}
		var policy map[string][]string
		if err := json.Unmarshal([]byte(s.FilterPolicy), &policy); err != nil {
			t.Fatalf("PushQueue filter policy %q: %v", s.FilterPolicy, err)
		}
		for _, typ := range []string{kyc.EventType, kyc.RenewalDueType} {
			if !slices.Contains(policy["type"], typ) {
				t.Errorf("PushQueue filter policy type = %v, want it to include %s", policy["type"], typ)
			}
		}
		return
	}
	t.Fatal("no subscription of PushQueue in template.yaml")
}

// Issue 19, item 6 (AML): an AML Monitor Update back to clear restores the APPROVED its own
// earlier update put in review, and nothing else; an update without
// updatedAMLVersionNumber is ordered by its reception time instead of dropped.
func TestAMLUpdateBackToClear(t *testing.T) {
	tests := []struct {
		name       string
		env        []string
		start      string // system decision of the onboarding Finished Journey
		updates    [][2]string
		wantStatus kyc.Status
	}{
		{name: "versioned: review then restore", start: "Complete",
			updates: [][2]string{{"Refer", "1"}, {"Complete", "2"}}, wantStatus: kyc.Approved},
		{name: "without versions: ordered by reception, not dropped", start: "Complete",
			updates: [][2]string{{"Refer", ""}, {"Complete", ""}}, wantStatus: kyc.Approved},
		{name: "configured to keep the review", env: []string{"AML_CLEAR_RESTORES", "false"}, start: "Complete",
			updates: [][2]string{{"Refer", "1"}, {"Complete", "2"}}, wantStatus: kyc.InReview},
		{name: "a clear update never approves a profile in review for another reason", start: "Refer",
			updates: [][2]string{{"Complete", "1"}}, wantStatus: kyc.InReview},
		{name: "an older version after the clear one is ignored", start: "Complete",
			updates: [][2]string{{"Refer", "1"}, {"Complete", "3"}, {"Refer", "2"}}, wantStatus: kyc.Approved},
	}
	for n, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPipeline(t, tt.env...)
			jid, ref := fmt.Sprintf("aml-j%d", n), fmt.Sprintf("aml-r%d", n)
			p.result(jid, ref, tt.start, "", tt.start, time.Now().Add(-time.Hour))
			fj, _ := p.deliver(body(idwise.FinishedJourney, jid+"-fj", jid, ref, "systemDecision", tt.start))
			p.mustProcess(fj)
			for i, u := range tt.updates {
				extra := []string{"systemDecision", u[0], "previousSystemDecision", map[string]string{"Refer": "Complete", "Complete": "Refer"}[u[0]]}
				if u[1] != "" {
					extra = append(extra, "updatedAMLVersionNumber", u[1])
				}
				p.result(jid, ref, u[0], "", u[0], time.Now().Add(-time.Hour))
				e, _ := p.deliver(body(idwise.AMLMonitorUpdate, fmt.Sprintf("%s-aml%d", jid, i), jid, ref, extra...))
				p.mustProcess(e)
				if i == 0 && tt.start == "Complete" {
					if got := p.profile(ref); got.Status != kyc.InReview || !slices.Equal(got.Reasons, []string{"aml_monitor_update"}) {
						t.Fatalf("after the first AML update: %s %v, want IN_REVIEW [aml_monitor_update]", got.Status, got.Reasons)
					}
				}
			}
			if got := p.profile(ref).Status; got != tt.wantStatus {
				t.Errorf("final status = %s, want %s", got, tt.wantStatus)
			}
		})
	}
}
