package appapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/edge/appapi"
)

// checkStore holds checks by referenceNo.
type checkStore struct {
	checks map[string][]kyc.Check
	err    error
}

func (c checkStore) Checks(_ context.Context, ref string) ([]kyc.Check, error) {
	return c.checks[ref], c.err
}

// GET /v1/profiles shows the caller's checks beside the status (checks.proofOfAddress),
// never another user's; without any, no checks member; a failed read is a 500.
func TestGetProfileShowsChecks(t *testing.T) {
	at := time.Date(2026, 5, 2, 9, 30, 11, 0, time.UTC)
	store := checkStore{checks: map[string][]kyc.Check{
		"alice": {{ReferenceNo: "alice", Name: kyc.CheckProofOfAddress, Decision: "declined", SessionID: "s-poa", DecidedAt: at, Version: 1}},
		"bob":   {{ReferenceNo: "bob", Name: kyc.CheckProofOfAddress, Decision: "approved", SessionID: "s-bob", DecidedAt: at, Version: 1}},
	}}
	tests := []struct {
		name       string
		ref        string
		store      checkStore
		wantStatus int
		want       map[string]appapi.CheckView
	}{
		{"own check", "alice", store, 200, map[string]appapi.CheckView{"proofOfAddress": {Decision: "declined", SessionID: "s-poa", DecidedAt: "2026-05-02T09:30:11Z"}}},
		{"no check", "carol", store, 200, nil},
		{"checks unreadable", "alice", checkStore{err: errors.New("dynamodb down")}, 500, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakes()
			f.profiles[tt.ref] = kyc.Profile{ReferenceNo: tt.ref, Status: kyc.Approved, JourneyID: "s-idv", Provider: "veriff", UpdatedAt: at}
			h := appapi.New(appapi.Config{}, appapi.Deps{Profiles: f, Statuses: f, Devices: f, Claims: f, Erasures: f, Limiter: f, Checks: tt.store})
			req := request(appapi.RouteGetProfile, tt.ref, "")
			req.PathParameters = map[string]string{"referenceNo": tt.ref}
			resp, err := h.Handle(context.Background(), req)
			if err != nil || resp.StatusCode != tt.wantStatus {
				t.Fatalf("GET /v1/profiles/%s = %d %s, %v; want %d", tt.ref, resp.StatusCode, resp.Body, err, tt.wantStatus)
			}
			if tt.wantStatus != 200 {
				return
			}
			var v appapi.ProfileView
			if err := json.Unmarshal([]byte(resp.Body), &v); err != nil {
				t.Fatal(err)
			}
			if len(v.Checks) != len(tt.want) || v.Checks["proofOfAddress"] != tt.want["proofOfAddress"] || v.Status != kyc.Approved {
				t.Errorf("profile = %+v, want status APPROVED and checks %+v", v, tt.want)
			}
			var raw map[string]json.RawMessage
			_ = json.Unmarshal([]byte(resp.Body), &raw)
			if _, ok := raw["checks"]; ok != (tt.want != nil) {
				t.Errorf("body %s: checks member present %v, want %v", resp.Body, ok, tt.want != nil)
			}
		})
	}
}
