package idwise

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kycbackend/kyc/shared/core/kyc"
)

// A custom journey step (seeds 000 and 001): once the user has finished the SDK steps
// (Finished User Steps), the backend adds what only the customer has, a reference face
// image from a government or in-house database, with Process Custom Journey Step, then
// calls Complete Custom Step so that IDWise decides and sends Finished Journey. IDWise
// needs the completion even when no image is submitted.
//
// Exactly once per journey and step: a marker (Markers) is claimed with a conditional
// write and a lease before anything is sent, moved to submitted after IDWise accepted the
// image (or after deciding there is none to send), and to completed after Complete Custom
// Step. A retry resumes where the last attempt stopped: submitted -> only complete;
// completed -> nothing. A processor that finds the claim held by another backs off
// (ErrStepBusy, retried later).
//
// The crash window: if a processor dies after IDWise accepted the image and before the
// submitted marker is written, the claim stays held until its lease expires; the next
// attempt then cannot know whether IDWise has the image and submits it again (the same
// bytes, to the same journey and step: at least once in that window only, reported as
// "in doubt" in the timeline). That was chosen over never resubmitting, which would let
// the journey finish without the face-match check the customer configured. Every other
// path submits at most once per successful IDWise answer.

// CompleteCustomStepEvent is the event name of an operator's "complete the custom step
// now" (kycctl complete-step). IDWise never sends it: the webhook parser marks a vendor
// event of that name unprocessable.
const CompleteCustomStepEvent = "Complete Custom Step"

// DefaultMaxImageBytes is the default size limit of a reference image (5 MiB).
const DefaultMaxImageBytes = 5 << 20

// DefaultStepLease is how long a claim on a custom step holds before another processor may
// take it over. The claimed work (image read, submit, complete) is bounded to half of it.
const DefaultStepLease = 2 * time.Minute

// ErrNoImage means the image store has no reference image under the key.
var ErrNoImage = errors.New("no reference image")

// ErrImageTooLarge means the reference image is larger than the limit asked for.
var ErrImageTooLarge = errors.New("reference image too large")

// ErrStepBusy means another processor holds the custom step's claim: retry later.
var ErrStepBusy = errors.New("custom step claimed by another processor")

// ErrStepCompleted is returned by Markers.ClaimStep for a step already completed.
var ErrStepCompleted = errors.New("custom step already completed")

// ImageStore reads the customer's reference images (S3 in production).
type ImageStore interface {
	// Image returns the object under key: ErrNoImage when there is none, ErrImageTooLarge
	// when it is larger than maxBytes (without reading further than maxBytes+1 bytes).
	// Errors wrapping kyc.ErrPermanent (access denied, no such bucket) are not retried.
	Image(ctx context.Context, key string, maxBytes int64) ([]byte, error)
}

// CustomStepAPI is the slice of the IDWise API a custom step uses (*Client).
type CustomStepAPI interface {
	SubmitCustomStep(ctx context.Context, s CustomStepImage) error
	CompleteCustomStep(ctx context.Context, journeyID string) error
}

// StepState is where a custom step is, as its marker records it.
type StepState string

const (
	StepSubmitting StepState = "submitting" // claimed; the image is being (or may have been) submitted
	StepSubmitted  StepState = "submitted"  // IDWise has the image, or there was none to send
	StepCompleted  StepState = "completed"  // Complete Custom Step succeeded
)

// StepMarker is the stored record of one journey's custom step.
type StepMarker struct {
	State    StepState
	Attempts int    // claims so far, this one included
	InDoubt  bool   // ClaimStep: the previous claim was neither released nor finished (a crash)
	Claimed  bool   // Step: a claim is held (work in progress, or a crash until its lease ends)
	Note     string // what the submit phase did (ids, sizes and reasons only)
}

// Markers stores the exactly-once records of custom steps, one per journey and step.
// Every transition is a conditional write.
type Markers interface {
	// ClaimStep takes the step's claim with token until the lease ends, creating the marker
	// (state submitting) if there is none. It returns the marker as it stands, with
	// Attempts counting this claim. ErrStepCompleted when the step is completed;
	// ErrStepBusy when another token holds an unexpired claim.
	ClaimStep(ctx context.Context, journeyID, stepID, token string, leaseUntil time.Time) (StepMarker, error)
	// AdvanceStep moves a step claimed with token to state to, recording note. Reaching
	// StepCompleted ends the claim. ErrStepBusy when token no longer holds the claim.
	AdvanceStep(ctx context.Context, journeyID, stepID, token string, to StepState, note string) error
	// ReleaseStep ends the claim of token without changing the state, recording why.
	ReleaseStep(ctx context.Context, journeyID, stepID, token, why string) error
	// Step reads the marker; found is false when there is none.
	Step(ctx context.Context, journeyID, stepID string) (m StepMarker, found bool, err error)
}

// CustomStepConfig configures the custom step. An empty StepID means there is none.
type CustomStepConfig struct {
	StepID   string // the custom step's id in the IDWise journey flow
	StepType string // sent as stepType when set
	// KeyTemplate is the image's key in the store; {referenceNo} and {journeyId} are
	// replaced, e.g. "faces/{referenceNo}.jpg".
	KeyTemplate   string
	MaxImageBytes int64         // default DefaultMaxImageBytes
	Lease         time.Duration // default DefaultStepLease
}

// Validate checks the configuration of an enabled custom step.
func (c CustomStepConfig) Validate() error {
	if err := checkID("custom step id", c.StepID); err != nil {
		return err
	}
	rest := strings.NewReplacer("{referenceNo}", "", "{journeyId}", "").Replace(c.KeyTemplate)
	if strings.ContainsAny(rest, "{}") {
		return fmt.Errorf("image key template %q: only {referenceNo} and {journeyId} are replaced", c.KeyTemplate)
	}
	if c.MaxImageBytes < 0 {
		return errors.New("max image bytes must not be negative")
	}
	return nil
}

// CustomStep submits the customer's reference image for a journey's custom step and
// completes it, exactly once per journey and step.
type CustomStep struct {
	cfg     CustomStepConfig
	api     CustomStepAPI
	images  ImageStore // nil: no image store, every step completes without an image
	markers Markers
	now     func() time.Time
	token   func() string
}

// NewCustomStep returns the custom step. images may be nil (no reference images: each
// journey's step is completed without one).
func NewCustomStep(cfg CustomStepConfig, api CustomStepAPI, images ImageStore, markers Markers) (*CustomStep, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if api == nil || markers == nil {
		return nil, errors.New("custom step needs the idwise api and a marker store")
	}
	if cfg.MaxImageBytes == 0 {
		cfg.MaxImageBytes = DefaultMaxImageBytes
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultStepLease
	}
	return &CustomStep{cfg: cfg, api: api, images: images, markers: markers, now: time.Now, token: newToken}, nil
}

// StepID is the configured step id.
func (c *CustomStep) StepID() string { return c.cfg.StepID }

// Marker reads the step's marker of a journey.
func (c *CustomStep) Marker(ctx context.Context, journeyID string) (StepMarker, bool, error) {
	return c.markers.Step(ctx, journeyID, c.cfg.StepID)
}

// RunOptions changes what Run does.
type RunOptions struct {
	WithoutImage bool // complete without submitting an image (an operator's choice)
}

// StepResult is what Run did.
type StepResult struct {
	StepID    string
	State     StepState // after the run
	Submitted bool      // an image was submitted in this run
	Completed bool      // Complete Custom Step was called in this run
	Note      string    // for the journey timeline: ids, sizes and reasons only
}

// Run submits the reference image of referenceNo for the journey's custom step (unless it
// was already submitted, or opt.WithoutImage) and completes the step (unless already
// completed). A missing or unusable image is not an error: the step is completed without
// one and Note says why. Errors wrapping kyc.ErrPermanent will not heal by retrying (IDWise
// does not know the journey, refused the credentials or the completion); ErrStepBusy and
// any other error mean "retry later": the claim is released and the next run resumes.
func (c *CustomStep) Run(ctx context.Context, journeyID, referenceNo string, opt RunOptions) (StepResult, error) {
	res := StepResult{StepID: c.cfg.StepID}
	token := c.token()
	m, err := c.markers.ClaimStep(ctx, journeyID, c.cfg.StepID, token, c.now().Add(c.cfg.Lease))
	switch {
	case errors.Is(err, ErrStepCompleted):
		res.State, res.Note = StepCompleted, c.note("already completed")
		return res, nil
	case err != nil:
		return res, fmt.Errorf("claim custom step %s of journey %s: %w", c.cfg.StepID, journeyID, err)
	}
	// The claimed work ends well before the lease, so no other processor takes the claim
	// over while this one may still be talking to IDWise.
	wctx, cancel := context.WithTimeout(ctx, c.cfg.Lease/2)
	defer cancel()

	submitNote := m.Note
	if m.State == StepSubmitting {
		var submitted bool
		submitNote, submitted, err = c.submit(wctx, journeyID, referenceNo, m, opt)
		if err != nil {
			return res, c.release(ctx, journeyID, token, err)
		}
		res.Submitted = submitted
		if err := c.markers.AdvanceStep(ctx, journeyID, c.cfg.StepID, token, StepSubmitted, submitNote); err != nil {
			return res, fmt.Errorf("record custom step %s of journey %s submitted: %w", c.cfg.StepID, journeyID, err)
		}
	} else if submitNote == "" {
		submitNote = "submitted earlier"
	}
	res.State = StepSubmitted

	if err := c.api.CompleteCustomStep(wctx, journeyID); err != nil {
		err = classify(fmt.Errorf("complete custom step: %w", err))
		return res, c.release(ctx, journeyID, token, err)
	}
	res.Completed = true
	note := c.note(submitNote + "; completed")
	if err := c.markers.AdvanceStep(ctx, journeyID, c.cfg.StepID, token, StepCompleted, submitNote); err != nil {
		// IDWise has it; a retry calls Complete Custom Step once more, which closes an
		// already closed journey.
		return res, fmt.Errorf("record custom step %s of journey %s completed: %w", c.cfg.StepID, journeyID, err)
	}
	res.State, res.Note = StepCompleted, note
	return res, nil
}

// submit loads, checks and submits the reference image. It returns the timeline note and
// whether an image was submitted. A missing or unusable image, or one IDWise refuses as
// such, is not an error: the step goes on without it.
func (c *CustomStep) submit(ctx context.Context, journeyID, referenceNo string, m StepMarker, opt RunOptions) (string, bool, error) {
	prefix := ""
	if m.InDoubt {
		prefix = fmt.Sprintf("attempt %d after an interrupted one (IDWise may have the image already); ", m.Attempts)
	}
	if opt.WithoutImage {
		return prefix + "no image submitted: completed by an operator without one", false, nil
	}
	img, contentType, why, err := c.image(ctx, journeyID, referenceNo)
	if err != nil {
		return "", false, err
	}
	if why != "" {
		return prefix + "no image submitted: " + why, false, nil
	}
	err = c.api.SubmitCustomStep(ctx, CustomStepImage{JourneyID: journeyID, StepID: c.cfg.StepID, StepType: c.cfg.StepType,
		Image: img, ContentType: contentType})
	var ae *APIError
	if errors.Is(err, ErrImageRefused) && errors.As(err, &ae) {
		// IDWise's answer says it refused this image (too large for it, no face, bad
		// format): the journey goes on without it, as with no image.
		return fmt.Sprintf("%sno image submitted: IDWise refused the image (HTTP %d)", prefix, ae.Status), false, nil
	}
	if err != nil {
		// Any other 4xx (a wrong path or field name, a journey IDWise closed) fails the
		// step: classify makes it permanent, and the resolver counts CustomStepFailed.
		return "", false, classify(fmt.Errorf("submit custom step: %w", err))
	}
	return fmt.Sprintf("%simage submitted (%s, %d bytes)", prefix, contentType, len(img)), true, nil
}

// image reads and checks the reference image. why says, when there is no usable image,
// why not (for the timeline); err is a failure to read it (retried, or permanent).
func (c *CustomStep) image(ctx context.Context, journeyID, referenceNo string) (img []byte, contentType, why string, err error) {
	if c.images == nil {
		return nil, "", "no reference image store configured", nil
	}
	key, why := c.key(journeyID, referenceNo)
	if why != "" {
		return nil, "", why, nil
	}
	img, err = c.images.Image(ctx, key, c.cfg.MaxImageBytes)
	switch {
	case errors.Is(err, ErrNoImage):
		return nil, "", "no reference image for this profile", nil
	case errors.Is(err, ErrImageTooLarge):
		return nil, "", fmt.Sprintf("reference image larger than %d bytes", c.cfg.MaxImageBytes), nil
	case err != nil:
		// The store's error may quote the key (a URL in a network error), and the key holds
		// the referenceNo: it goes to the marker, the event's note and the logs without it.
		return nil, "", "", fmt.Errorf("read reference image: %w", WithoutKey(err, key))
	case len(img) == 0:
		return nil, "", "reference image is empty", nil
	case int64(len(img)) > c.cfg.MaxImageBytes:
		return nil, "", fmt.Sprintf("reference image larger than %d bytes", c.cfg.MaxImageBytes), nil
	}
	if contentType = ImageType(img); contentType == "" {
		return nil, "", "reference image is not a JPEG or PNG", nil
	}
	return img, contentType, "", nil
}

// key is the image key of the profile, or why there is none.
func (c *CustomStep) key(journeyID, referenceNo string) (string, string) {
	if strings.Contains(c.cfg.KeyTemplate, "{referenceNo}") {
		if referenceNo == "" {
			return "", "no referenceNo to find the reference image"
		}
		if !usableInKey(referenceNo) {
			return "", "referenceNo not usable in an image key"
		}
	}
	if strings.Contains(c.cfg.KeyTemplate, "{journeyId}") && !usableInKey(journeyID) {
		return "", "journeyId not usable in an image key"
	}
	return strings.NewReplacer("{referenceNo}", referenceNo, "{journeyId}", journeyID).Replace(c.cfg.KeyTemplate), ""
}

// usableInKey refuses ids that would name another object: path separators, dot
// segments, control characters.
func usableInKey(id string) bool {
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, `/\`) {
		return false
	}
	for _, r := range id {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// WithoutKey returns err with every occurrence of key (raw or URL-escaped) in its message
// replaced by "reference image <hash>", the first 12 hex digits of the key's SHA-256, so that
// notes and logs never carry an image key (it holds the referenceNo). errors.Is and
// errors.As still see err.
func WithoutKey(err error, key string) error {
	if err == nil || key == "" {
		return err
	}
	return keyless{err: err, key: key}
}

type keyless struct {
	err error
	key string
}

func (k keyless) Error() string {
	sum := sha256.Sum256([]byte(k.key))
	label := "reference image " + hex.EncodeToString(sum[:6])
	msg := k.err.Error()
	for _, form := range []string{k.key, url.PathEscape(k.key), strings.ReplaceAll(url.PathEscape(k.key), "%2F", "/"), url.QueryEscape(k.key)} {
		if form != "" {
			msg = strings.ReplaceAll(msg, form, label)
		}
	}
	return msg
}

func (k keyless) Unwrap() error { return k.err }

// ImageType returns image/jpeg or image/png from the content's magic bytes, or "".
func ImageType(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		return "image/jpeg"
	case bytes.HasPrefix(b, []byte{0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A}):
		return "image/png"
	}
	return ""
}

// release gives the claim up after err, so that the next run claims at once, and returns
// err (with the release's own failure, if any: the claim then ends with its lease).
func (c *CustomStep) release(ctx context.Context, journeyID, token string, err error) error {
	if rerr := c.markers.ReleaseStep(ctx, journeyID, c.cfg.StepID, token, truncate(err.Error(), 300)); rerr != nil {
		return fmt.Errorf("custom step %s of journey %s: %w (release: %v)", c.cfg.StepID, journeyID, err, rerr)
	}
	return fmt.Errorf("custom step %s of journey %s: %w", c.cfg.StepID, journeyID, err)
}

// classify marks IDWise answers that retrying cannot fix as permanent.
func classify(err error) error {
	var ae *APIError
	switch {
	case errors.Is(err, kyc.ErrPermanent):
		return err
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrUnauthorized):
		return fmt.Errorf("%w: %w", kyc.ErrPermanent, err)
	case errors.As(err, &ae) && !ae.Retryable && ae.Status >= 400 && ae.Status < 500 && ae.Status != http.StatusRequestTimeout:
		return fmt.Errorf("%w: %w", kyc.ErrPermanent, err)
	}
	return err
}

func (c *CustomStep) note(s string) string { return "custom step " + c.cfg.StepID + ": " + s }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
