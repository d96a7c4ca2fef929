package idwisesim_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kycbackend/kyc/shared/vendors/idwise"
	"github.com/kycbackend/kyc/shared/vendors/idwise/idwiseauth"
	"github.com/kycbackend/kyc/shared/vendors/idwise/idwisesim"
	"github.com/kycbackend/kyc/shared/vendors/webhookauth"
)

// minute is what a scheduled minute becomes with TimeScale 1/60000: a millisecond.
const (
	scale  = 1.0 / 60000
	minute = time.Millisecond
)

// receiver records webhook deliveries and answers with the next scripted status
// (200 once the script runs out).
type receiver struct {
	mu      sync.Mutex
	script  []int
	arrived []time.Time
	bodies  [][]byte
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.arrived = append(rc.arrived, time.Now())
	rc.bodies = append(rc.bodies, body)
	status := http.StatusOK
	if len(rc.script) > 0 {
		status, rc.script = rc.script[0], rc.script[1:]
	}
	rc.mu.Unlock()
	w.WriteHeader(status)
}

func (rc *receiver) events(t *testing.T) []idwise.Webhook {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []idwise.Webhook
	for _, b := range rc.bodies {
		w, err := idwise.Parse(b)
		if err != nil {
			t.Fatalf("delivered body %s does not parse: %v", b, err)
		}
		out = append(out, w)
	}
	return out
}

func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts.URL
}

func event(i int) idwisesim.Event {
	return idwisesim.Event{Name: idwise.FinishedJourney, Body: map[string]any{
		"eventId": fmt.Sprintf("ev-%02d", i), "journeyId": fmt.Sprintf("J%02d", i), "referenceNo": "ref", "systemDecision": "Complete",
	}}
}

func newSender(t *testing.T, cfg idwisesim.SenderConfig) *idwisesim.Sender {
	t.Helper()
	if cfg.Auth.Mode == "" {
		cfg.Auth.Mode = idwiseauth.ModeNone
	}
	if cfg.TimeScale == 0 {
		cfg.TimeScale = scale
	}
	s, err := idwisesim.NewSender(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSenderRetrySchedule(t *testing.T) {
	tests := []struct {
		name          string
		script        []int
		wantStatuses  []int
		wantDelivered bool
		wantGaveUp    bool
	}{
		{name: "200 at once", script: nil, wantStatuses: []int{200}, wantDelivered: true},
		{name: "500, 500, then 200", script: []int{500, 500}, wantStatuses: []int{500, 500, 200}, wantDelivered: true},
		{name: "only 200 is success", script: []int{204, 201, 202, 302}, wantStatuses: []int{204, 201, 202, 302}, wantGaveUp: true},
		{name: "gives up after 4 attempts", script: []int{500, 503, 401, 500, 200}, wantStatuses: []int{500, 503, 401, 500}, wantGaveUp: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := &receiver{script: append([]int(nil), tt.script...)}
			s := newSender(t, idwisesim.SenderConfig{URL: serve(t, rc)})
			begin := time.Now()
			got := s.Send(context.Background(), []idwisesim.Event{event(1)})
			if len(got) != 1 {
				t.Fatalf("Send() = %d deliveries, want 1", len(got))
			}
			d := got[0]
			if !reflect.DeepEqual(d.Statuses, tt.wantStatuses) || d.Attempts != len(tt.wantStatuses) ||
				d.Status != tt.wantStatuses[len(tt.wantStatuses)-1] || d.Delivered != tt.wantDelivered || d.GaveUp != tt.wantGaveUp {
				t.Errorf("Delivery = %+v, want statuses %v, delivered %v, gave up %v", d, tt.wantStatuses, tt.wantDelivered, tt.wantGaveUp)
			}
			// Waits between attempts follow +5, +10, +15 minutes, compressed.
			rc.mu.Lock()
			arrived := append([]time.Time(nil), rc.arrived...)
			rc.mu.Unlock()
			if len(arrived) != len(tt.wantStatuses) {
				t.Fatalf("receiver saw %d attempts, want %d", len(arrived), len(tt.wantStatuses))
			}
			for i := 1; i < len(arrived); i++ {
				want := []time.Duration{5 * minute, 10 * minute, 15 * minute}[i-1]
				if gap := arrived[i].Sub(arrived[i-1]); gap < want {
					t.Errorf("gap before attempt %d = %v, want at least %v", i+1, gap, want)
				}
			}
			if elapsed := time.Since(begin); elapsed > 5*time.Second {
				t.Errorf("Send() took %v: time scale not applied", elapsed)
			}
		})
	}
}

func TestSenderNetworkErrorAndCancel(t *testing.T) {
	t.Run("no server: every attempt fails, given up", func(t *testing.T) {
		ts := httptest.NewServer(http.NotFoundHandler())
		url := ts.URL
		ts.Close()
		s := newSender(t, idwisesim.SenderConfig{URL: url})
		d := s.Send(context.Background(), []idwisesim.Event{event(1)})[0]
		if d.Attempts != 4 || !d.GaveUp || d.Delivered || d.Err == nil || !reflect.DeepEqual(d.Statuses, []int{0, 0, 0, 0}) {
			t.Errorf("Delivery = %+v, want 4 failed attempts with no status, given up, an error", d)
		}
	})
	t.Run("context ends during the schedule", func(t *testing.T) {
		rc := &receiver{script: []int{500, 500, 500, 500}}
		s := newSender(t, idwisesim.SenderConfig{URL: serve(t, rc), TimeScale: 1}) // real minutes
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		begin := time.Now()
		d := s.Send(ctx, []idwisesim.Event{event(1)})[0]
		if time.Since(begin) > 2*time.Second {
			t.Errorf("Send() returned after %v, want it to stop with the context", time.Since(begin))
		}
		if d.Attempts != 1 || d.GaveUp || d.Delivered || !errors.Is(d.Err, context.DeadlineExceeded) {
			t.Errorf("Delivery = %+v, want 1 attempt, not given up, the context error", d)
		}
	})
}

// A failing event does not hold back the next one: first tries go out in order.
func TestSenderRetriesDoNotBlockLaterEvents(t *testing.T) {
	var mu sync.Mutex
	var order []string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ev, _ := idwise.Parse(b)
		mu.Lock()
		order = append(order, ev.EventID)
		mu.Unlock()
		if ev.EventID == "ev-01" {
			w.WriteHeader(500)
		}
	})
	s := newSender(t, idwisesim.SenderConfig{URL: serve(t, h)})
	got := s.Send(context.Background(), []idwisesim.Event{event(1), event(2), event(3)})
	if want := []string{"ev-01", "ev-02", "ev-03", "ev-01", "ev-01", "ev-01"}; !reflect.DeepEqual(order, want) {
		t.Errorf("arrival order = %v, want %v", order, want)
	}
	if !got[0].GaveUp || !got[1].Delivered || !got[2].Delivered {
		t.Errorf("deliveries = %+v, want the first given up and the others delivered", got)
	}
}

func TestSenderDuplicates(t *testing.T) {
	tests := []struct {
		name        string
		cfg         idwisesim.SenderConfig
		events      []idwisesim.Event
		wantIndexes []int
		wantDup     []bool
	}{
		{
			name:        "probability 1 sends every event twice, back to back",
			cfg:         idwisesim.SenderConfig{DuplicateProbability: 1},
			events:      []idwisesim.Event{event(1), event(2)},
			wantIndexes: []int{0, 0, 1, 1},
			wantDup:     []bool{false, true, false, true},
		},
		{
			name:        "explicit duplicate of one event",
			events:      []idwisesim.Event{event(1), {Name: event(2).Name, Body: event(2).Body, Duplicate: true}, event(3)},
			wantIndexes: []int{0, 1, 1, 2},
			wantDup:     []bool{false, false, true, false},
		},
		{
			name:        "probability 0 sends each event once",
			events:      []idwisesim.Event{event(1), event(2)},
			wantIndexes: []int{0, 1},
			wantDup:     []bool{false, false},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := &receiver{}
			tt.cfg.URL = serve(t, rc)
			got := newSender(t, tt.cfg).Send(context.Background(), tt.events)
			var idx []int
			var dup []bool
			for _, d := range got {
				idx, dup = append(idx, d.Index), append(dup, d.Duplicate)
				if !d.Delivered {
					t.Errorf("Delivery %+v not delivered", d)
				}
			}
			if !reflect.DeepEqual(idx, tt.wantIndexes) || !reflect.DeepEqual(dup, tt.wantDup) {
				t.Errorf("deliveries (index, duplicate) = %v %v, want %v %v", idx, dup, tt.wantIndexes, tt.wantDup)
			}
			// Both copies are the same bytes: same eventId, as IDWise's own retries.
			rc.mu.Lock()
			bodies := rc.bodies
			rc.mu.Unlock()
			for i, d := range got {
				if d.Duplicate && string(bodies[i]) != string(bodies[i-1]) {
					t.Errorf("duplicate body %s differs from the original %s", bodies[i], bodies[i-1])
				}
			}
		})
	}
	t.Run("probability 0.5 is seeded", func(t *testing.T) {
		plan := func(seed uint64) []int {
			rc := &receiver{}
			s := newSender(t, idwisesim.SenderConfig{URL: serve(t, rc), DuplicateProbability: 0.5, Seed: seed})
			var idx []int
			for _, d := range s.Send(context.Background(), events(20)) {
				idx = append(idx, d.Index)
			}
			return idx
		}
		a, b := plan(42), plan(42)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("same seed gave %v and %v", a, b)
		}
		if len(a) == 20 || len(a) == 40 {
			t.Errorf("probability 0.5 duplicated %d of 20 events", len(a)-20)
		}
	})
}

func events(n int) []idwisesim.Event {
	out := make([]idwisesim.Event, n)
	for i := range out {
		out[i] = event(i)
	}
	return out
}

func TestSenderShuffle(t *testing.T) {
	run := func(seed uint64) []string {
		rc := &receiver{}
		s := newSender(t, idwisesim.SenderConfig{URL: serve(t, rc), Shuffle: true, Seed: seed})
		got := s.Send(context.Background(), events(30))
		var ids []string
		for i, w := range rc.events(t) {
			ids = append(ids, w.EventID)
			if want := fmt.Sprintf("ev-%02d", got[i].Index); w.EventID != want {
				t.Errorf("delivery %d reports event %s, receiver got %s", i, want, w.EventID)
			}
		}
		return ids
	}
	a, b, c := run(7), run(7), run(8)
	inOrder := make([]string, 30)
	for i := range inOrder {
		inOrder[i] = fmt.Sprintf("ev-%02d", i)
	}
	if reflect.DeepEqual(a, inOrder) {
		t.Errorf("shuffled order = input order %v", a)
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("seed 7 gave %v then %v, want the same order", a, b)
	}
	if reflect.DeepEqual(a, c) {
		t.Errorf("seeds 7 and 8 gave the same order %v", a)
	}
	seen := map[string]int{}
	for _, id := range a {
		seen[id]++
	}
	for _, id := range inOrder {
		if seen[id] != 1 {
			t.Errorf("event %s delivered %d times, want 1", id, seen[id])
		}
	}
}

type staticSecret idwiseauth.Credentials

func (s staticSecret) Credentials(context.Context) (idwiseauth.Credentials, error) {
	return idwiseauth.Credentials(s), nil
}

// The sender's auth is what the webhook edge's authenticator accepts, mode by mode.
func TestSenderAuthAgainstWebhookAuth(t *testing.T) {
	creds := staticSecret{Username: "idwise", Secret: "s3cret-current", PreviousSecret: "s3cret-old"}
	tests := []struct {
		name       string
		authCfg    idwiseauth.Config
		send       idwisesim.WebhookAuth
		wantStatus int
	}{
		{"basic", idwiseauth.Config{Mode: idwiseauth.ModeBasic}, idwisesim.WebhookAuth{Mode: idwiseauth.ModeBasic, Username: "idwise", Secret: "s3cret-current"}, 200},
		{"basic, previous secret", idwiseauth.Config{Mode: idwiseauth.ModeBasic}, idwisesim.WebhookAuth{Mode: idwiseauth.ModeBasic, Username: "idwise", Secret: "s3cret-old"}, 200},
		{"basic, wrong user", idwiseauth.Config{Mode: idwiseauth.ModeBasic}, idwisesim.WebhookAuth{Mode: idwiseauth.ModeBasic, Username: "x", Secret: "s3cret-current"}, 401},
		{"bearer", idwiseauth.Config{Mode: idwiseauth.ModeBearer}, idwisesim.WebhookAuth{Mode: idwiseauth.ModeBearer, Secret: "s3cret-current"}, 200},
		{"bearer, wrong token", idwiseauth.Config{Mode: idwiseauth.ModeBearer}, idwisesim.WebhookAuth{Mode: idwiseauth.ModeBearer, Secret: "nope"}, 401},
		{"custom header", idwiseauth.Config{Mode: idwiseauth.ModeHeader, HeaderName: "X-IDWise-Token"}, idwisesim.WebhookAuth{Mode: idwiseauth.ModeHeader, Header: "X-IDWise-Token", Secret: "s3cret-current"}, 200},
		{"custom header, other header", idwiseauth.Config{Mode: idwiseauth.ModeHeader, HeaderName: "X-IDWise-Token"}, idwisesim.WebhookAuth{Mode: idwiseauth.ModeHeader, Header: "X-Other", Secret: "s3cret-current"}, 401},
		{"none", idwiseauth.Config{Mode: idwiseauth.ModeNone, AllowedCIDRs: []string{"203.0.113.0/24"}}, idwisesim.WebhookAuth{Mode: idwiseauth.ModeNone}, 200},
		{"none sent to basic", idwiseauth.Config{Mode: idwiseauth.ModeBasic}, idwisesim.WebhookAuth{Mode: idwiseauth.ModeNone}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			auth, err := idwiseauth.New(tt.authCfg, creds)
			if err != nil {
				t.Fatal(err)
			}
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				headers := map[string]string{}
				for k := range r.Header {
					headers[strings.ToLower(k)] = r.Header.Get(k)
				}
				if err := auth.Check(r.Context(), webhookauth.Request{Headers: headers, SourceIP: "203.0.113.9"}); err != nil {
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				var env struct {
					Event string          `json:"event"`
					Body  json.RawMessage `json:"body"`
				}
				if r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&env) != nil || env.Event == "" {
					w.WriteHeader(http.StatusBadRequest)
				}
			})
			s := newSender(t, idwisesim.SenderConfig{URL: serve(t, h), Auth: tt.send, Retries: []time.Duration{}})
			d := s.Send(context.Background(), []idwisesim.Event{event(1)})[0]
			if d.Status != tt.wantStatus || d.Attempts != 1 || d.Delivered != (tt.wantStatus == 200) || d.GaveUp == (tt.wantStatus == 200) {
				t.Errorf("Delivery = %+v, want one attempt answered %d", d, tt.wantStatus)
			}
		})
	}
}

func TestNewSenderValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  idwisesim.SenderConfig
	}{
		{"relative url", idwisesim.SenderConfig{URL: "/webhooks/idwise", Auth: idwisesim.WebhookAuth{Mode: idwiseauth.ModeNone}}},
		{"unknown mode", idwisesim.SenderConfig{URL: "http://localhost/", Auth: idwisesim.WebhookAuth{Mode: "hmac"}}},
		{"header mode without a name", idwisesim.SenderConfig{URL: "http://localhost/", Auth: idwisesim.WebhookAuth{Mode: idwiseauth.ModeHeader}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := idwisesim.NewSender(tt.cfg); err == nil {
				t.Errorf("NewSender(%+v) error = nil, want an error", tt.cfg)
			}
		})
	}
}
