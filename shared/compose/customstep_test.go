package compose_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/kycbackend/kyc/shared/aws/dynamo"
	"github.com/kycbackend/kyc/shared/aws/dynamo/dynamotest"
	"github.com/kycbackend/kyc/shared/compose"
	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/vendors/idwise"
	"github.com/kycbackend/kyc/shared/vendors/idwise/idwisesim"
)

const (
	testStepID   = "gov-face"
	testMaxBytes = 4096
)

// faceJPEG is a real (tiny) JPEG, as a customer's face database would hold.
func faceJPEG(t testing.TB) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 16, 16))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	img.Set(3, 3, color.Gray{Y: 255})
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// newCustomStepPipeline is the processing pipeline with the custom step configured and a
// bucket of reference images on moto: faces/<ref>.jpg for the given objects.
func newCustomStepPipeline(t *testing.T, objects map[string][]byte) *pipeline {
	t.Helper()
	ctx := context.Background()
	cfg := dynamotest.AWSConfig(t)
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	bucket := fmt.Sprintf("kyc-faces-%d", time.Now().UnixNano())
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	for ref, body := range objects {
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("faces/" + ref + ".jpg"),
			Body: bytes.NewReader(body)}); err != nil {
			t.Fatalf("put image of %s: %v", ref, err)
		}
	}
	return newPipeline(t, "IDWISE_CUSTOM_STEP_ID", testStepID, "IDWISE_CUSTOM_STEP_TYPE", "face",
		"IDWISE_REFERENCE_IMAGE_BUCKET", bucket, "IDWISE_REFERENCE_IMAGE_KEY_TEMPLATE", "faces/{referenceNo}.jpg",
		"IDWISE_REFERENCE_IMAGE_MAX_BYTES", fmt.Sprint(testMaxBytes))
}

// stepsOf is what the simulator received for the journey (Process Custom Journey Step).
func stepsOf(sim *idwisesim.Server, journeyID string) []idwisesim.Step {
	var out []idwisesim.Step
	for _, s := range sim.Steps() {
		if s.JourneyID == journeyID {
			out = append(out, s)
		}
	}
	return out
}

func (p *pipeline) eventNote(e inbox.Event) string {
	p.t.Helper()
	pk, sk := dynamo.EventKey(e.Provider, e.EventID)
	out, err := p.ddb.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(p.table),
		Key:            map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}},
		ConsistentRead: aws.Bool(true)})
	if err != nil {
		p.t.Fatal(err)
	}
	v, _ := out.Item["note"].(*types.AttributeValueMemberS)
	if v == nil {
		return ""
	}
	return v.Value
}

func TestCustomStepOnFinishedUserSteps(t *testing.T) {
	face := faceJPEG(t)
	p := newCustomStepPipeline(t, map[string][]byte{
		"cs-present":  face,
		"cs-large":    append(append([]byte{}, face[:3]...), bytes.Repeat([]byte{0}, testMaxBytes)...),
		"cs-notimage": []byte("GIF89a: not what the face database should hold"),
	})
	tests := []struct {
		name      string
		ref       string
		wantImage bool
		wantNote  string
	}{
		{name: "image present", ref: "cs-present", wantImage: true, wantNote: fmt.Sprintf("custom step gov-face: image submitted (image/jpeg, %d bytes); completed", len(face))},
		{name: "image missing", ref: "cs-missing", wantNote: "custom step gov-face: no image submitted: no reference image for this profile; completed"},
		{name: "image too large", ref: "cs-large", wantNote: fmt.Sprintf("custom step gov-face: no image submitted: reference image larger than %d bytes; completed", testMaxBytes)},
		{name: "not an image", ref: "cs-notimage", wantNote: "custom step gov-face: no image submitted: reference image is not a JPEG or PNG; completed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jid := "j-" + tt.ref
			p.journey(jid, tt.ref, "Complete", "", "")
			e, _ := p.deliver(body(idwise.FinishedUserSteps, "fus-"+tt.ref, jid, tt.ref, "systemDecision", "Complete"))
			p.mustProcess(e)

			steps := stepsOf(p.sim, jid)
			switch {
			case tt.wantImage && len(steps) != 1:
				t.Fatalf("simulator received %d submissions, want 1", len(steps))
			case tt.wantImage:
				s := steps[0]
				if s.StepID != testStepID || s.StepType != "face" || s.ContentType != "image/jpeg" || s.Filename != "image.jpg" || !bytes.Equal(s.Image, face) {
					t.Errorf("submission = {step %q, type %q, %q, %q, %d bytes}, want step gov-face (face), image/jpeg, image.jpg, the %d bytes of the bucket",
						s.StepID, s.StepType, s.ContentType, s.Filename, len(s.Image), len(face))
				}
			case len(steps) != 0:
				t.Errorf("simulator received %d submissions, want none", len(steps))
			}
			if n := p.sim.Completed(jid); n != 1 {
				t.Errorf("Completed(%s) = %d, want 1 (IDWise needs the completion even without an image)", jid, n)
			}
			if note := p.eventNote(e); !strings.Contains(note, tt.wantNote) {
				t.Errorf("timeline note = %q, want it to contain %q", note, tt.wantNote)
			}
			if state, _ := p.eventState(e); state != "processed" {
				t.Errorf("event state = %q, want processed", state)
			}
			if got := p.profile(tt.ref).Status; got != kyc.PendingVerification {
				t.Errorf("status = %s, want PENDING_VERIFICATION", got)
			}
			m, found, err := p.proc.Store.Step(context.Background(), jid, testStepID)
			if err != nil || !found || m.State != idwise.StepCompleted || m.Claimed || m.Attempts != 1 {
				t.Errorf("marker = %+v (found %v, %v), want completed after one attempt, unclaimed", m, found, err)
			}
		})
	}

	t.Run("face match outcome stored after Finished Journey", func(t *testing.T) {
		// IDWise decided with the reference image and sends Finished Journey.
		e, _ := p.deliver(body(idwise.FinishedJourney, "fj-cs-present", "j-cs-present", "cs-present", "systemDecision", "Complete"))
		p.mustProcess(e)
		j, found, err := p.proc.Store.Journey(context.Background(), idwise.Provider, "j-cs-present")
		if err != nil || !found {
			t.Fatalf("journey not stored: %v", err)
		}
		if got := j.Details["screening_checks.additional_face_db.result"]; got != "Passed" {
			t.Errorf("details[screening_checks.additional_face_db.result] = %q, want Passed (details %v)", got, j.Details)
		}
		if j.Details["screening_checks.additional_face_db.match_score"] == "" {
			t.Errorf("details lack screening_checks.additional_face_db.match_score: %v", j.Details)
		}
		if got := p.profile("cs-present").Status; got != kyc.Approved {
			t.Errorf("status = %s, want APPROVED", got)
		}
		if n := len(stepsOf(p.sim, "j-cs-present")); n != 1 {
			t.Errorf("Finished Journey submitted again: %d submissions, want 1", n)
		}
	})
	p.messages() // drain
}

func TestCustomStepSubmitFailsThenRecovers(t *testing.T) {
	face := faceJPEG(t)
	p := newCustomStepPipeline(t, map[string][]byte{"cs-flaky": face})
	p.journey("j-flaky", "cs-flaky", "Complete", "", "")
	e, _ := p.deliver(body(idwise.FinishedUserSteps, "fus-flaky", "j-flaky", "cs-flaky"))

	// Every attempt of the client's retries answers 503: the event is retried later.
	p.sim.Fail(idwisesim.EndpointProcessCustomStep, 4, idwisesim.Fault{Status: 503})
	if err := p.process(e); err == nil || errors.Is(err, kyc.ErrPermanent) {
		t.Fatalf("Process() with IDWise down = %v, want a retryable error", err)
	}
	if state, pending := p.eventState(e); state != "pending" || pending != dynamo.PendingValue {
		t.Errorf("event = %q in %q, want still pending (the stream or the sweeper retries it)", state, pending)
	}
	if n, c := len(stepsOf(p.sim, "j-flaky")), p.sim.Completed("j-flaky"); n != 0 || c != 0 {
		t.Errorf("accepted submissions %d, completions %d while IDWise fails; want 0, 0", n, c)
	}
	if m, _, _ := p.proc.Store.Step(context.Background(), "j-flaky", testStepID); m.State != idwise.StepSubmitting || m.Claimed {
		t.Errorf("marker = %+v, want submitting and released for the retry", m)
	}

	// IDWise recovers; the completion fails once more, then the retries finish it.
	p.sim.Fail(idwisesim.EndpointCompleteCustomStep, 4, idwisesim.Fault{Status: 500})
	if err := p.process(e); err == nil {
		t.Fatal("Process() with Complete Custom Step down = nil, want an error")
	}
	if m, _, _ := p.proc.Store.Step(context.Background(), "j-flaky", testStepID); m.State != idwise.StepSubmitted {
		t.Errorf("marker = %+v, want submitted (only the completion is left)", m)
	}
	p.mustProcess(e)
	if n, c := len(stepsOf(p.sim, "j-flaky")), p.sim.Completed("j-flaky"); n != 1 || c != 1 {
		t.Errorf("accepted submissions %d, completions %d; want 1, 1", n, c)
	}
	if note := p.eventNote(e); !strings.Contains(note, "image submitted (image/jpeg") || !strings.Contains(note, "; completed") {
		t.Errorf("note = %q, want the submission and the completion", note)
	}
	p.messages()
}

func TestCustomStepRedeliveriesNeverSubmitTwice(t *testing.T) {
	p := newCustomStepPipeline(t, map[string][]byte{"cs-redeliver": faceJPEG(t)})
	p.journey("j-redeliver", "cs-redeliver", "Complete", "", "")
	fus := body(idwise.FinishedUserSteps, "fus-redeliver", "j-redeliver", "cs-redeliver")
	e, accepted := p.deliver(fus)
	if !accepted {
		t.Fatal("first delivery not accepted")
	}
	if _, accepted := p.deliver(fus); accepted { // IDWise's retry of the same event
		t.Error("redelivery accepted again, want a duplicate")
	}
	// The stream delivers the record to several processors at once (retries, the sweeper):
	// each retries while another holds the claim, as the stream would.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			for attempt := 0; attempt < 100; attempt++ {
				if err = p.process(e); err == nil || !errors.Is(err, idwise.ErrStepBusy) {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Process() = %v", err)
		}
	}
	// Processed again later (a replayed or re-sent Finished User Steps, another event id).
	p.mustProcess(e)
	again, _ := p.deliver(body(idwise.FinishedUserSteps, "fus-redeliver-2", "j-redeliver", "cs-redeliver"))
	p.mustProcess(again)

	if n, c := len(stepsOf(p.sim, "j-redeliver")), p.sim.Completed("j-redeliver"); n != 1 || c != 1 {
		t.Errorf("submissions %d, completions %d after redeliveries; want exactly 1, 1", n, c)
	}
	if note := p.eventNote(again); !strings.Contains(note, "custom step gov-face: already completed") {
		t.Errorf("note of the later event = %q, want already completed", note)
	}
	p.messages()
}

func TestLoadCustomStepConfig(t *testing.T) {
	base := map[string]string{"TABLE_NAME": "t", "STATUS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:t", "IDWISE_API_SECRET_ARN": "s"}
	tests := []struct {
		name    string
		env     []string
		want    idwise.CustomStepConfig
		bucket  string
		wantErr string
	}{
		{name: "off by default", want: idwise.CustomStepConfig{}},
		{name: "on with defaults", env: []string{"IDWISE_CUSTOM_STEP_ID", "7", "IDWISE_REFERENCE_IMAGE_BUCKET", "faces"},
			want: idwise.CustomStepConfig{StepID: "7", KeyTemplate: "faces/{referenceNo}.jpg"}, bucket: "faces"},
		{name: "everything", env: []string{"IDWISE_CUSTOM_STEP_ID", "gov", "IDWISE_CUSTOM_STEP_TYPE", "face", "IDWISE_REFERENCE_IMAGE_KEY_TEMPLATE", "x/{journeyId}.png",
			"IDWISE_REFERENCE_IMAGE_MAX_BYTES", "1000"},
			want: idwise.CustomStepConfig{StepID: "gov", StepType: "face", KeyTemplate: "x/{journeyId}.png", MaxImageBytes: 1000}},
		{name: "bad size", env: []string{"IDWISE_CUSTOM_STEP_ID", "7", "IDWISE_REFERENCE_IMAGE_MAX_BYTES", "5MB"}, wantErr: "IDWISE_REFERENCE_IMAGE_MAX_BYTES"},
		{name: "bad template", env: []string{"IDWISE_CUSTOM_STEP_ID", "7", "IDWISE_REFERENCE_IMAGE_KEY_TEMPLATE", "{user}.jpg"}, wantErr: "only {referenceNo} and {journeyId}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := compose.LoadProcessingConfig(getenv(with(base, tt.env...)))
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("LoadProcessingConfig() error = %v, want %q", err, tt.wantErr)
			}
			if err == nil && (c.CustomStep != tt.want || c.ReferenceImageBucket != tt.bucket) {
				t.Errorf("custom step = %+v bucket %q, want %+v bucket %q", c.CustomStep, c.ReferenceImageBucket, tt.want, tt.bucket)
			}
		})
	}
}
