package appapi_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/edge/appapi"
)

// GET /v1/profiles/{ref} shows renewalDueBy (RFC 3339) while a KYC renewal is due, and
// leaves the field out otherwise (issue 19; openapi.yaml Profile.renewalDueBy).
func TestGetProfileShowsTheRenewalDueDate(t *testing.T) {
	due := time.Date(2026, 9, 15, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name    string
		due     time.Time
		want    string
		present bool
	}{
		{"renewal due", due, "2026-09-15T00:00:00Z", true},
		{"no renewal due", time.Time{}, "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakes()
			f.profiles["r1"] = kyc.Profile{ReferenceNo: "r1", Status: kyc.Approved, JourneyID: "j1", Provider: "idwise",
				Reasons: []string{"renewal_due", "step:0"}, RenewalDueBy: tt.due}
			req := request(appapi.RouteGetProfile, "r1", "")
			req.PathParameters = map[string]string{"referenceNo": "r1"}
			resp, err := handler(f, false).Handle(context.Background(), req)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("GET profile = %d %s, %v", resp.StatusCode, resp.Body, err)
			}
			var body map[string]any
			if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
				t.Fatal(err)
			}
			got, present := body["renewalDueBy"]
			if present != tt.present || (tt.present && got != tt.want) {
				t.Errorf("renewalDueBy = %v (present %v), want %q (present %v)", got, present, tt.want, tt.present)
			}
		})
	}
}
