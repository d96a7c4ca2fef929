package veriffsim_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kycbackend/kyc/shared/vendors/veriff"
	"github.com/kycbackend/kyc/shared/vendors/veriff/veriffsim"
)

// The control endpoints: PUT a decision, then make the simulator POST it as Veriff signs
// webhooks; the receiver sees the API key and the HMAC of the exact body.
func TestControlEndpoints(t *testing.T) {
	var got []byte
	var gotKey, gotSig string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
		gotKey, gotSig = r.Header.Get("X-AUTH-CLIENT"), r.Header.Get("X-HMAC-SIGNATURE")
	}))
	defer hook.Close()
	sim := veriffsim.New(veriffsim.Config{APIKey: "k", SharedSecret: "s"})
	srv := httptest.NewServer(sim)
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/sessions", strings.NewReader(`{"verification":{"vendorData":"ref-7"}}`))
	req.Header.Set("X-AUTH-CLIENT", "k")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /v1/sessions = %v %v, want 201", resp, err)
	}
	id := sim.Sessions()[0].ID

	put, _ := http.NewRequest(http.MethodPut, srv.URL+"/_sim/sessions/"+id+"/decision?status=declined", nil)
	if resp, err := http.DefaultClient.Do(put); err != nil || resp.StatusCode != 200 {
		t.Fatalf("PUT decision = %v %v", resp, err)
	}
	resp, err = http.Post(srv.URL+"/_sim/sessions/"+id+"/webhook?url="+url.QueryEscape(hook.URL), "", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST webhook = %v %v", resp, err)
	}
	w, err := veriff.Parse(got)
	if err != nil || w.Code != veriff.CodeDeclined || w.VendorData != "ref-7" || gotKey != "k" || gotSig != veriff.Sign("s", got) {
		t.Errorf("webhook = %+v %v key %q sig %q, want the signed declined decision of ref-7", w, err, gotKey, gotSig)
	}
	if s := sim.Sessions(); len(s) != 1 || !s[0].Decided || s[0].VendorData != "ref-7" {
		t.Errorf("Sessions() = %+v, want one decided session of ref-7", s)
	}
	// Without the API key, no session.
	resp, _ = http.Post(srv.URL+"/v1/sessions", "application/json", strings.NewReader(`{"verification":{}}`))
	if resp.StatusCode != http.StatusUnauthorized || len(sim.Sessions()) != 1 {
		t.Errorf("unauthenticated POST /v1/sessions = %d, %d sessions; want 401 and none created", resp.StatusCode, len(sim.Sessions()))
	}
}

// With integrations, a session belongs to the integration whose API key created it: its
// decision webhook is signed with that integration's key and secret (the PoA one for a
// proof-of-address session), so the product can tell the two apart.
func TestIntegrationsSignTheirOwnSessions(t *testing.T) {
	var gotKey, gotSig string
	var got []byte
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
		gotKey, gotSig = r.Header.Get("X-AUTH-CLIENT"), r.Header.Get("X-HMAC-SIGNATURE")
	}))
	defer hook.Close()
	sim := veriffsim.New(veriffsim.Config{Integrations: []veriff.Integration{
		{Name: "idv", Product: veriff.ProductIdentity, APIKey: "k-idv", SharedSecret: "s-idv"},
		{Name: "poa", Product: veriff.ProductProofOfAddress, APIKey: "k-poa", SharedSecret: "s-poa"},
	}})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	for _, key := range []string{"k-poa", "k-idv"} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/sessions", strings.NewReader(`{"verification":{"vendorData":"ref-8"}}`))
		req.Header.Set("X-AUTH-CLIENT", key)
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST /v1/sessions with %s = %v %v, want 201", key, resp, err)
		}
	}
	for _, s := range sim.Sessions() {
		d, _ := sim.Decision(s.ID, "declined", time.Now())
		if err := sim.SetDecision(s.ID, d); err != nil {
			t.Fatal(err)
		}
		if _, err := sim.SendDecision(context.Background(), s.ID, hook.URL); err != nil {
			t.Fatal(err)
		}
		wantKey, wantSecret := "k-"+s.Integration, "s-"+s.Integration
		if gotKey != wantKey || gotSig != veriff.Sign(wantSecret, got) {
			t.Errorf("session of %s signed with key %q sig %q, want %s and its secret", s.Integration, gotKey, gotSig, wantKey)
		}
	}
	if s := sim.Sessions(); len(s) != 2 || s[0].Integration == s[1].Integration {
		t.Errorf("Sessions() = %+v, want one session per integration", s)
	}
}
