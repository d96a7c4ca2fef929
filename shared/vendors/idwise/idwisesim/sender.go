package idwisesim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/kycbackend/kyc/shared/vendors/idwise/idwiseauth"
)

// DefaultRetrySchedule is IDWise's: after a failed first try, retries 5, 10 and 15
// minutes after the previous attempt, then it gives up (4 attempts in all).
func DefaultRetrySchedule() []time.Duration {
	return []time.Duration{5 * time.Minute, 10 * time.Minute, 15 * time.Minute}
}

// Event is one webhook to deliver as {"event": Name, "body": Body}.
type Event struct {
	Name      string
	Body      any  // marshalled with encoding/json; a json.RawMessage is sent as is
	Duplicate bool // deliver this event twice
}

// WebhookAuth is how the sender authenticates, as configured in the IDWise console.
type WebhookAuth struct {
	Mode     idwiseauth.Mode // basic, bearer, header or none
	Username string          // basic
	Secret   string          // basic password, bearer token or header value
	Header   string          // header mode: the header name
}

// SenderConfig configures a Sender.
type SenderConfig struct {
	URL  string
	Auth WebhookAuth
	// Retries are the waits before each retry; nil takes DefaultRetrySchedule, an empty
	// non-nil slice means no retry.
	Retries []time.Duration
	// TimeScale multiplies every wait: 1 (the default) is real time, 1.0/60000 makes a
	// minute a millisecond.
	TimeScale float64
	// DuplicateProbability delivers each event twice with this probability (0 to 1),
	// on top of Event.Duplicate.
	DuplicateProbability float64
	// Shuffle sends the events (duplicates included) in a random order.
	Shuffle bool
	Seed    uint64        // seeds duplicates and shuffle: same seed, same run
	Timeout time.Duration // one attempt; default 10s (not scaled)
	Client  *http.Client  // default: a plain client
}

// Delivery is the outcome of one delivered copy of an event.
type Delivery struct {
	Index     int    // position of the event in the slice given to Send
	Duplicate bool   // the second copy of a duplicated event
	Event     string // event name
	Attempts  int
	Statuses  []int // HTTP status per attempt; 0 when there was no answer
	Status    int   // status of the last attempt
	Delivered bool  // an attempt got HTTP 200
	GaveUp    bool  // every attempt of the schedule failed
	Err       error // last transport error, or the context's error if Send was stopped
}

// Sender delivers IDWise webhook envelopes. It is safe for concurrent use.
type Sender struct {
	cfg     SenderConfig
	retries []time.Duration
	hc      *http.Client

	mu  sync.Mutex
	rng *rand.Rand
}

// NewSender validates cfg.
func NewSender(cfg SenderConfig) (*Sender, error) {
	if u, err := url.Parse(cfg.URL); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("webhook url %q: want an absolute http(s) url", cfg.URL)
	}
	switch cfg.Auth.Mode {
	case idwiseauth.ModeBasic, idwiseauth.ModeBearer, idwiseauth.ModeNone:
	case idwiseauth.ModeHeader:
		if cfg.Auth.Header == "" {
			return nil, errors.New("auth mode header needs a header name")
		}
	default:
		return nil, fmt.Errorf("unknown auth mode %q", cfg.Auth.Mode)
	}
	if cfg.TimeScale <= 0 {
		cfg.TimeScale = 1
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	s := &Sender{cfg: cfg, retries: cfg.Retries, hc: cfg.Client, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))}
	if s.retries == nil {
		s.retries = DefaultRetrySchedule()
	}
	if s.hc == nil {
		s.hc = &http.Client{}
	}
	return s, nil
}

type envelope struct {
	Event string `json:"event"`
	Body  any    `json:"body"`
}

type outgoing struct {
	index     int
	duplicate bool
	name      string
	body      []byte
	err       error
}

// Send delivers events and returns one Delivery per copy sent, in sending order. First
// tries go out one after another in that order; retries of failed copies run
// concurrently on the schedule, so a failing event does not hold back the next one.
// Send returns when every copy is delivered or given up, or ctx ends.
func (s *Sender) Send(ctx context.Context, events []Event) []Delivery {
	items := s.plan(events)
	out := make([]Delivery, len(items))
	var wg sync.WaitGroup
	for i, it := range items {
		d := &out[i]
		*d = Delivery{Index: it.index, Duplicate: it.duplicate, Event: it.name}
		if it.err != nil {
			d.Err, d.GaveUp = it.err, true
			continue
		}
		if ctx.Err() != nil {
			d.Err = ctx.Err()
			continue
		}
		if s.attempt(ctx, d, it.body) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.retry(ctx, d, it.body)
		}()
	}
	wg.Wait()
	return out
}

// plan marshals the events and applies duplicates and shuffle.
func (s *Sender) plan(events []Event) []outgoing {
	s.mu.Lock()
	defer s.mu.Unlock()
	var items []outgoing
	for i, ev := range events {
		body, err := json.Marshal(envelope{Event: ev.Name, Body: ev.Body})
		it := outgoing{index: i, name: ev.Name, body: body, err: err}
		items = append(items, it)
		if ev.Duplicate || (s.cfg.DuplicateProbability > 0 && s.rng.Float64() < s.cfg.DuplicateProbability) {
			it.duplicate = true
			items = append(items, it)
		}
	}
	if s.cfg.Shuffle {
		s.rng.Shuffle(len(items), func(i, j int) { items[i], items[j] = items[j], items[i] })
	}
	return items
}

func (s *Sender) retry(ctx context.Context, d *Delivery, body []byte) {
	for _, wait := range s.retries {
		t := time.NewTimer(time.Duration(float64(wait) * s.cfg.TimeScale))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			d.Err = ctx.Err()
			return
		}
		if s.attempt(ctx, d, body) {
			return
		}
	}
	d.GaveUp = true
}

// attempt makes one delivery attempt and records it in d. Only HTTP 200 is success.
func (s *Sender) attempt(ctx context.Context, d *Delivery, body []byte) bool {
	d.Attempts++
	status, err := s.post(ctx, body)
	d.Statuses = append(d.Statuses, status)
	d.Status, d.Err = status, err
	d.Delivered = status == http.StatusOK
	if len(s.retries) == 0 && !d.Delivered {
		d.GaveUp = true
	}
	return d.Delivered
}

func (s *Sender) post(ctx context.Context, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	switch a := s.cfg.Auth; a.Mode {
	case idwiseauth.ModeBasic:
		req.SetBasicAuth(a.Username, a.Secret)
	case idwiseauth.ModeBearer:
		req.Header.Set("Authorization", "Bearer "+a.Secret)
	case idwiseauth.ModeHeader:
		req.Header.Set(a.Header, a.Secret)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp.StatusCode, nil
}
