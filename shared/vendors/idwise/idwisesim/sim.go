// Package idwisesim simulates the IDWise REST API and IDWise's webhook deliveries, for
// tests and the local runner. Journeys are scripted in Go or over HTTP (/_sim/...), faults
// are injected per endpoint, requests are counted per endpoint, and a Sender delivers
// webhooks with IDWise's retry schedule on a compressible clock. It keeps no global state.
package idwisesim

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/kycbackend/kyc/shared/vendors/idwise"
)

// Config configures a simulated IDWise API.
type Config struct {
	APIKey    string // HTTP Basic user the API accepts
	APISecret string // HTTP Basic password the API accepts
	// Paths are the API routes; empty fields take idwise.DefaultPaths, so a client with
	// the same Paths talks to the simulator.
	Paths idwise.Paths
	// Fields are the custom step calls' field names; empty fields take
	// idwise.DefaultFormFields, so a client with the same Fields talks to the simulator.
	Fields idwise.FormFields
	// OnCall, when set, is told of every API request once it is answered (the local
	// runner prints them on its timeline). It must not block.
	OnCall func(Call)
}

// Call is one API request the simulator answered: ids only, never a body.
type Call struct {
	Endpoint  Endpoint
	Method    string
	Path      string
	JourneyID string // from the path or the form, when known
	StepID    string
	Status    int // 0: no answer (the client gave up, or a Hang fault)
}

// Endpoint names an API endpoint for faults and counters.
type Endpoint string

const (
	EndpointJourney            Endpoint = "journey"              // GET Get Journey Result
	EndpointProcessCustomStep  Endpoint = "process-custom-step"  // POST Process Custom Journey Step
	EndpointCompleteCustomStep Endpoint = "complete-custom-step" // POST Complete Custom Step
	EndpointDeletePersonalData Endpoint = "delete-personal-data" // DELETE personal data
	EndpointSpotCheck          Endpoint = "spot-check"           // GET Get Spot Check Result (journeys set with SetJourney)
)

// Fault replaces the normal answer of one request.
type Fault struct {
	Status     int           // answer this status (500, 429, 403 ...); 0 answers normally
	RetryAfter string        // Retry-After header sent with Status ("2" or an HTTP-date)
	Body       string        // body sent with Status; default {"error":"injected fault"}
	Delay      time.Duration // wait first (a slow answer), or until the client gives up
	Hang       bool          // after Delay (0: until the client gives up), drop the connection unanswered
}

// Step is what Process Custom Journey Step received.
type Step struct {
	JourneyID   string
	StepID      string
	StepType    string // the form's stepType, if sent
	Filename    string
	ContentType string
	Image       []byte
}

// Server is a simulated IDWise API. It is safe for concurrent use.
type Server struct {
	key, secret [32]byte
	mux         *http.ServeMux
	onCall      func(Call)
	fields      idwise.FormFields

	mu        sync.Mutex
	journeys  map[string][]byte // Get Journey Result bodies by journey id
	faults    map[Endpoint][]Fault
	requests  map[Endpoint]int
	steps     []Step
	completed map[string]int
	deleted   []string
}

// New builds a simulator. It panics if cfg.Paths holds routes that conflict, as
// http.ServeMux does.
func New(cfg Config) *Server {
	s := &Server{
		key:       sha256.Sum256([]byte(cfg.APIKey)),
		secret:    sha256.Sum256([]byte(cfg.APISecret)),
		mux:       http.NewServeMux(),
		onCall:    cfg.OnCall,
		journeys:  map[string][]byte{},
		faults:    map[Endpoint][]Fault{},
		requests:  map[Endpoint]int{},
		completed: map[string]int{},
		fields:    withDefaultFields(cfg.Fields),
	}
	p := cfg.Paths
	d := idwise.DefaultPaths()
	route := func(method, path, def string, ep Endpoint, h http.HandlerFunc) {
		if strings.TrimSpace(path) == "" {
			path = def
		}
		s.mux.HandleFunc(method+" /"+strings.TrimPrefix(path, "/"), s.api(ep, h))
	}
	route(http.MethodGet, p.Journey, d.Journey, EndpointJourney, s.getJourney)
	route(http.MethodPost, p.ProcessCustomStep, d.ProcessCustomStep, EndpointProcessCustomStep, s.processStep)
	route(http.MethodPost, p.CompleteCustomStep, d.CompleteCustomStep, EndpointCompleteCustomStep, s.completeStep)
	route(http.MethodDelete, p.DeletePersonalData, d.DeletePersonalData, EndpointDeletePersonalData, s.deleteData)
	route(http.MethodGet, p.SpotCheckResult, d.SpotCheckResult, EndpointSpotCheck, s.getJourney)
	s.mux.HandleFunc("PUT /_sim/journeys/{journeyId}", s.simPutJourney)
	s.mux.HandleFunc("GET /_sim/journeys/{journeyId}", s.simGetJourney)
	s.mux.HandleFunc("POST /_sim/journeys/{journeyId}/review", s.simReview)
	s.mux.HandleFunc("POST /_sim/faults", s.simFault)
	return s
}

// Handler serves the API and the /_sim/ scripting routes (no auth: local use only).
func (s *Server) Handler() http.Handler { return s.mux }

// SetJourney stores j as the Get Journey Result of j.JourneyID.
func (s *Server) SetJourney(j idwise.Journey) {
	raw, err := json.Marshal(j)
	if err != nil { // a Journey always marshals
		panic(err)
	}
	s.mu.Lock()
	s.journeys[j.JourneyID] = raw
	s.mu.Unlock()
}

// SetJourneyJSON stores a Get Journey Result body (snake_case) as given, unknown fields
// included, with journey_id set to journeyID.
func (s *Server) SetJourneyJSON(journeyID string, raw []byte) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return errors.New("journey must be a JSON object")
	}
	obj["journey_id"], _ = json.Marshal(journeyID)
	stored, _ := json.Marshal(obj)
	s.mu.Lock()
	s.journeys[journeyID] = stored
	s.mu.Unlock()
	return nil
}

// Journey returns the stored journey, as the client would decode it.
func (s *Server) Journey(journeyID string) (idwise.Journey, bool) {
	s.mu.Lock()
	raw, ok := s.journeys[journeyID]
	s.mu.Unlock()
	var j idwise.Journey
	if ok && json.Unmarshal(raw, &j) != nil {
		return idwise.Journey{}, false
	}
	return j, ok
}

// Review records a manual review: manual_decision and final_decision become decision
// ("Approved" or "Rejected").
func (s *Server) Review(journeyID, decision string) error {
	if decision != "Approved" && decision != "Rejected" {
		return fmt.Errorf("decision %q: want Approved or Rejected", decision)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	raw, ok := s.journeys[journeyID]
	if !ok {
		return idwise.ErrNotFound
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return err
	}
	d, _ := json.Marshal(decision)
	obj["manual_decision"], obj["final_decision"] = d, d
	s.journeys[journeyID], _ = json.Marshal(obj)
	return nil
}

// Fail makes the next n requests to ep answer with f instead of normally.
func (s *Server) Fail(ep Endpoint, n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[ep] = append(s.faults[ep], f)
	}
}

// Requests is how many requests reached ep (faulted and unauthorized ones included).
func (s *Server) Requests(ep Endpoint) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[ep]
}

// Steps returns the Process Custom Journey Step submissions, in arrival order.
func (s *Server) Steps() []Step {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Step(nil), s.steps...)
}

// Completed is how many times Complete Custom Step succeeded for the journey.
func (s *Server) Completed(journeyID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.completed[journeyID]
}

// Deleted returns the journeys whose personal data was deleted, in order.
func (s *Server) Deleted() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.deleted...)
}

// api wraps an endpoint: count, apply a pending fault, check Basic auth, tell OnCall.
func (s *Server) api(ep Endpoint, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.onCall != nil {
			sw := &statusWriter{ResponseWriter: w}
			w = sw
			defer func() {
				v := recover() // a Hang fault aborts the handler: no answer (status 0)
				c := Call{Endpoint: ep, Method: r.Method, Path: r.URL.Path, JourneyID: r.PathValue("journeyId"),
					StepID: r.PathValue("stepId"), Status: sw.status}
				if r.MultipartForm != nil { // parsed by the handler: the ids of a custom step
					c.JourneyID = first(c.JourneyID, formValue(r.MultipartForm.Value, s.fields.JourneyID))
					c.StepID = first(c.StepID, formValue(r.MultipartForm.Value, s.fields.StepID))
				}
				s.onCall(c)
				if v != nil {
					panic(v)
				}
			}()
		}
		s.mu.Lock()
		s.requests[ep]++
		var f *Fault
		if q := s.faults[ep]; len(q) > 0 {
			f, s.faults[ep] = &q[0], q[1:]
		}
		s.mu.Unlock()
		if f != nil && s.fault(w, r, *f) {
			return
		}
		if !s.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="idwise"`)
			writeError(w, http.StatusUnauthorized, "unauthorized")
			return
		}
		h(w, r)
	}
}

// fault applies f and reports whether it answered the request.
func (s *Server) fault(w http.ResponseWriter, r *http.Request, f Fault) bool {
	if f.Delay > 0 || (f.Hang && f.Delay == 0) {
		var timeout <-chan time.Time
		if f.Delay > 0 {
			t := time.NewTimer(f.Delay)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-timeout:
		case <-r.Context().Done():
			return true
		}
	}
	if f.Hang {
		panic(http.ErrAbortHandler) // drops the connection without an answer
	}
	if f.Status == 0 {
		return false
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	body := f.Body
	if body == "" {
		body = `{"error":"injected fault"}`
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.Status)
	_, _ = io.WriteString(w, body)
	return true
}

func (s *Server) authorized(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	u, p := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(pass))
	return subtle.ConstantTimeCompare(u[:], s.key[:])&subtle.ConstantTimeCompare(p[:], s.secret[:]) == 1
}

func (s *Server) getJourney(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	raw, ok := s.journeys[r.PathValue("journeyId")]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "journey not found")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(raw)
}

func (s *Server) processStep(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		writeError(w, http.StatusBadRequest, "want multipart/form-data")
		return
	}
	defer r.MultipartForm.RemoveAll()
	st := Step{JourneyID: r.PathValue("journeyId"), StepID: r.PathValue("stepId")}
	f := s.fields
	if st.JourneyID == "" {
		st.JourneyID = r.FormValue(f.JourneyID)
	}
	if st.StepID == "" {
		st.StepID = r.FormValue(f.StepID)
	}
	file, hdr, err := r.FormFile(f.Image)
	if st.JourneyID == "" || st.StepID == "" || err != nil {
		writeError(w, http.StatusBadRequest, f.JourneyID+", "+f.StepID+" and "+f.Image+" are required")
		return
	}
	defer file.Close()
	if st.Image, err = io.ReadAll(file); err != nil {
		writeError(w, http.StatusBadRequest, "unreadable image")
		return
	}
	if len(st.Image) == 0 {
		writeError(w, http.StatusBadRequest, "empty image")
		return
	}
	st.Filename, st.ContentType, st.StepType = hdr.Filename, hdr.Header.Get("Content-Type"), r.FormValue(f.StepType)
	s.mu.Lock()
	raw, known := s.journeys[st.JourneyID]
	if known {
		s.steps = append(s.steps, st)
		s.journeys[st.JourneyID] = withFaceMatch(raw, st.StepID)
	}
	s.mu.Unlock()
	if !known {
		writeError(w, http.StatusNotFound, "journey not found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"journey_id": st.JourneyID, "step_id": st.StepID, "status": "Submitted"})
}

// withFaceMatch records the outcome of the customer's face database check in a journey
// result, as IDWise reports it under screening_checks.additional_face_db: the simulator
// always finds a match.
func withFaceMatch(raw []byte, stepID string) []byte {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return raw
	}
	var checks map[string]json.RawMessage
	_ = json.Unmarshal(obj["screening_checks"], &checks)
	if checks == nil {
		checks = map[string]json.RawMessage{}
	}
	checks["additional_face_db"], _ = json.Marshal(map[string]any{"result": "Passed", "match_score": 97.5, "step_id": stepID})
	obj["screening_checks"], _ = json.Marshal(checks)
	out, err := json.Marshal(obj)
	if err != nil {
		return raw
	}
	return out
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// withDefaultFields fills empty field names from idwise.DefaultFormFields.
func withDefaultFields(f idwise.FormFields) idwise.FormFields {
	d := idwise.DefaultFormFields()
	for _, x := range []struct{ v, def *string }{
		{&f.JourneyID, &d.JourneyID}, {&f.StepID, &d.StepID}, {&f.StepType, &d.StepType},
		{&f.Image, &d.Image}, {&f.CompleteJourneyID, &d.CompleteJourneyID},
	} {
		if *x.v == "" {
			*x.v = *x.def
		}
	}
	return f
}

func formValue(v map[string][]string, name string) string {
	if len(v[name]) > 0 {
		return v[name][0]
	}
	return ""
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (s *Server) completeStep(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("journeyId")
	if id == "" {
		var body map[string]any
		_ = json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body)
		id, _ = body[s.fields.CompleteJourneyID].(string)
	}
	s.mu.Lock()
	_, known := s.journeys[id]
	if known {
		s.completed[id]++
	}
	s.mu.Unlock()
	if !known {
		writeError(w, http.StatusNotFound, "journey not found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"journey_id": id, "is_completed": true})
}

func (s *Server) deleteData(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("journeyId")
	s.mu.Lock()
	_, known := s.journeys[id]
	if known {
		delete(s.journeys, id)
		s.deleted = append(s.deleted, id)
	}
	s.mu.Unlock()
	if !known {
		writeError(w, http.StatusNotFound, "journey not found")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) simPutJourney(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "unreadable body")
		return
	}
	if err := s.SetJourneyJSON(r.PathValue("journeyId"), raw); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) simGetJourney(w http.ResponseWriter, r *http.Request) {
	s.getJourney(w, r)
}

func (s *Server) simReview(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Decision string `json:"decision"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, `want {"decision":"Approved|Rejected"}`)
		return
	}
	switch err := s.Review(r.PathValue("journeyId"), body.Decision); {
	case errors.Is(err, idwise.ErrNotFound):
		writeError(w, http.StatusNotFound, "journey not found")
	case err != nil:
		writeError(w, http.StatusBadRequest, err.Error())
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": msg})
}

// simFault injects faults over HTTP: {"endpoint":"journey","count":3,"status":500,
// "retryAfter":"1","delayMs":0}.
func (s *Server) simFault(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Endpoint   Endpoint `json:"endpoint"`
		Count      int      `json:"count"`
		Status     int      `json:"status"`
		RetryAfter string   `json:"retryAfter"`
		DelayMs    int      `json:"delayMs"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil || body.Count < 1 {
		writeError(w, http.StatusBadRequest, `want {"endpoint":"journey","count":N,"status":500}`)
		return
	}
	switch body.Endpoint {
	case EndpointJourney, EndpointProcessCustomStep, EndpointCompleteCustomStep, EndpointDeletePersonalData:
	default:
		writeError(w, http.StatusBadRequest, "unknown endpoint")
		return
	}
	s.Fail(body.Endpoint, body.Count, Fault{Status: body.Status, RetryAfter: body.RetryAfter, Delay: time.Duration(body.DelayMs) * time.Millisecond})
	w.WriteHeader(http.StatusNoContent)
}
