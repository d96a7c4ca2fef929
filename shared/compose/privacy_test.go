package compose_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/kycbackend/kyc/shared/vendors/idwise"
)

// The privacy test of issue 13: after a full IDWise journey and a full Veriff journey,
// every item of the table is scanned; personal values (names, dates of birth, document
// numbers, the end user's IP) appear only in journey items, in their allow-listed details.
// Everything else (inbox events, status history, profile, claims, markers) carries ids and
// decisions only.
func TestPersonalDataOnlyInJourneyDetails(t *testing.T) {
	w := defaultVeriffWorld(t)
	ctx := context.Background()

	// IDWise: the journey result carries the person (the webhooks never do).
	w.sim.SetJourney(idwise.Journey{JourneyID: "j-priv", ReferenceNumber: "ref-priv", SystemDecision: "Complete", FinalDecision: "Complete",
		Documents: map[string]idwise.Document{"0": {DocumentType: "Passport", IssuingCountry: "ARE",
			ExtractedFields: map[string]idwise.ExtractedField{
				"Full Name":       {Value: "Privacy Person"},
				"Date Of Birth":   {Value: "1985-04-03"},
				"Document Number": {Value: "P7654321"},
			}}}})
	for _, b := range []string{
		body(idwise.FinishedStep, "ev-p1", "j-priv", "ref-priv", "stepId", "0", "stepType", "Document"),
		body(idwise.FinishedUserSteps, "ev-p2", "j-priv", "ref-priv"),
		body(idwise.FinishedJourney, "ev-p3", "j-priv", "ref-priv"),
	} {
		e, _ := w.pipeline.deliver(b)
		w.mustProcess(e)
	}
	if p := w.profile("ref-priv"); p.Status != "APPROVED" {
		t.Fatalf("IDWise journey ended %s, want APPROVED", p.Status)
	}

	// Veriff: started, submitted, then the decision with person, document and technicalData.
	for _, b := range []string{
		`{"id":"sess-priv","attemptId":"a1","feature":"selfid","code":7001,"action":"started","vendorData":"ref-vpriv","endUserId":null}`,
		`{"id":"sess-priv","attemptId":"a1","feature":"selfid","code":7002,"action":"submitted","vendorData":"ref-vpriv","endUserId":null}`,
		veriffDecision("sess-priv", "a1", "ref-vpriv", 9001, "approved", time.Now()),
	} {
		w.mustProcess(w.deliver(b))
	}
	if p := w.profile("ref-vpriv"); p.Status != "APPROVED" {
		t.Fatalf("Veriff session ended %s, want APPROVED", p.Status)
	}

	personal := []string{"Privacy Person", "1985-04-03", "P7654321", // IDWise journey result
		"TEST", "PERSON", "1990-01-01", "TEST0000000", "192.0.2.10"} // Veriff decision
	out, err := w.ddb.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(w.table), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	inDetails := 0
	for _, item := range out.Items {
		kind := ""
		if k, ok := item["kind"].(*types.AttributeValueMemberS); ok {
			kind = k.Value
		}
		for name, v := range item {
			text := flatten(v)
			for _, pii := range personal {
				if !strings.Contains(text, pii) {
					continue
				}
				if kind == "journey" && name == "details" {
					inDetails++
					continue
				}
				t.Errorf("item %s (kind %s) attribute %s holds the personal value %q", flatten(item["pk"]), kind, name, pii)
			}
		}
	}
	if inDetails < 3 {
		t.Errorf("personal values found in journey details %d times, want the IDWise person's 3 allow-listed fields (the scan must see them)", inDetails)
	}
}

// flatten is every string and binary value under v, joined.
func flatten(v types.AttributeValue) string {
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		return x.Value
	case *types.AttributeValueMemberB:
		return string(x.Value)
	case *types.AttributeValueMemberSS:
		return strings.Join(x.Value, " ")
	case *types.AttributeValueMemberM:
		var b strings.Builder
		for k, e := range x.Value {
			b.WriteString(k + "=" + flatten(e) + " ")
		}
		return b.String()
	case *types.AttributeValueMemberL:
		var b strings.Builder
		for _, e := range x.Value {
			b.WriteString(flatten(e) + " ")
		}
		return b.String()
	}
	return ""
}
