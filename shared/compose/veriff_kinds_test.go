package compose_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/vendors/veriff"
)

func veriffFullAuto(session, ref, decision string, decided time.Time) string {
	return fmt.Sprintf(`{"status":"success","eventType":"fullauto","sessionId":%q,"attemptId":"a1","vendorData":%q,"endUserId":null,"version":"1.0.0",`+
		`"time":%q,"data":{"verification":{"decision":%q,"decisionScore":0.93,"person":{"firstName":{"value":"TEST"},"lastName":{"value":"PERSON"},`+
		`"dateOfBirth":{"value":"1990-01-01"}},"document":{"number":{"value":"TEST0000000"}},"insights":null}}}`,
		session, ref, decided.UTC().Format(time.RFC3339Nano), decision)
}

func veriffWatchlist(session, ref, match string, hits int) string {
	h := make([]string, hits)
	for i := range h {
		h[i] = `{"matchedName":"TEST PERSON","countries":["EE"],"dateOfBirth":"1990"}`
	}
	return fmt.Sprintf(`{"checkType":"updated_result","attemptId":"a1","sessionId":%q,"vendorData":%q,"matchStatus":%q,`+
		`"searchTerm":{"name":"TEST PERSON","year":"1990"},"totalHits":%d,"hits":[%s]}`, session, ref, match, hits, strings.Join(h, ","))
}

func veriffUserDefined(session string) string {
	return fmt.Sprintf(`{"data":{"verification":{"id":%q,"userDefinedData":{"status":"escalated"}}},"eventType":"user_defined_status","attemptId":"a1","time":"2026-05-02T09:00:00Z"}`, session)
}

// Issue 14 items 7-11: one journey per new webhook kind through the real webhook function
// and processor on the emulators, ending in the status the policy table says.
func TestVeriffNewKindsJourneys(t *testing.T) {
	w := defaultVeriffWorld(t)
	now := time.Now()
	tests := []struct {
		name     string
		bodies   func(session, ref string) []string
		want     kyc.Status // "" = no profile
		reasons  string
		statuses string
	}{
		{"full auto approved (Essential plan)", func(s, r string) []string { return []string{veriffFullAuto(s, r, "approved", now)} },
			kyc.Approved, "", "APPROVED"},
		{"full auto declined", func(s, r string) []string { return []string{veriffFullAuto(s, r, "declined", now)} },
			kyc.Rejected, "", "REJECTED"},
		{"approved, then a watchlist possible match", func(s, r string) []string {
			return []string{veriffDecision(s, "a1", r, 9001, "approved", now), veriffWatchlist(s, r, "possible_match", 3)}
		}, kyc.InReview, "watchlist:possible_match", "APPROVED,IN_REVIEW"},
		{"approved, then a watchlist no match", func(s, r string) []string {
			return []string{veriffDecision(s, "a1", r, 9001, "approved", now), veriffWatchlist(s, r, "no_match", 0)}
		}, kyc.Approved, "", "APPROVED"},
		{"approved, then a user-defined status", func(s, r string) []string {
			return []string{veriffDecision(s, "a1", r, 9001, "approved", now), veriffUserDefined(s)}
		}, kyc.Approved, "", "APPROVED"},
		{"desktop-to-phone handover, then submitted", func(s, r string) []string {
			return []string{veriffEvent(s, "a1", r, 7010, "flow_cancelled", veriff.ReasonMobileHandoverScreenShown, "mobile_handover_shown"),
				veriffEvent(s, "a1", r, 7002, "submitted")}
		}, kyc.PendingVerification, "", "PENDING_VERIFICATION"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			session, ref := fmt.Sprintf("sess-kind-%d", i), fmt.Sprintf("ref-kind-%d", i)
			evs := w.deliverAndProcess(tt.bodies(session, ref)...)
			for _, e := range evs {
				if state, _ := w.eventState(e); state != "processed" {
					t.Errorf("%s state = %q, want processed", e.Name, state)
				}
			}
			p := w.profile(ref)
			if p.Status != tt.want || strings.Join(p.Reasons, ",") != tt.reasons || p.JourneyID != session {
				t.Errorf("profile = %+v, want %s with reasons %q", p, tt.want, tt.reasons)
			}
			if got := statuses(w.messages()); got != tt.statuses {
				t.Errorf("status events = %s, want %s", got, tt.statuses)
			}
		})
	}
}

// The watchlist hits are counted, never stored: not in the inbox body, not in the journey.
func TestVeriffWatchlistHitsNeverStored(t *testing.T) {
	w := defaultVeriffWorld(t)
	evs := w.deliverAndProcess(veriffDecision("sess-hits", "a1", "ref-hits", 9001, "approved", time.Now()),
		veriffWatchlist("sess-hits", "ref-hits", "possible_match", 2))
	e := evs[1]
	if e.Attributes["hits"] != "2" || strings.Contains(string(e.Body), "TEST PERSON") || strings.Contains(string(e.Body), "hits\":[") {
		t.Errorf("stored event attributes %v body %s: want 2 hits counted and none stored", e.Attributes, e.Body)
	}
	j, _, err := w.proc.Store.Journey(context.Background(), veriff.Provider, "sess-hits")
	if err != nil || j.Decisions["watchlistHits"] != "2" || j.Decisions["watchlistMatchStatus"] != "possible_match" {
		t.Errorf("journey decisions = %v %v, want the match status and the count", j.Decisions, err)
	}
	w.privacyScan(t, "TEST PERSON", "1990")
}

// Issue 14 item 10: valid JSON of a kind we do not know is 200, stored not processable,
// and skipped; invalid JSON stays 400 and quarantined.
func TestVeriffUnknownKindStored(t *testing.T) {
	w := defaultVeriffWorld(t)
	body := `{"status":"success","eventType":"proof_of_address","sessionId":"sess-poa","vendorData":"ref-poa","data":{"proofOfAddress":{"fullAddress":"1 TEST STREET"}}}`
	status, a := w.send(body)
	if status != 200 || a.Status != "accepted" {
		t.Fatalf("delivery = %d %+v, want 200 accepted", status, a)
	}
	e, found, err := w.inbox.Event(context.Background(), veriff.Provider, a.EventID)
	if err != nil || !found || e.Processable || e.Name != "unknown" || e.JourneyID != "sess-poa" {
		t.Fatalf("stored = %+v %v %v, want not processable, named unknown, of sess-poa", e, found, err)
	}
	if state, pending := w.eventState(e); state != "unprocessable" || pending != "" {
		t.Errorf("state = %q pending %q, want unprocessable and out of the unprocessed index", state, pending)
	}
	if status, _ := w.send(`{"sessionId":`); status != 400 {
		t.Errorf("invalid JSON = %d, want 400", status)
	}
}

// Issue 13 item 7: a decision with person, document and technicalData is stored without
// them (inbox and quarantine), the configured extra sections too; dedup stays on the hash
// of the raw bytes.
func TestVeriffPersonalDataStripped(t *testing.T) {
	w := defaultVeriffWorld(t, "VERIFF_STRIP_FIELDS", "comments, additionalVerifiedData")
	body := strings.Replace(veriffDecision("sess-strip", "a1", "ref-strip", 9001, "approved", time.Now()),
		`"decisionTime"`, `"comments":[{"type":"TEST PERSON"}],"decisionTime"`, 1)
	e := w.deliver(body)
	if e.EventID != inbox.Hash([]byte(body)) || e.BodyHash != inbox.Hash([]byte(body)) {
		t.Errorf("event id %s body hash %s, want both the raw hash %s", e.EventID, e.BodyHash, inbox.Hash([]byte(body)))
	}
	for _, pii := range []string{"TEST", "PERSON", "1990-01-01", "TEST0000000", "192.0.2.10", "comments"} {
		if strings.Contains(string(e.Body), pii) {
			t.Errorf("stored body carries %q: %s", pii, e.Body)
		}
	}
	if !strings.Contains(string(e.Body), `"code":9001`) {
		t.Errorf("stored body %s lost the decision", e.Body)
	}
	// The retry of the same bytes is a duplicate, though the stored body differs from them.
	if _, a := w.send(body); a.Status != "duplicate" {
		t.Errorf("retry = %+v, want duplicate", a)
	}
	// A decision we cannot use (no session id) is quarantined without the person either.
	bad := `{"status":"success","verification":{"code":9001,"person":{"firstName":"TEST","lastName":"PERSON"},"document":{"number":"TEST0000000"}},"technicalData":{"ip":"192.0.2.10"}}`
	if status, _ := w.send(bad); status != 400 {
		t.Fatalf("undecodable decision = %d, want 400", status)
	}
	w.mustProcess(e)
	w.privacyScan(t, "TEST", "PERSON", "1990-01-01", "TEST0000000", "192.0.2.10")
}

// privacyScan fails when any item of the table holds one of the values.
func (w *veriffWorld) privacyScan(t *testing.T, values ...string) {
	t.Helper()
	out, err := w.ddb.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(w.table), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	for _, item := range out.Items {
		for name, v := range item {
			s := flatten(v)
			for _, pii := range values {
				if strings.Contains(s, pii) {
					t.Errorf("item %s attribute %s holds %q", flatten(item["pk"]), name, pii)
				}
			}
		}
	}
}
