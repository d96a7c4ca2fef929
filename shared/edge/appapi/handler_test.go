package appapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/kycbackend/kyc/shared/core/devices"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/core/processor"
	"github.com/kycbackend/kyc/shared/edge/appapi"
)

// fakes records what the handler asked of its ports.
type fakes struct {
	mu                    sync.Mutex
	claims                map[string]kyc.Claim
	profiles              map[string]kyc.Profile
	erased                map[string]bool
	counts                map[string]int
	applied               []kyc.Change
	sessions              []string // referenceNo of each created session
	products              []string // product of each created session
	contenders            []string // referenceNo@journeyId of each contender recorded
	failVeriff, failStore bool
}

func newFakes() *fakes {
	return &fakes{claims: map[string]kyc.Claim{}, profiles: map[string]kyc.Profile{}, erased: map[string]bool{}, counts: map[string]int{}}
}

func (f *fakes) PutClaim(_ context.Context, c kyc.Claim) (kyc.Claim, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failStore {
		return kyc.Claim{}, false, errors.New("dynamodb down")
	}
	k := c.Provider + "#" + c.JourneyID
	if old, ok := f.claims[k]; ok {
		return old, false, nil
	}
	f.claims[k] = c
	return c, true, nil
}

func (f *fakes) ReplaceClaim(_ context.Context, old, c kyc.Claim) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := c.Provider + "#" + c.JourneyID
	if cur, ok := f.claims[k]; ok && cur.ReferenceNo != old.ReferenceNo {
		return false, nil
	}
	f.claims[k] = c
	return true, nil
}

func (f *fakes) PutContender(_ context.Context, c kyc.Claim) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.contenders = append(f.contenders, c.ReferenceNo+"@"+c.JourneyID)
	return nil
}

func (f *fakes) Erased(_ context.Context, ref string) (bool, error) { return f.erased[ref], nil }

func (f *fakes) Allow(_ context.Context, ref, action string, limit int, _ time.Duration) (bool, time.Duration, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.counts[ref+action] >= limit {
		return false, 42 * time.Second, nil
	}
	f.counts[ref+action]++
	return true, 0, nil
}

func (f *fakes) Profile(_ context.Context, ref string) (kyc.Profile, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.profiles[ref]
	return p, ok, nil
}

func (f *fakes) Apply(_ context.Context, c kyc.Change, _ processor.Guard) (*kyc.StatusEvent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.erased[c.ReferenceNo] {
		return nil, processor.ErrErased
	}
	f.applied = append(f.applied, c)
	f.profiles[c.ReferenceNo] = kyc.Profile{ReferenceNo: c.ReferenceNo, Status: c.Status, JourneyID: c.JourneyID, Provider: c.Provider}
	ev := kyc.NewStatusEvent(c, "")
	return &ev, nil
}

func (f *fakes) Register(context.Context, string, devices.Registration) (devices.Result, error) {
	return devices.Result{Created: true, Device: devices.Device{DeviceID: "d1", Platform: devices.FCM}}, nil
}

func (f *fakes) Remove(context.Context, string, string) error { return nil }

func (f *fakes) CreateSession(_ context.Context, ref string, r appapi.SessionRequest) (appapi.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failVeriff {
		return appapi.Session{}, errors.New("veriff 503")
	}
	f.sessions = append(f.sessions, ref)
	f.products = append(f.products, r.Product)
	id := fmt.Sprintf("sess-%d", len(f.sessions))
	return appapi.Session{ID: id, URL: "https://alchemy.veriff.com/v/" + id}, nil
}

func handler(f *fakes, withVeriff bool) *appapi.Handler {
	d := appapi.Deps{Profiles: f, Statuses: f, Devices: f, Claims: f, Erasures: f, Limiter: f}
	if withVeriff {
		d.Sessions = f
	}
	return appapi.New(appapi.Config{Limits: appapi.Limits{JourneysPerHour: 3, DevicesPerHour: 2, VeriffSessionsPerHour: 2},
		CallbackHosts: []string{"app.example.com"}}, d)
}

func request(route, ref, body string) events.APIGatewayV2HTTPRequest {
	r := events.APIGatewayV2HTTPRequest{RouteKey: route, Body: body, Headers: map[string]string{"content-type": "application/json"}}
	if ref != "" {
		r.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": ref}}}
	}
	return r
}

func errorCode(t *testing.T, body string) string {
	t.Helper()
	var e struct{ Error struct{ Code string } }
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	return e.Error.Code
}

func journey(ref, journeyID string) string {
	return fmt.Sprintf(`{"journeyId":%q,"referenceNo":%q}`, journeyID, ref)
}

// Claims of POST /v1/journeys, played by their owner and by attackers.
func TestPostJourneyClaims(t *testing.T) {
	type call struct {
		caller, body string
		wantStatus   int
		wantCode     string
	}
	tests := []struct {
		name        string
		erased      string
		calls       []call
		wantApplied int // status changes written
		wantOwner   string
	}{
		{name: "first claim", calls: []call{{"alice", journey("alice", "j1"), 200, ""}}, wantApplied: 1, wantOwner: "alice"},
		{name: "same user again changes nothing", calls: []call{{"alice", journey("alice", "j1"), 200, ""}, {"alice", journey("alice", "j1"), 200, ""}},
			wantApplied: 1, wantOwner: "alice"},
		{name: "another user gets 409", calls: []call{{"alice", journey("alice", "j1"), 200, ""}, {"mallory", journey("mallory", "j1"), 409, "journey_claimed"}},
			wantApplied: 1, wantOwner: "alice"},
		{name: "a claim in someone else's name is refused", calls: []call{{"mallory", journey("alice", "j1"), 403, "forbidden"}}, wantApplied: 0},
		{name: "erased profile keeps its 410", erased: "alice", calls: []call{{"alice", journey("alice", "j1"), 410, "erased"}}, wantApplied: 0},
		{name: "per-user limit", calls: []call{{"alice", journey("alice", "j1"), 200, ""}, {"alice", journey("alice", "j2"), 200, ""},
			{"alice", journey("alice", "j3"), 200, ""}, {"alice", journey("alice", "j4"), 429, "rate_limited"}, {"bob", journey("bob", "j5"), 200, ""}},
			wantApplied: 4},
		{name: "bad journey id", calls: []call{{"alice", journey("alice", "j 1"), 400, "invalid_field"}}, wantApplied: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakes()
			if tt.erased != "" {
				f.erased[tt.erased] = true
			}
			h := handler(f, false)
			for _, c := range tt.calls {
				resp, err := h.Handle(context.Background(), request(appapi.RoutePostJourney, c.caller, c.body))
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != c.wantStatus || (c.wantCode != "" && errorCode(t, resp.Body) != c.wantCode) {
					t.Errorf("%s posts %s = %d %s, want %d %s", c.caller, c.body, resp.StatusCode, resp.Body, c.wantStatus, c.wantCode)
				}
				if resp.StatusCode == 429 && resp.Headers["retry-after"] != "43" {
					t.Errorf("429 Retry-After = %q, want 43", resp.Headers["retry-after"])
				}
			}
			if len(f.applied) != tt.wantApplied {
				t.Errorf("status changes = %d (%+v), want %d", len(f.applied), f.applied, tt.wantApplied)
			}
			if tt.wantOwner != "" && f.claims["idwise#j1"].ReferenceNo != tt.wantOwner {
				t.Errorf("claim of j1 = %+v, want owner %s", f.claims["idwise#j1"], tt.wantOwner)
			}
			if _, ok := f.profiles["mallory"]; ok {
				t.Errorf("mallory's profile moved: %+v", f.profiles["mallory"])
			}
		})
	}
}

func TestPostVeriffSession(t *testing.T) {
	tests := []struct {
		name       string
		veriff     bool
		failVeriff bool
		erased     bool
		body       string
		calls      int
		wantStatus int
		wantCode   string
		product    string
	}{
		{name: "created and claimed", veriff: true, body: "", calls: 1, wantStatus: 201, product: "identity"},
		{name: "proof of address", veriff: true, body: `{"product":"proof_of_address"}`, calls: 1, wantStatus: 201, product: "proof_of_address"},
		{name: "identity named", veriff: true, body: `{"product":"identity"}`, calls: 1, wantStatus: 201, product: "identity"},
		{name: "unknown product", veriff: true, body: `{"product":"aml"}`, calls: 1, wantStatus: 400, wantCode: "invalid_field"},
		{name: "callback to a host not allowed", veriff: true, body: `{"callback":"https://evil.example.net/done"}`, calls: 1, wantStatus: 400, wantCode: "invalid_field"},
		{name: "with a language and callback", veriff: true, body: `{"lang":"pt-BR","callback":"https://app.example.com/done"}`, calls: 1, wantStatus: 201, product: "identity"},
		{name: "not configured", veriff: false, calls: 1, wantStatus: 404, wantCode: "not_found"},
		{name: "veriff down", veriff: true, failVeriff: true, calls: 1, wantStatus: 502, wantCode: "vendor_unavailable"},
		{name: "erased", veriff: true, erased: true, calls: 1, wantStatus: 410, wantCode: "erased"},
		{name: "bad lang", veriff: true, body: `{"lang":"english please"}`, calls: 1, wantStatus: 400, wantCode: "invalid_field"},
		{name: "http callback", veriff: true, body: `{"callback":"http://app.example.com/done"}`, calls: 1, wantStatus: 400, wantCode: "invalid_field"},
		{name: "over the hourly limit", veriff: true, calls: 3, wantStatus: 429, wantCode: "rate_limited"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakes()
			f.failVeriff, f.erased["alice"] = tt.failVeriff, tt.erased
			h := handler(f, tt.veriff)
			var resp events.APIGatewayV2HTTPResponse
			for range tt.calls {
				var err error
				resp, err = h.Handle(context.Background(), request(appapi.RoutePostSession, "alice", tt.body))
				if err != nil {
					t.Fatal(err)
				}
			}
			if resp.StatusCode != tt.wantStatus || (tt.wantCode != "" && errorCode(t, resp.Body) != tt.wantCode) {
				t.Fatalf("POST /v1/veriff/sessions = %d %s, want %d %s", resp.StatusCode, resp.Body, tt.wantStatus, tt.wantCode)
			}
			if tt.wantStatus != 201 {
				if tt.wantStatus != 429 && len(f.claims) != 0 {
					t.Errorf("claims after a refused request = %v, want none", f.claims)
				}
				return
			}
			var v appapi.SessionView
			if err := json.Unmarshal([]byte(resp.Body), &v); err != nil || v.SessionID == "" || !strings.HasPrefix(v.URL, "https://") || v.Provider != "veriff" {
				t.Fatalf("body %s, want sessionId, url, provider veriff", resp.Body)
			}
			c, ok := f.claims["veriff#"+v.SessionID]
			if !ok || c.ReferenceNo != "alice" || c.Source != kyc.ClaimBySession {
				t.Errorf("claim of the session = %+v, want alice's, by session", c)
			}
			if len(f.sessions) != 1 || f.sessions[0] != "alice" {
				t.Errorf("sessions created for %v, want [alice] (vendorData = the caller)", f.sessions)
			}
			if len(f.products) != 1 || f.products[0] != tt.product {
				t.Errorf("sessions created with products %v, want [%s]", f.products, tt.product)
			}
		})
	}
}

func TestDeviceRegistrationLimit(t *testing.T) {
	f := newFakes()
	h := handler(f, false)
	body := `{"platform":"FCM","token":"t"}`
	var codes []int
	for range 3 {
		resp, _ := h.Handle(context.Background(), request(appapi.RoutePostDevice, "alice", body))
		codes = append(codes, resp.StatusCode)
	}
	if fmt.Sprint(codes) != "[201 201 429]" {
		t.Errorf("three registrations with a limit of 2 = %v, want [201 201 429]", codes)
	}
}

func TestNoTokenIsUnauthorized(t *testing.T) {
	resp, _ := handler(newFakes(), true).Handle(context.Background(), request(appapi.RoutePostSession, "", ""))
	if resp.StatusCode != 401 {
		t.Errorf("no claims = %d, want 401", resp.StatusCode)
	}
}

// Issue 20: a second claimer of an unverified journey gets 409 and is kept as a contender;
// a claim the vendor rejected gives way to the vendor's reference (200), to nobody else;
// a confirmed claim or a backend-created session takes no contender.
func TestPostJourneyContestedClaims(t *testing.T) {
	tests := []struct {
		name           string
		existing       kyc.Claim
		caller         string
		wantStatus     int
		wantOwner      string
		wantContenders []string
	}{
		{"unverified: 409, contender kept", kyc.Claim{ReferenceNo: "squatter", Source: kyc.ClaimByApp}, "victim", 409, "squatter", []string{"victim@j1"}},
		{"confirmed: 409, no contender", kyc.Claim{ReferenceNo: "owner", Source: kyc.ClaimByApp, State: kyc.ClaimConfirmed}, "mallory", 409, "owner", nil},
		{"session: 409, no contender", kyc.Claim{ReferenceNo: "owner", Source: kyc.ClaimBySession}, "mallory", 409, "owner", nil},
		{"rejected for the caller: replaced", kyc.Claim{ReferenceNo: "squatter", Source: kyc.ClaimByApp, State: kyc.ClaimRejected, VendorReferenceNo: "victim"}, "victim", 200, "victim", nil},
		{"rejected for someone else: 409", kyc.Claim{ReferenceNo: "squatter", Source: kyc.ClaimByApp, State: kyc.ClaimRejected, VendorReferenceNo: "victim"}, "mallory", 409, "squatter", []string{"mallory@j1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakes()
			c := tt.existing
			c.Provider, c.JourneyID = "idwise", "j1"
			f.claims["idwise#j1"] = c
			resp, err := handler(f, false).Handle(context.Background(), request(appapi.RoutePostJourney, tt.caller, journey(tt.caller, "j1")))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("POST /v1/journeys by %s = %d %s, want %d", tt.caller, resp.StatusCode, resp.Body, tt.wantStatus)
			}
			if got := f.claims["idwise#j1"].ReferenceNo; got != tt.wantOwner {
				t.Errorf("claimer = %s, want %s", got, tt.wantOwner)
			}
			if fmt.Sprint(f.contenders) != fmt.Sprint(tt.wantContenders) {
				t.Errorf("contenders = %v, want %v", f.contenders, tt.wantContenders)
			}
		})
	}
}
