// Package veriffsim simulates the part of the Veriff REST API the product calls, for tests
// and the local runner (make run, VERIFF_SIM_PORT):
//
//	POST /v1/sessions                 X-AUTH-CLIENT; records vendorData; 201 {status, verification: {id, url, ...}}
//	GET  /v1/sessions/{id}/decision   X-AUTH-CLIENT and X-HMAC-SIGNATURE (HMAC of the id); {status, verification}
//
// and test-only control endpoints under /_sim/:
//
//	GET  /_sim/sessions                       the sessions created, with their vendorData
//	PUT  /_sim/sessions/{id}/decision         the body is the decision to answer (a decision webhook body);
//	                                          or ?status=approved|declined|... builds one for the session
//	POST /_sim/sessions/{id}/webhook?url=U    POST the decision to U signed as Veriff signs webhooks
//
// It keeps no global state.
package veriffsim

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kycbackend/kyc/shared/vendors/veriff"
)

// Config configures a simulated Veriff API.
type Config struct {
	APIKey       string
	SharedSecret string
	// Integrations, when set, are the Veriff integrations the simulator knows (identity,
	// proof of address ...), each with its API key and shared secret, instead of the one
	// of APIKey and SharedSecret: a session belongs to the integration whose API key
	// created it, and its decision is signed with that integration's secret.
	Integrations []veriff.Integration
	// PublicURL is the base of the session URLs answered (the sim's own address);
	// default https://alchemy.veriff.com, as Veriff's session URLs look.
	PublicURL string
	// HTTPClient sends the webhooks of /_sim/sessions/{id}/webhook; default a 10s client.
	HTTPClient *http.Client
	Now        func() time.Time
}

// Session is one session created through the simulator.
type Session struct {
	ID         string `json:"id"`
	URL        string `json:"url"`
	VendorData string `json:"vendorData"`
	Lang       string `json:"lang,omitempty"`
	Callback   string `json:"callback,omitempty"`
	// Integration is the name of the integration whose API key created the session.
	Integration string    `json:"integration,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
	Decided     bool      `json:"decided"`
}

// Sim is the simulated API; it is an http.Handler and safe for concurrent use.
type Sim struct {
	cfg       Config
	mux       *http.ServeMux
	mu        sync.Mutex
	sessions  map[string]*Session
	decisions map[string][]byte
	calls     map[string]int
}

// New returns a simulator.
func New(cfg Config) *Sim {
	if cfg.PublicURL == "" {
		cfg.PublicURL = "https://alchemy.veriff.com"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Sim{cfg: cfg, mux: http.NewServeMux(), sessions: map[string]*Session{}, decisions: map[string][]byte{}, calls: map[string]int{}}
	s.mux.HandleFunc("POST /v1/sessions", s.createSession)
	s.mux.HandleFunc("GET /v1/sessions/{id}/decision", s.decision)
	s.mux.HandleFunc("GET /_sim/sessions", s.listSessions)
	s.mux.HandleFunc("PUT /_sim/sessions/{id}/decision", s.putDecision)
	s.mux.HandleFunc("POST /_sim/sessions/{id}/webhook", s.sendWebhook)
	return s
}

func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Calls is how many API requests each endpoint answered ("create", "decision").
func (s *Sim) Calls(endpoint string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[endpoint]
}

func (s *Sim) count(endpoint string) {
	s.mu.Lock()
	s.calls[endpoint]++
	s.mu.Unlock()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"status": "fail", "code": status, "message": msg})
}

// integrations are the configured integrations, or the one of APIKey and SharedSecret.
func (s *Sim) integrations() []veriff.Integration {
	if len(s.cfg.Integrations) > 0 {
		return s.cfg.Integrations
	}
	return []veriff.Integration{{Name: veriff.LegacyIntegrationName, Product: veriff.ProductIdentity, APIKey: s.cfg.APIKey, SharedSecret: s.cfg.SharedSecret}}
}

// integration is the integration named name, else the first one.
func (s *Sim) integration(name string) veriff.Integration {
	list := s.integrations()
	for _, in := range list {
		if in.Name == name {
			return in
		}
	}
	return list[0]
}

// authorized returns the integration whose API key the request carries.
func (s *Sim) authorized(r *http.Request) (veriff.Integration, bool) {
	key := r.Header.Get("X-AUTH-CLIENT")
	for _, in := range s.integrations() {
		if in.APIKey != "" && hmac.Equal([]byte(key), []byte(in.APIKey)) {
			return in, true
		}
	}
	return veriff.Integration{}, false
}

func (s *Sim) createSession(w http.ResponseWriter, r *http.Request) {
	s.count("create")
	in, ok := s.authorized(r)
	if !ok {
		fail(w, http.StatusUnauthorized, "Mandatory X-AUTH-CLIENT header containing the API key is missing from the request.")
		return
	}
	var body struct {
		Verification *struct {
			VendorData string `json:"vendorData"`
			Lang       string `json:"lang"`
			Callback   string `json:"callback"`
		} `json:"verification"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil || body.Verification == nil {
		fail(w, http.StatusBadRequest, "verification object is required")
		return
	}
	id := newID()
	sess := &Session{ID: id, URL: s.cfg.PublicURL + "/v/" + id, VendorData: body.Verification.VendorData,
		Lang: body.Verification.Lang, Callback: body.Verification.Callback, Integration: in.Name, CreatedAt: s.cfg.Now().UTC()}
	s.mu.Lock()
	s.sessions[id] = sess
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{"status": "success", "verification": map[string]any{
		"id": id, "url": sess.URL, "vendorData": sess.VendorData, "host": s.cfg.PublicURL, "status": "created", "sessionToken": "sim-token-" + id}})
}

func (s *Sim) decision(w http.ResponseWriter, r *http.Request) {
	s.count("decision")
	id := r.PathValue("id")
	sig := strings.ToLower(strings.TrimSpace(r.Header.Get("X-HMAC-SIGNATURE")))
	in, ok := s.authorized(r)
	if !ok || !hmac.Equal([]byte(sig), []byte(veriff.Sign(in.SharedSecret, []byte(id)))) {
		fail(w, http.StatusUnauthorized, "Signature does not match the session id signed with the shared secret key.")
		return
	}
	s.mu.Lock()
	_, known := s.sessions[id]
	d := s.decisions[id]
	s.mu.Unlock()
	switch {
	case d != nil:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-HMAC-SIGNATURE", veriff.Sign(in.SharedSecret, d))
		_, _ = w.Write(d)
	case known:
		writeJSON(w, http.StatusOK, map[string]any{"status": "success", "verification": nil})
	default:
		fail(w, http.StatusNotFound, "Session not found")
	}
}

func (s *Sim) listSessions(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Sessions())
}

// Sessions are the sessions created, oldest first.
func (s *Sim) Sessions() []Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Session, 0, len(s.sessions))
	for id, v := range s.sessions {
		c := *v
		c.Decided = s.decisions[id] != nil
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].CreatedAt.Before(out[j].CreatedAt) || (out[i].CreatedAt.Equal(out[j].CreatedAt) && out[i].ID < out[j].ID)
	})
	return out
}

func (s *Sim) putDecision(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		fail(w, http.StatusBadRequest, "read body")
		return
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if body, err = s.Decision(id, r.URL.Query().Get("status"), s.cfg.Now()); err != nil {
			fail(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	if err := s.SetDecision(id, body); err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "success", "sessionId": id})
}

// SetDecision makes body (a decision webhook body) the session's decision; an unknown
// session is created, as if made elsewhere.
func (s *Sim) SetDecision(id string, body []byte) error {
	if !json.Valid(body) {
		return fmt.Errorf("decision body is not JSON")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sessions[id]; !ok {
		s.sessions[id] = &Session{ID: id, URL: s.cfg.PublicURL + "/v/" + id, CreatedAt: s.cfg.Now().UTC()}
	}
	s.decisions[id] = append([]byte(nil), body...)
	return nil
}

var codes = map[string]int{"approved": 9001, "declined": 9102, "resubmission_requested": 9103, "expired": 9104, "abandoned": 9104, "review": 9121}

// Decision builds a decision webhook body for the session with status (approved,
// declined, resubmission_requested, expired, abandoned, review), decided at.
func (s *Sim) Decision(id, status string, at time.Time) ([]byte, error) {
	code, ok := codes[status]
	if !ok {
		return nil, fmt.Errorf("status %q: want approved, declined, resubmission_requested, expired, abandoned or review", status)
	}
	s.mu.Lock()
	vendorData := ""
	if v, ok := s.sessions[id]; ok {
		vendorData = v.VendorData
	}
	s.mu.Unlock()
	var reason, reasonCode any
	switch status {
	case "declined":
		reason, reasonCode = "Physical document not used", 102
	case "resubmission_requested":
		reason, reasonCode = "Poor image quality", 201
	}
	return json.Marshal(map[string]any{"status": "success", "verification": map[string]any{
		"id": id, "attemptId": "sim-attempt-" + id, "vendorData": vendorData, "status": status, "code": code,
		"reason": reason, "reasonCode": reasonCode, "decisionTime": at.UTC().Format(time.RFC3339Nano),
		"acceptanceTime": at.UTC().Add(-time.Minute).Format(time.RFC3339Nano),
		"person":         map[string]any{"firstName": "SIM", "lastName": "PERSON", "dateOfBirth": "1990-01-01"},
		"document":       map[string]any{"number": "SIM0000000", "type": "PASSPORT", "country": "EE"},
	}, "technicalData": map[string]any{"ip": "192.0.2.99"}})
}

func (s *Sim) sendWebhook(w http.ResponseWriter, r *http.Request) {
	target := r.URL.Query().Get("url")
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fail(w, http.StatusBadRequest, "url: want the absolute webhook URL")
		return
	}
	status, err := s.SendDecision(r.Context(), r.PathValue("id"), target)
	if err != nil {
		fail(w, http.StatusBadGateway, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "success", "webhookStatus": status})
}

// SendDecision POSTs the session's decision to target as Veriff sends webhooks: JSON with
// X-AUTH-CLIENT (the API key) and X-HMAC-SIGNATURE (hex HMAC-SHA256 of the body), with
// the credentials of the integration that created the session. It returns the answer's
// status code.
func (s *Sim) SendDecision(ctx context.Context, id, target string) (int, error) {
	s.mu.Lock()
	d := s.decisions[id]
	name := ""
	if v, ok := s.sessions[id]; ok {
		name = v.Integration
	}
	s.mu.Unlock()
	in := s.integration(name)
	if d == nil {
		return 0, fmt.Errorf("session %s has no decision: PUT /_sim/sessions/%s/decision first", id, id)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(d))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Veriff-Webhook")
	req.Header.Set("X-AUTH-CLIENT", in.APIKey)
	req.Header.Set("X-HMAC-SIGNATURE", veriff.Sign(in.SharedSecret, d))
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("post webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}

// newID is a random UUID v4, as Veriff's session ids are.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
