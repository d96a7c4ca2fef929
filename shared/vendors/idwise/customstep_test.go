package idwise_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/vendors/idwise"
	"github.com/kycbackend/kyc/shared/vendors/idwise/markerstest"
)

// fakeMarkers is the contract-proven in-memory marker store (markerstest); its Clock
// decides when a lease has ended.
type fakeMarkers = markerstest.MemMarkers

// fakeAPI records submissions and completions; fail* are the errors of the next calls.
type fakeAPI struct {
	mu             sync.Mutex
	submitted      []idwise.CustomStepImage
	completed      []string
	failSubmit     []error
	failComplete   []error
	submitAttempts int
}

func (a *fakeAPI) SubmitCustomStep(_ context.Context, s idwise.CustomStepImage) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.submitAttempts++
	if len(a.failSubmit) > 0 {
		err := a.failSubmit[0]
		a.failSubmit = a.failSubmit[1:]
		return err
	}
	a.submitted = append(a.submitted, s)
	return nil
}

func (a *fakeAPI) CompleteCustomStep(_ context.Context, journeyID string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.failComplete) > 0 {
		err := a.failComplete[0]
		a.failComplete = a.failComplete[1:]
		return err
	}
	a.completed = append(a.completed, journeyID)
	return nil
}

// fakeImages serves images by key; err is returned for every key when set.
type fakeImages struct {
	images map[string][]byte
	err    error
	keys   []string
}

func (f *fakeImages) Image(_ context.Context, key string, maxBytes int64) ([]byte, error) {
	f.keys = append(f.keys, key)
	if f.err != nil {
		return nil, f.err
	}
	b, ok := f.images[key]
	if !ok {
		return nil, idwise.ErrNoImage
	}
	if int64(len(b)) > maxBytes {
		return nil, idwise.ErrImageTooLarge
	}
	return b, nil
}

var (
	jpeg = append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, bytes.Repeat([]byte{1}, 60)...)
	png  = append([]byte{0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A}, bytes.Repeat([]byte{2}, 40)...)
)

func newStep(t *testing.T, api *fakeAPI, images idwise.ImageStore, markers *fakeMarkers) *idwise.CustomStep {
	t.Helper()
	cs, err := idwise.NewCustomStep(idwise.CustomStepConfig{StepID: "gov-face", StepType: "face", KeyTemplate: "faces/{referenceNo}.jpg",
		MaxImageBytes: 100}, api, images, markers)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func TestCustomStepImageChecks(t *testing.T) {
	images := &fakeImages{images: map[string][]byte{
		"faces/has-jpeg.jpg": jpeg, "faces/has-png.jpg": png, "faces/too-large.jpg": append(jpeg, make([]byte, 100)...),
		"faces/text.jpg": []byte("this is not an image"), "faces/empty.jpg": {},
	}}
	tests := []struct {
		name          string
		ref           string
		images        idwise.ImageStore
		opt           idwise.RunOptions
		wantSubmitted string // content type submitted, "" none
		wantNote      string
	}{
		{name: "jpeg", ref: "has-jpeg", images: images, wantSubmitted: "image/jpeg", wantNote: "custom step gov-face: image submitted (image/jpeg, 64 bytes); completed"},
		{name: "png", ref: "has-png", images: images, wantSubmitted: "image/png", wantNote: "image submitted (image/png, 48 bytes)"},
		{name: "missing", ref: "nobody", images: images, wantNote: "custom step gov-face: no image submitted: no reference image for this profile; completed"},
		{name: "too large", ref: "too-large", images: images, wantNote: "no image submitted: reference image larger than 100 bytes; completed"},
		{name: "not an image", ref: "text", images: images, wantNote: "no image submitted: reference image is not a JPEG or PNG; completed"},
		{name: "empty", ref: "empty", images: images, wantNote: "no image submitted: reference image is empty; completed"},
		{name: "no referenceNo", ref: "", images: images, wantNote: "no referenceNo to find the reference image"},
		{name: "referenceNo with a slash", ref: "../secret", images: images, wantNote: "referenceNo not usable in an image key"},
		{name: "no image store", ref: "has-jpeg", images: nil, wantNote: "no reference image store configured"},
		{name: "operator without image", ref: "has-jpeg", images: images, opt: idwise.RunOptions{WithoutImage: true},
			wantNote: "no image submitted: completed by an operator without one; completed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &fakeAPI{}
			cs := newStep(t, api, tt.images, &fakeMarkers{})
			res, err := cs.Run(context.Background(), "J-"+tt.name, tt.ref, tt.opt)
			if err != nil {
				t.Fatalf("Run() error = %v", err)
			}
			if !strings.Contains(res.Note, tt.wantNote) || res.State != idwise.StepCompleted || !res.Completed {
				t.Errorf("Run() = %+v, want completed with note %q", res, tt.wantNote)
			}
			if len(api.completed) != 1 || api.completed[0] != "J-"+tt.name {
				t.Errorf("completed = %v, want J-%s once", api.completed, tt.name)
			}
			switch {
			case tt.wantSubmitted == "" && len(api.submitted) != 0:
				t.Errorf("submitted %d images, want none", len(api.submitted))
			case tt.wantSubmitted != "":
				if len(api.submitted) != 1 {
					t.Fatalf("submitted %d images, want 1", len(api.submitted))
				}
				s := api.submitted[0]
				if s.ContentType != tt.wantSubmitted || s.StepID != "gov-face" || s.StepType != "face" || s.JourneyID != "J-"+tt.name || len(s.Image) == 0 {
					t.Errorf("submitted %+v, want %s for step gov-face (face) of J-%s", s, tt.wantSubmitted, tt.name)
				}
				if !res.Submitted {
					t.Errorf("Run().Submitted = false, want true")
				}
			}
		})
	}
}

func TestCustomStepExactlyOnce(t *testing.T) {
	ctx := context.Background()
	images := &fakeImages{images: map[string][]byte{"faces/r1.jpg": jpeg}}
	serverError := &idwise.APIError{Status: 500, Retryable: true}

	t.Run("again after completion does nothing", func(t *testing.T) {
		api, markers := &fakeAPI{}, &fakeMarkers{}
		cs := newStep(t, api, images, markers)
		for i := 0; i < 3; i++ {
			if _, err := cs.Run(ctx, "J1", "r1", idwise.RunOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		res, _ := cs.Run(ctx, "J1", "r1", idwise.RunOptions{})
		if len(api.submitted) != 1 || len(api.completed) != 1 || res.Note != "custom step gov-face: already completed" || res.Completed {
			t.Errorf("submitted %d, completed %d, last %+v; want 1, 1, already completed", len(api.submitted), len(api.completed), res)
		}
	})

	t.Run("submit fails then recovers", func(t *testing.T) {
		api, markers := &fakeAPI{failSubmit: []error{serverError}}, &fakeMarkers{}
		cs := newStep(t, api, images, markers)
		_, err := cs.Run(ctx, "J2", "r1", idwise.RunOptions{})
		if err == nil || errors.Is(err, kyc.ErrPermanent) {
			t.Fatalf("Run() error = %v, want a retryable error", err)
		}
		if m, _, _ := markers.Step(ctx, "J2", "gov-face"); m.State != idwise.StepSubmitting || m.Claimed {
			t.Errorf("marker = %+v, want submitting and released", m)
		}
		res, err := cs.Run(ctx, "J2", "r1", idwise.RunOptions{})
		if err != nil || res.State != idwise.StepCompleted || !res.Submitted {
			t.Fatalf("Run() again = %+v, %v; want submitted and completed", res, err)
		}
		if len(api.submitted) != 1 || api.submitAttempts != 2 || len(api.completed) != 1 {
			t.Errorf("accepted submissions %d of %d attempts, completions %d; want 1 of 2, 1", len(api.submitted), api.submitAttempts, len(api.completed))
		}
	})

	t.Run("complete fails then recovers without resubmitting", func(t *testing.T) {
		api, markers := &fakeAPI{failComplete: []error{serverError}}, &fakeMarkers{}
		cs := newStep(t, api, images, markers)
		if _, err := cs.Run(ctx, "J3", "r1", idwise.RunOptions{}); err == nil {
			t.Fatal("Run() error = nil, want the completion's error")
		}
		if m, _, _ := markers.Step(ctx, "J3", "gov-face"); m.State != idwise.StepSubmitted || m.Claimed {
			t.Errorf("marker = %+v, want submitted and released", m)
		}
		res, err := cs.Run(ctx, "J3", "r1", idwise.RunOptions{})
		if err != nil || res.Submitted || !res.Completed || !strings.Contains(res.Note, "image submitted (image/jpeg") {
			t.Errorf("Run() again = %+v, %v; want completed only, with the submit phase's note", res, err)
		}
		if len(api.submitted) != 1 || len(api.completed) != 1 {
			t.Errorf("submitted %d, completed %d; want 1, 1", len(api.submitted), len(api.completed))
		}
	})

	t.Run("a held claim makes a concurrent run back off", func(t *testing.T) {
		api, markers := &fakeAPI{}, &fakeMarkers{}
		cs := newStep(t, api, images, markers)
		if _, err := markers.ClaimStep(ctx, "J4", "gov-face", "someone-else", time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		_, err := cs.Run(ctx, "J4", "r1", idwise.RunOptions{})
		if !errors.Is(err, idwise.ErrStepBusy) || errors.Is(err, kyc.ErrPermanent) {
			t.Errorf("Run() error = %v, want ErrStepBusy (retryable)", err)
		}
		if len(api.submitted)+len(api.completed) != 0 {
			t.Errorf("IDWise called while another processor holds the claim")
		}
	})

	t.Run("a crashed claim is taken over after its lease, in doubt", func(t *testing.T) {
		api, markers := &fakeAPI{}, &fakeMarkers{}
		cs := newStep(t, api, images, markers)
		if _, err := markers.ClaimStep(ctx, "J5", "gov-face", "crashed", time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		markers.Clock = time.Now().Add(time.Hour)
		res, err := cs.Run(ctx, "J5", "r1", idwise.RunOptions{})
		if err != nil || !res.Submitted || !res.Completed || !strings.Contains(res.Note, "attempt 2 after an interrupted one") {
			t.Errorf("Run() = %+v, %v; want submitted again (in doubt) and completed", res, err)
		}
	})

	t.Run("IDWise refuses the image: completed without it", func(t *testing.T) {
		api := &fakeAPI{failSubmit: []error{&idwise.APIError{Status: 422, Kind: idwise.ErrImageRefused}}}
		cs := newStep(t, api, images, &fakeMarkers{})
		res, err := cs.Run(ctx, "J6", "r1", idwise.RunOptions{})
		if err != nil || res.Submitted || !res.Completed || !strings.Contains(res.Note, "IDWise refused the image (HTTP 422)") {
			t.Errorf("Run() = %+v, %v; want completed without the image", res, err)
		}
	})

	// A 4xx that is not about the image (a wrong path or field name answers 400 or 404)
	// fails the step: it is not completed without the face match, silently.
	for _, status := range []int{400, 405, 409, 422} {
		t.Run(fmt.Sprintf("HTTP %d not about the image fails the step", status), func(t *testing.T) {
			api := &fakeAPI{failSubmit: []error{&idwise.APIError{Status: status}}}
			markers := &fakeMarkers{}
			cs := newStep(t, api, images, markers)
			res, err := cs.Run(ctx, "J6b", "r1", idwise.RunOptions{})
			if !errors.Is(err, kyc.ErrPermanent) || res.Completed || len(api.completed) != 0 {
				t.Errorf("Run() = %+v, %v (completed %v); want a permanent failure, not completed", res, err, api.completed)
			}
			if m, _, _ := markers.Step(ctx, "J6b", "gov-face"); m.Claimed || m.State == idwise.StepCompleted {
				t.Errorf("marker = %+v, want released and not completed", m)
			}
		})
	}

	t.Run("unknown journey is permanent", func(t *testing.T) {
		api := &fakeAPI{failSubmit: []error{idwise.ErrNotFound}}
		markers := &fakeMarkers{}
		cs := newStep(t, api, images, markers)
		_, err := cs.Run(ctx, "J7", "r1", idwise.RunOptions{})
		if !errors.Is(err, kyc.ErrPermanent) {
			t.Errorf("Run() error = %v, want kyc.ErrPermanent", err)
		}
		if m, _, _ := markers.Step(ctx, "J7", "gov-face"); m.Claimed {
			t.Errorf("marker %+v still claimed after a permanent failure", m)
		}
	})

	t.Run("image store failure is retried", func(t *testing.T) {
		api := &fakeAPI{}
		cs := newStep(t, api, &fakeImages{err: errors.New("s3 timeout")}, &fakeMarkers{})
		_, err := cs.Run(ctx, "J8", "r1", idwise.RunOptions{})
		if err == nil || errors.Is(err, kyc.ErrPermanent) || len(api.completed) != 0 {
			t.Errorf("Run() error = %v, completed %v; want a retryable error and no completion", err, api.completed)
		}
	})
}

func TestCustomStepConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     idwise.CustomStepConfig
		wantErr string
	}{
		{name: "ok", cfg: idwise.CustomStepConfig{StepID: "7", KeyTemplate: "faces/{referenceNo}.jpg"}},
		{name: "journey key", cfg: idwise.CustomStepConfig{StepID: "7", KeyTemplate: "{journeyId}/{referenceNo}.png"}},
		{name: "no step", cfg: idwise.CustomStepConfig{KeyTemplate: "faces/{referenceNo}.jpg"}, wantErr: "invalid custom step id"},
		{name: "unknown placeholder", cfg: idwise.CustomStepConfig{StepID: "7", KeyTemplate: "faces/{ref}.jpg"}, wantErr: "only {referenceNo} and {journeyId}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Validate() = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestImageType(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"jpeg", jpeg, "image/jpeg"},
		{"png", png, "image/png"},
		{"gif", []byte("GIF89a...."), ""},
		{"truncated png", png[:5], ""},
		{"empty", nil, ""},
	}
	for _, tt := range tests {
		if got := idwise.ImageType(tt.in); got != tt.want {
			t.Errorf("ImageType(%s) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// Issue 13 item 9: the image key holds the referenceNo; a failure to read the image (whose
// error may quote the key, like a network error's URL) reaches the marker, the event's
// note and the logs without it.
func TestCustomStepErrorsNeverNameTheImageKey(t *testing.T) {
	const ref = "user-7731@example.org"
	key := "faces/" + ref + ".jpg"
	netErr := &url.Error{Op: "Get", URL: "https://bucket.s3.amazonaws.com/" + url.PathEscape(key), Err: errors.New("dial tcp: i/o timeout")}
	tests := []struct {
		name string
		err  error
	}{
		{"network error with the escaped key in its URL", netErr},
		{"error quoting the raw key", fmt.Errorf("get object %q: %w", key, errors.New("throttled"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			markers := &fakeMarkers{}
			cs := newStep(t, &fakeAPI{}, &fakeImages{err: tt.err}, markers)
			_, err := cs.Run(context.Background(), "J1", ref, idwise.RunOptions{})
			if err == nil {
				t.Fatal("Run() = nil, want the read failure (retried)")
			}
			released, _, _ := markers.Step(context.Background(), "J1", "gov-face")
			for what, text := range map[string]string{"error": err.Error(), "marker note": fmt.Sprint(released)} {
				if strings.Contains(text, "user-7731") || strings.Contains(text, url.PathEscape(ref)) {
					t.Errorf("%s = %q, names the referenceNo", what, text)
				}
			}
			if !strings.Contains(err.Error(), "reference image ") {
				t.Errorf("Run() error = %q, want the key replaced by \"reference image <hash>\"", err)
			}
			if tt.err == netErr && !errors.As(err, new(*url.Error)) {
				t.Errorf("Run() error = %v, want it still to unwrap to the *url.Error", err)
			}
		})
	}
}
