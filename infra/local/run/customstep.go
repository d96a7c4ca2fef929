package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/kycbackend/kyc/infra/local/meter"
	"github.com/kycbackend/kyc/shared/vendors/idwise"
	"github.com/kycbackend/kyc/shared/vendors/idwise/idwiseauth"
	"github.com/kycbackend/kyc/shared/vendors/idwise/idwisesim"
)

// customStep is the IDWise custom journey step of a local run (KYC_CUSTOM_STEP=1): a
// bucket of reference images on moto with one demo image, and the template parameters
// that turn the step on.
type customStep struct {
	Enabled  bool
	StepID   string // KYC_CUSTOM_STEP_ID [gov-face]
	StepType string // KYC_CUSTOM_STEP_TYPE [face]
	Bucket   string // KYC_REFERENCE_IMAGE_BUCKET [kyc-local-reference-images]
	DemoRef  string // KYC_DEMO_REFERENCE_NO [customer-0001]: the profile that has an image

	demoKey  string
	demoSize int
}

func loadCustomStep() customStep {
	return customStep{
		Enabled:  envOr("KYC_CUSTOM_STEP", "0") == "1",
		StepID:   envOr("KYC_CUSTOM_STEP_ID", "gov-face"),
		StepType: envOr("KYC_CUSTOM_STEP_TYPE", "face"),
		Bucket:   envOr("KYC_REFERENCE_IMAGE_BUCKET", prefix+"reference-images"),
		DemoRef:  envOr("KYC_DEMO_REFERENCE_NO", "customer-0001"),
	}
}

// setup creates the bucket and the demo user's image (a generated JPEG) on moto, and
// returns the template parameters of the custom step (key template: the template's default).
func (c *customStep) setup(ctx context.Context, awsCfg aws.Config) (map[string]string, error) {
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = true })
	_, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(c.Bucket)})
	var owned *s3types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		return nil, fmt.Errorf("create bucket %s: %w", c.Bucket, err)
	}
	img, err := demoFace()
	if err != nil {
		return nil, err
	}
	c.demoKey, c.demoSize = strings.ReplaceAll("faces/{referenceNo}.jpg", "{referenceNo}", c.DemoRef), len(img)
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(c.Bucket), Key: aws.String(c.demoKey),
		Body: bytes.NewReader(img), ContentType: aws.String("image/jpeg")}); err != nil {
		return nil, fmt.Errorf("put demo image: %w", err)
	}
	return map[string]string{"CustomStepId": c.StepID, "CustomStepType": c.StepType, "ReferenceImageBucket": c.Bucket}, nil
}

// demoFace is a small generated JPEG (a gradient; the simulator does not look at faces).
func demoFace() ([]byte, error) {
	img := image.NewGray(image.Rect(0, 0, 32, 32))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		return nil, fmt.Errorf("encode demo image: %w", err)
	}
	return buf.Bytes(), nil
}

func (c customStep) banner(out io.Writer, simURL, fusCurl string) {
	if !c.Enabled {
		return
	}
	fmt.Fprintln(out, "IDWise custom step (KYC_CUSTOM_STEP=1)")
	fmt.Fprintf(out, "  step %s (type %s); reference images s3://%s/faces/{referenceNo}.jpg on moto\n", c.StepID, c.StepType, c.Bucket)
	fmt.Fprintf(out, "  demo image for %s: s3://%s/%s (JPEG, %d bytes); other profiles have none\n", c.DemoRef, c.Bucket, c.demoKey, c.demoSize)
	fmt.Fprintf(out, "  curl -s -X PUT %s/_sim/journeys/6720a1b2c3d4e5f6a7b8c22e -d @shared/vendors/idwise/testdata/journey-result.json\n", simURL)
	fmt.Fprintln(out, "  "+fusCurl)
	fmt.Fprintln(out, "  timeline: Process Custom Journey Step, Complete Custom Step, then the simulator sends Finished Journey")
}

// simCalls prints the simulated IDWise API's calls on the timeline and, after a
// successful Complete Custom Step, has the simulator send Finished Journey to the webhook,
// as IDWise does once it has decided.
type simCalls struct {
	out    io.Writer
	sim    atomic.Pointer[idwisesim.Server]
	sender atomic.Pointer[idwisesim.Sender] // nil until the webhook URL is known
	ctx    context.Context
	seq    atomic.Int64
	meter  *meter.Meter
}

func (c *simCalls) onCall(call idwisesim.Call) {
	if c.meter != nil {
		c.meter.IDWiseRequest()
	}
	ids := ""
	if call.JourneyID != "" && !strings.Contains(call.Path, call.JourneyID) {
		ids = " journey " + call.JourneyID
	}
	if call.StepID != "" {
		ids += " step " + call.StepID
	}
	timeline(c.out, "idwise", "%s %s%s -> %d", call.Method, call.Path, ids, call.Status)
	sender, sim := c.sender.Load(), c.sim.Load()
	if call.Endpoint != idwisesim.EndpointCompleteCustomStep || call.Status != 200 || sender == nil || sim == nil || call.JourneyID == "" {
		return
	}
	j, ok := sim.Journey(call.JourneyID)
	if !ok {
		return
	}
	decision := j.SystemDecision
	if decision == "" {
		decision = idwise.DecisionComplete
	}
	ev := idwisesim.Event{Name: idwise.FinishedJourney, Body: map[string]string{
		"eventId": fmt.Sprintf("sim-fj-%s-%d", call.JourneyID, c.seq.Add(1)), "journeyId": call.JourneyID,
		"referenceNo": j.ReferenceNumber, "systemDecision": decision}}
	go func() {
		for _, d := range sender.Send(c.ctx, []idwisesim.Event{ev}) {
			timeline(c.out, "idwise", "Finished Journey sent for journey %s (after Complete Custom Step) -> %d", call.JourneyID, d.Status)
		}
	}()
}

// webhookSender sends webhooks to the local IDWise route with make run's credentials.
func webhookSender(base string, s settings) (*idwisesim.Sender, error) {
	return idwisesim.NewSender(idwisesim.SenderConfig{URL: base + "/webhooks/idwise", Retries: []time.Duration{},
		Auth: idwisesim.WebhookAuth{Mode: idwiseauth.Mode(s.AuthMode), Username: s.Username, Secret: s.Secret, Header: s.Header}})
}
