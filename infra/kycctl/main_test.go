package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/kycbackend/kyc/shared/aws/dynamo"
	"github.com/kycbackend/kyc/shared/aws/dynamo/dynamotest"
	"github.com/kycbackend/kyc/shared/compose"
	"github.com/kycbackend/kyc/shared/core/inbox"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/vendors/idwise"
	"github.com/kycbackend/kyc/shared/vendors/idwise/idwisesim"
	"github.com/kycbackend/kyc/shared/vendors/veriff/veriffsim"
)

// TestCommands runs every command as an operator would, against the emulators, with the
// configuration in the environment as the processor has it. shared/app/ops tests the logic in
// depth; this checks the wiring, the flags, the output and the exit codes.
func TestCommands(t *testing.T) {
	ctx := context.Background()
	cfg := dynamotest.AWSConfig(t)
	db, table := dynamotest.NewTable(t)
	topic, err := sns.NewFromConfig(cfg).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(table + "-status")})
	if err != nil {
		t.Fatal(err)
	}
	sec, err := secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(table + "/idwise-api"),
		SecretString: aws.String(`{"apiKey":"k","apiSecret":"s"}`)})
	if err != nil {
		t.Fatal(err)
	}
	sim := idwisesim.New(idwisesim.Config{APIKey: "k", APISecret: "s"})
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	vsec, err := secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(table + "/veriff"),
		SecretString: aws.String(`{"apiKey":"vk","sharedSecret":"vs"}`)})
	if err != nil {
		t.Fatal(err)
	}
	vsim := veriffsim.New(veriffsim.Config{APIKey: "vk", SharedSecret: "vs"})
	vsrv := httptest.NewServer(vsim)
	defer vsrv.Close()
	env := map[string]string{"TABLE_NAME": table, "STATUS_TOPIC_ARN": aws.ToString(topic.TopicArn), "JOURNEY_OWNERSHIP": "vendor", "IDWISE_NOT_FOUND_RETRY_MINUTES": "0",
		"IDWISE_API_SECRET_ARN": aws.ToString(sec.ARN), "IDWISE_API_BASE_URL": srv.URL + "/",
		"VERIFF_SECRET_ARN": aws.ToString(vsec.ARN), "VERIFF_API_BASE_URL": vsrv.URL}
	getenv := func(k string) string { return env[k] }
	proc, err := compose.NewProcessing(compose.Runtime{AWS: cfg, Getenv: getenv, Metrics: io.Discard}, "test")
	if err != nil {
		t.Fatal(err)
	}
	in := inbox.New(dynamo.NewInbox(db, table), nil, time.Hour)
	deliver := func(body string) {
		e, err := idwise.ParseEvent([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := in.Accept(ctx, e); err != nil {
			t.Fatal(err)
		}
		stored, _, err := dynamo.NewInbox(db, table).Event(ctx, e.Provider, e.EventID)
		if err != nil {
			t.Fatal(err)
		}
		if err := proc.Service.Process(ctx, stored); err != nil {
			t.Fatal(err)
		}
	}
	// evt-1 fails: IDWise does not know j-1 yet.
	deliver(`{"event":"Finished Journey","body":{"eventId":"evt-1","journeyId":"j-1","referenceNo":"cust-1","systemDecision":"Refer"}}`)
	sim.SetJourney(idwise.Journey{JourneyID: "j-1", ReferenceNumber: "cust-1", SystemDecision: "Refer", FinalDecision: "Refer",
		Documents: map[string]idwise.Document{"0": {DocumentType: "Passport", ExtractedFields: map[string]idwise.ExtractedField{"Full Name": {Value: "Jane Roe"}}}}})
	if _, err := in.Quarantine(ctx, idwise.Provider, []byte(`{"event":1}`), "event"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := dynamo.NewStore(db, table, time.Hour).PutClaim(ctx, kyc.Claim{Provider: idwise.Provider, JourneyID: "j-c",
		ReferenceNo: "squatter", Source: kyc.ClaimByApp, ClaimedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		args     []string
		env      map[string]string // replaces the environment
		before   func()
		wantCode int
		want     []string // in stdout
		wantErr  string   // in stderr
	}{
		{name: "no command", args: nil, wantCode: 2, wantErr: "Usage: kycctl"},
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: 2, wantErr: `unknown command "frobnicate"`},
		{name: "no table", args: []string{"events"}, env: map[string]string{}, wantCode: 1, wantErr: "TABLE_NAME (or -table) is required"},
		{name: "table by flag", args: []string{"events", "-failed", "-table", table}, env: map[string]string{},
			want: []string{"failed", "evt-1", "j-1", "Finished Journey", "not found"}},
		{name: "events", args: []string{"events"}, want: []string{"KIND", "failed", "evt-1", "quarantined", "body not understood: event"}},
		{name: "replay needs an id", args: []string{"replay"}, wantCode: 2, wantErr: "want exactly one event id"},
		{name: "replay without processor configuration", args: []string{"replay", "evt-1"}, env: map[string]string{"TABLE_NAME": table},
			wantCode: 1, wantErr: "processor configuration: "},
		{name: "replay", args: []string{"replay", "evt-1"}, want: []string{"evt-1", "failed", "processed", "status IN_REVIEW"}},
		{name: "replay again: nothing to do", args: []string{"replay", "evt-1", "-json"}, want: []string{`"replayed": false`, `"after": "processed"`}},
		{name: "replay unknown", args: []string{"replay", "evt-nope"}, wantCode: 1, wantErr: "not found"},
		{name: "replay a range", args: []string{"replay", "-from", "2020-01-01T00:00:00Z"}, want: []string{"no failed event in that range"}},
		{name: "replay a bad range", args: []string{"replay", "-from", "yesterday"}, wantCode: 2, wantErr: "RFC 3339"},
		{name: "refetch", args: []string{"refetch", "j-1"}, before: func() { _ = sim.Review("j-1", "Approved") },
			want: []string{"IN_REVIEW -> APPROVED", "manualDecision=Approved", "kycctl-refetch-"}},
		{name: "refetch a veriff session", args: []string{"refetch", "-provider", "veriff", "sess-v1"}, before: func() {
			d, _ := vsim.Decision("sess-v1", "declined", time.Now())
			_ = vsim.SetDecision("sess-v1", []byte(strings.Replace(string(d), `"vendorData":""`, `"vendorData":"cust-v1"`, 1)))
		}, want: []string{"veriff/sess-v1", "cust-v1", "-> REJECTED", "decisionCode=9102", "kycctl-refetch-"}},
		{name: "refetch a veriff session Veriff does not know", args: []string{"refetch", "-provider", "veriff", "sess-nope"}, wantCode: 1, wantErr: "veriff: not found"},
		{name: "history", args: []string{"history", "cust-1"}, want: []string{"profile cust-1: APPROVED", "IN_REVIEW", "APPROVED"}},
		{name: "flags go after the command", args: []string{"-v", "timeline", "j-1"}, wantCode: 2, wantErr: `unknown command "-v"`},
		{name: "timeline", args: []string{"timeline", "j-1"}, want: []string{"evt-1", "(kycctl)", "finalDecision=Approved", "systemDecision=Refer"}},
		{name: "claims", args: []string{"claims"}, want: []string{"JOURNEY", "j-c", "squatter", "app", "unverified"}},
		{name: "claims of a user", args: []string{"claims", "-user", "nobody"}, want: []string{"no claims"}},
		{name: "claims of a journey", args: []string{"claims", "-json", "j-c"}, want: []string{`"referenceNo": "squatter"`}},
		{name: "claims reassign", args: []string{"claims", "-reassign-to", "rightful", "j-c"}, want: []string{"squatter", "rightful", "kycctl-claim-"}},
		{name: "claims after the reassignment", args: []string{"claims", "j-c"}, want: []string{"rightful", "operator"}},
		{name: "timeline shows the reassignment", args: []string{"timeline", "j-c"}, want: []string{"Operator Claim Reassigned", "(kycctl)", "to rightful"}},
		{name: "claims release needs one id", args: []string{"claims", "-release"}, wantCode: 2, wantErr: "want exactly one journey id"},
		{name: "claims release and reassign", args: []string{"claims", "-release", "-reassign-to", "x", "j-c"}, wantCode: 2, wantErr: "exclude each other"},
		{name: "claims release", args: []string{"claims", "-release", "j-c"}, want: []string{"rightful", "released by an operator"}},
		{name: "claims release again", args: []string{"claims", "-release", "j-c"}, wantCode: 1, wantErr: "not found"},
		{name: "erase dry run", args: []string{"erase", "cust-1"}, want: []string{"dry run", "would delete", "events=2", "journeys=1"}},
		{name: "erase", args: []string{"erase", "-yes", "cust-1"}, want: []string{"erased profile cust-1", "deleted", "events=2", "journeys=1", "profile=1"}},
		{name: "history after erasure", args: []string{"history", "cust-1"}, want: []string{"profile cust-1: erased"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.before != nil {
				tt.before()
			}
			g := getenv
			if tt.env != nil {
				g = func(k string) string { return tt.env[k] }
			}
			var stdout, stderr bytes.Buffer
			code := run(ctx, tt.args, g, &stdout, &stderr)
			if code != tt.wantCode {
				t.Fatalf("run(%q) = %d, want %d\nstdout: %s\nstderr: %s", tt.args, code, tt.wantCode, stdout.String(), stderr.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("run(%q) stdout lacks %q:\n%s", tt.args, w, stdout.String())
				}
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("run(%q) stderr = %q, want it to contain %q", tt.args, stderr.String(), tt.wantErr)
			}
			if strings.Contains(stdout.String()+stderr.String(), "Jane Roe") {
				t.Errorf("run(%q) printed journey details", tt.args)
			}
		})
	}

	var stdout bytes.Buffer
	if code := run(ctx, []string{"events", "-json"}, getenv, &stdout, io.Discard); code != 0 {
		t.Fatalf("events -json = %d", code)
	}
	var got []map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil || len(got) != 1 || got[0]["kind"] != "quarantined" {
		t.Errorf("events -json = %s (%v), want one quarantined item", stdout.String(), err)
	}
}

// TestCompleteStepCommand completes journeys' custom steps on demand, as the processor's
// configuration has it (the reference images in a bucket on moto), and never twice.
func TestCompleteStepCommand(t *testing.T) {
	ctx := context.Background()
	cfg := dynamotest.AWSConfig(t)
	_, table := dynamotest.NewTable(t)
	topic, err := sns.NewFromConfig(cfg).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(table + "-status")})
	if err != nil {
		t.Fatal(err)
	}
	sec, err := secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(table + "/idwise-api"),
		SecretString: aws.String(`{"apiKey":"k","apiSecret":"s"}`)})
	if err != nil {
		t.Fatal(err)
	}
	bucket := "kycctl-faces-" + strings.ToLower(strings.ReplaceAll(table, "_", "-"))
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	face := append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, make([]byte, 60)...)
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("faces/cust-7.jpg"), Body: bytes.NewReader(face)}); err != nil {
		t.Fatal(err)
	}
	sim := idwisesim.New(idwisesim.Config{APIKey: "k", APISecret: "s"})
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	sim.SetJourney(idwise.Journey{JourneyID: "j-7", ReferenceNumber: "cust-7", SystemDecision: "Complete"})
	sim.SetJourney(idwise.Journey{JourneyID: "j-8", ReferenceNumber: "cust-8", SystemDecision: "Complete"})
	base := map[string]string{"TABLE_NAME": table, "STATUS_TOPIC_ARN": aws.ToString(topic.TopicArn), "JOURNEY_OWNERSHIP": "vendor",
		"IDWISE_API_SECRET_ARN": aws.ToString(sec.ARN), "IDWISE_API_BASE_URL": srv.URL + "/"}
	env := map[string]string{"IDWISE_CUSTOM_STEP_ID": "gov-face", "IDWISE_REFERENCE_IMAGE_BUCKET": bucket}
	for k, v := range base {
		env[k] = v
	}

	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantCode int
		want     []string
		wantErr  string
	}{
		{name: "needs a journey id", args: []string{"complete-step"}, wantCode: 2, wantErr: "want exactly one journey id"},
		{name: "custom step not configured", args: []string{"complete-step", "j-7"}, env: base, wantCode: 1, wantErr: "custom step not configured"},
		{name: "unknown here: the referenceNo comes from IDWise", args: []string{"complete-step", "j-7"},
			want: []string{"custom step", "gov-face: - -> completed", "kycctl-complete-step-", "processed", "image submitted (image/jpeg, 64 bytes); completed"}},
		{name: "again: never twice", args: []string{"complete-step", "j-7"}, want: []string{"gov-face: completed -> completed", "already completed"}},
		{name: "without the image", args: []string{"complete-step", "-no-image", "j-8", "-json"},
			want: []string{`"after": "completed"`, `"withoutImage": true`, "completed by an operator without one"}},
		{name: "timeline shows it", args: []string{"timeline", "j-7"}, want: []string{"Complete Custom Step", "(kycctl)", "image submitted"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := env
			if tt.env != nil {
				e = tt.env
			}
			var stdout, stderr bytes.Buffer
			code := run(ctx, tt.args, func(k string) string { return e[k] }, &stdout, &stderr)
			if code != tt.wantCode {
				t.Fatalf("run(%q) = %d, want %d\nstdout: %s\nstderr: %s", tt.args, code, tt.wantCode, stdout.String(), stderr.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("run(%q) stdout lacks %q:\n%s", tt.args, w, stdout.String())
				}
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("run(%q) stderr = %q, want it to contain %q", tt.args, stderr.String(), tt.wantErr)
			}
		})
	}
	if n, c := len(sim.Steps()), sim.Completed("j-7"); n != 1 || c != 1 {
		t.Errorf("j-7: %d submissions, %d completions; want 1, 1", n, c)
	}
	if c := sim.Completed("j-8"); c != 1 {
		t.Errorf("j-8: %d completions, want 1", c)
	}
}
