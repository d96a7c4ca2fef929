package compose_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/kycbackend/kyc/infra/local/httpapi"
	"github.com/kycbackend/kyc/infra/local/jwt"
	"github.com/kycbackend/kyc/infra/local/provision"
	"github.com/kycbackend/kyc/shared/aws/dynamo"
	"github.com/kycbackend/kyc/shared/aws/dynamo/dynamotest"
	"github.com/kycbackend/kyc/shared/compose"
	"github.com/kycbackend/kyc/shared/core/devices"
	"github.com/kycbackend/kyc/shared/core/kyc"
	"github.com/kycbackend/kyc/shared/edge/appapi"
)

func TestLoadAPIConfig(t *testing.T) {
	base := map[string]string{"TABLE_NAME": "t", "STATUS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:s"}
	apns := "arn:aws:sns:us-east-1:123456789012:app/APNS/a"
	tests := []struct {
		name    string
		env     map[string]string
		wantErr bool
		check   func(t *testing.T, c compose.APIConfig)
	}{
		{name: "defaults", env: base, check: func(t *testing.T, c compose.APIConfig) {
			if c.ReferenceNoClaim != "sub" || c.MaxDevices != 5 || len(c.PlatformApps) != 0 || c.Retention != 30*24*time.Hour {
				t.Errorf("config = %+v, want claim sub, 5 devices, no platforms, 30 days", c)
			}
		}},
		{name: "claim, platform and cap", env: with(base, "REFERENCE_NO_CLAIM", "custom:ref", "REFERENCE_NO_CLAIM_IMMUTABLE", "true", "APNS_PLATFORM_APPLICATION_ARN", apns, "MAX_DEVICES_PER_PROFILE", "2"),
			check: func(t *testing.T, c compose.APIConfig) {
				if c.ReferenceNoClaim != "custom:ref" || c.MaxDevices != 2 || c.PlatformApps[devices.APNS] != apns || len(c.PlatformApps) != 1 {
					t.Errorf("config = %+v", c)
				}
			}},
		{name: "no callback hosts by default", env: base, check: func(t *testing.T, c compose.APIConfig) {
			if len(c.CallbackHosts) != 0 {
				t.Errorf("callback hosts = %v, want none", c.CallbackHosts)
			}
		}},
		{name: "callback hosts", env: with(base, "VERIFF_CALLBACK_HOSTS", "app.example.com, pay.example.com:8443"), check: func(t *testing.T, c compose.APIConfig) {
			if strings.Join(c.CallbackHosts, ",") != "app.example.com,pay.example.com:8443" {
				t.Errorf("callback hosts = %v", c.CallbackHosts)
			}
		}},
		{name: "a callback host with a scheme is refused", env: with(base, "VERIFF_CALLBACK_HOSTS", "https://app.example.com"), wantErr: true},
		{name: "a wildcard callback host is refused", env: with(base, "VERIFF_CALLBACK_HOSTS", "*.example.com"), wantErr: true},
		{name: "default limits", env: base, check: func(t *testing.T, c compose.APIConfig) {
			if c.Limits != appapi.DefaultLimits {
				t.Errorf("limits = %+v, want %+v", c.Limits, appapi.DefaultLimits)
			}
		}},
		{name: "limits", env: with(base, "JOURNEY_CLAIMS_PER_HOUR", "3", "DEVICE_REGISTRATIONS_PER_HOUR", "0", "VERIFF_SESSIONS_PER_HOUR", "2"),
			check: func(t *testing.T, c compose.APIConfig) {
				if want := (appapi.Limits{JourneysPerHour: 3, DevicesPerHour: 0, VeriffSessionsPerHour: 2}); c.Limits != want {
					t.Errorf("limits = %+v, want %+v", c.Limits, want)
				}
			}},
		{name: "limit not a number", env: with(base, "VERIFF_SESSIONS_PER_HOUR", "many"), wantErr: true},
		{name: "allow flag not a bool", env: with(base, "REFERENCE_NO_CLAIM_IMMUTABLE", "yes please"), wantErr: true},
		{name: "missing table", env: with(base, "TABLE_NAME", ""), wantErr: true},
		{name: "missing topic", env: with(base, "STATUS_TOPIC_ARN", ""), wantErr: true},
		{name: "not a platform application", env: with(base, "FCM_PLATFORM_APPLICATION_ARN", "arn:aws:sns:us-east-1:123456789012:topic"), wantErr: true},
		{name: "cap zero", env: with(base, "MAX_DEVICES_PER_PROFILE", "0"), wantErr: true},
		{name: "cap not a number", env: with(base, "MAX_DEVICES_PER_PROFILE", "five"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := compose.LoadAPIConfig(getenv(tt.env))
			if (err != nil) != tt.wantErr {
				t.Fatalf("LoadAPIConfig() error = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

// The referenceNo claim is an allow-list (issue 20 item 3): sub, or a custom claim the
// operator declares immutable. A claim a user can edit (email, phone_number, nickname,
// preferred_username in Cognito) or one that is the same for every user (client_id, aud)
// would move a user onto another user's profile: the API function refuses to start,
// naming the setting. (Cognito: a custom attribute with Mutable false cannot be changed,
// "If an attribute is immutable, Amazon Cognito throws an error when it attempts to update
// the attribute": https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.aws_cognito.CustomAttributeProps.html)
func TestLoadAPIConfigReferenceClaimAllowList(t *testing.T) {
	base := map[string]string{"TABLE_NAME": "t", "STATUS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:s"}
	tests := []struct {
		claim, immutable string
		wantErr          bool
	}{
		{"", "", false},
		{"sub", "", false},
		{"sub", "true", false},
		{"custom:ref", "true", false},
		{"custom:kyc_ref-1", "true", false},
		{"custom:ref", "", true},
		{"custom:ref", "false", true},
		{"email", "", true},
		{"email", "true", true},
		{"phone_number", "true", true},
		{"nickname", "true", true},
		{"preferred_username", "true", true},
		{"username", "true", true},
		{"cognito:username", "true", true},
		{"client_id", "true", true},
		{"aud", "true", true},
		{"custom:", "true", true},
		{"custom:a b", "true", true},
		{"Sub", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.claim+"/"+tt.immutable, func(t *testing.T) {
			env := with(base, "REFERENCE_NO_CLAIM", tt.claim, "REFERENCE_NO_CLAIM_IMMUTABLE", tt.immutable)
			_, err := compose.LoadAPIConfig(getenv(env))
			if (err != nil) != tt.wantErr {
				t.Fatalf("LoadAPIConfig(claim %q, immutable %q) error = %v, wantErr %v", tt.claim, tt.immutable, err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "REFERENCE_NO_CLAIM") {
				t.Errorf("LoadAPIConfig(claim %q) error = %v, want it to name REFERENCE_NO_CLAIM", tt.claim, err)
			}
			if !tt.wantErr {
				return
			}
			if _, err := compose.API(compose.Runtime{Getenv: getenv(env)}); err == nil || !strings.Contains(err.Error(), "REFERENCE_NO_CLAIM") {
				t.Errorf("API(claim %q) = %v, want the function refused to start naming REFERENCE_NO_CLAIM", tt.claim, err)
			}
		})
	}
}

const (
	testIssuer   = "https://issuer.test"
	testAudience = "kyc-test-app"
)

// apiStack is the app API as deployed, on the emulators: the table on DynamoDB Local, the
// status topic (with a queue to read the status events) and the platform applications on
// moto, the function built by compose.API, behind the template's routes with the local
// JWT authorizer checking real RS256 tokens.
type apiStack struct {
	t        *testing.T
	url      string
	key      *rsa.PrivateKey
	store    *dynamo.Store
	sns      *sns.Client
	sqs      *sqs.Client
	queueURL string
	apps     map[devices.Platform]string
	table    string
	topicARN string
}

func newAPIStack(t *testing.T, extraEnv ...string) *apiStack {
	t.Helper()
	ctx := context.Background()
	cfg := dynamotest.AWSConfig(t)
	client, table := dynamotest.NewTable(t)
	s := &apiStack{t: t, sns: sns.NewFromConfig(cfg), sqs: sqs.NewFromConfig(cfg), apps: map[devices.Platform]string{}, table: table}
	topic, err := s.sns.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(table + "-status")})
	if err != nil {
		t.Fatal(err)
	}
	q, err := s.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(table + "-status")})
	if err != nil {
		t.Fatal(err)
	}
	s.queueURL, s.topicARN = aws.ToString(q.QueueUrl), aws.ToString(topic.TopicArn)
	qa, err := s.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.sns.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"),
		Endpoint: aws.String(qa.Attributes["QueueArn"]), Attributes: map[string]string{"RawMessageDelivery": "true"}}); err != nil {
		t.Fatal(err)
	}
	// APNS and FCM are configured; APNS_SANDBOX is not (refused with a 400).
	for p, platform := range map[devices.Platform]string{devices.APNS: "APNS", devices.FCM: "GCM"} {
		app, err := s.sns.CreatePlatformApplication(ctx, &sns.CreatePlatformApplicationInput{Name: aws.String(table + "-" + platform),
			Platform: aws.String(platform), Attributes: map[string]string{"PlatformCredential": "c"}})
		if err != nil {
			t.Fatal(err)
		}
		s.apps[p] = aws.ToString(app.PlatformApplicationArn)
	}
	env := with(map[string]string{
		"TABLE_NAME": table, "STATUS_TOPIC_ARN": aws.ToString(topic.TopicArn),
		"APNS_PLATFORM_APPLICATION_ARN": s.apps[devices.APNS], "FCM_PLATFORM_APPLICATION_ARN": s.apps[devices.FCM],
		"MAX_DEVICES_PER_PROFILE": "3",
	}, extraEnv...)
	h, err := compose.API(compose.Runtime{AWS: cfg, Getenv: getenv(env), Metrics: io.Discard})
	if err != nil {
		t.Fatalf("API() = %v", err)
	}
	s.store = dynamo.NewStore(client, table, time.Hour)
	s.url, s.key = serveAPI(t, h)
	return s
}

// serveAPI serves h behind template.yaml's ApiFunction routes on the local HTTP API
// (infra/local/httpapi: API Gateway's routing and path decoding) with a JWT authorizer
// checking real RS256 tokens of the test issuer signed with the returned key.
func serveAPI(t *testing.T, h *appapi.Handler) (string, *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	verifier := &jwt.Verifier{Key: &key.PublicKey, Issuer: testIssuer, Audience: []string{testAudience}}
	tpl, err := provision.Load(dynamotest.TemplatePath())
	if err != nil {
		t.Fatal(err)
	}
	var routes []httpapi.Route
	for _, r := range tpl.Routes() {
		if r.FunctionLogicalID != "ApiFunction" {
			continue
		}
		if r.JWT == nil {
			t.Fatalf("template route %s %s has no JWT authorizer", r.Method, r.Path)
		}
		routes = append(routes, httpapi.Route{Method: r.Method, Path: r.Path, Handler: h.Handle, Authorizer: verifier.Authorize})
	}
	if len(routes) != 5 {
		t.Fatalf("ApiFunction routes in template.yaml = %d, want 5", len(routes))
	}
	srv := httptest.NewServer(httpapi.New(routes))
	t.Cleanup(srv.Close)
	return srv.URL, key
}

type tokenOpt func(map[string]any)

func expired(c map[string]any)       { c["exp"] = time.Now().Add(-time.Minute).Unix() }
func otherAudience(c map[string]any) { c["aud"] = "someone-elses-app" }

// token is a real RS256 JWT of the test issuer for ref.
func (s *apiStack) token(ref string, opts ...tokenOpt) string {
	c := map[string]any{"iss": testIssuer, "aud": testAudience, "sub": ref, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}
	for _, o := range opts {
		o(c)
	}
	tok, err := jwt.Sign(s.key, "test", c)
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

type reply struct {
	status int
	header http.Header
	body   string
}

func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

// errorField is the error body's code and field.
func (r reply) errorField() (code, field string) {
	var e struct{ Error struct{ Code, Field string } }
	_ = json.Unmarshal([]byte(r.body), &e)
	return e.Error.Code, e.Error.Field
}

func (s *apiStack) do(method, path, token, body string, headers ...string) reply {
	s.t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// statusEvents drains the status events published so far.
func (s *apiStack) statusEvents() []kyc.StatusEvent {
	s.t.Helper()
	var out []kyc.StatusEvent
	for {
		r, err := s.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.queueURL), MaxNumberOfMessages: 10})
		if err != nil {
			s.t.Fatal(err)
		}
		if len(r.Messages) == 0 {
			return out
		}
		for _, m := range r.Messages {
			var ev kyc.StatusEvent
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &ev); err != nil {
				s.t.Fatalf("not a status event: %s", aws.ToString(m.Body))
			}
			out = append(out, ev)
			_, _ = s.sqs.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(s.queueURL), ReceiptHandle: m.ReceiptHandle})
		}
	}
}

func TestAPIAuth(t *testing.T) {
	s := newAPIStack(t)
	a := s.token("customer-a")
	unauthorized := `{"message":"Unauthorized"}`
	tests := []struct {
		name       string
		method     string
		path       string
		token      string
		body       string
		wantStatus int
		wantBody   string
	}{
		{"no token", "GET", "/v1/profiles/customer-a", "", "", 401, unauthorized},
		{"expired token", "GET", "/v1/profiles/customer-a", s.token("customer-a", expired), "", 401, unauthorized},
		{"wrong audience", "GET", "/v1/profiles/customer-a", s.token("customer-a", otherAudience), "", 401, unauthorized},
		{"not a JWT", "POST", "/v1/devices", "local-webhook-secret", `{}`, 401, unauthorized},
		{"own profile, none yet", "GET", "/v1/profiles/customer-a", a, "", 404, ""},
		{"another user's profile", "GET", "/v1/profiles/customer-b", a, "", 403, ""},
		{"a journey for another user", "POST", "/v1/journeys", a, `{"journeyId":"j-1","referenceNo":"customer-b"}`, 403, ""},
		{"token without a usable referenceNo", "GET", "/v1/profiles/x", s.token("bad ref"), "", 403, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.do(tt.method, tt.path, tt.token, tt.body)
			if got.status != tt.wantStatus || (tt.wantBody != "" && got.body != tt.wantBody) {
				t.Errorf("%s %s = %d %s, want %d %s", tt.method, tt.path, got.status, got.body, tt.wantStatus, tt.wantBody)
			}
		})
	}
	if evs := s.statusEvents(); len(evs) != 0 {
		t.Errorf("status events = %+v, want none from refused requests", evs)
	}
}

func TestAPIValidation(t *testing.T) {
	s := newAPIStack(t)
	a := s.token("customer-a")
	long := strings.Repeat("j", 257)
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		headers    []string
		wantStatus int
		wantCode   string
		wantField  string
	}{
		{"journey: no journeyId", "POST", "/v1/journeys", `{"referenceNo":"customer-a"}`, nil, 400, "invalid_field", "journeyId"},
		{"journey: empty journeyId", "POST", "/v1/journeys", `{"journeyId":"","referenceNo":"customer-a"}`, nil, 400, "invalid_field", "journeyId"},
		{"journey: journeyId with #", "POST", "/v1/journeys", `{"journeyId":"j#1","referenceNo":"customer-a"}`, nil, 400, "invalid_field", "journeyId"},
		{"journey: journeyId with a space", "POST", "/v1/journeys", `{"journeyId":"j 1","referenceNo":"customer-a"}`, nil, 400, "invalid_field", "journeyId"},
		{"journey: journeyId too long", "POST", "/v1/journeys", `{"journeyId":"` + long + `","referenceNo":"customer-a"}`, nil, 400, "invalid_field", "journeyId"},
		{"journey: journeyId a number", "POST", "/v1/journeys", `{"journeyId":42,"referenceNo":"customer-a"}`, nil, 400, "invalid_field", "journeyId"},
		{"journey: no referenceNo", "POST", "/v1/journeys", `{"journeyId":"j-1"}`, nil, 400, "invalid_field", "referenceNo"},
		{"journey: referenceNo with a newline", "POST", "/v1/journeys", `{"journeyId":"j-1","referenceNo":"a\nb"}`, nil, 400, "invalid_field", "referenceNo"},
		{"journey: referenceNo with a leading space", "POST", "/v1/journeys", `{"journeyId":"j-1","referenceNo":" customer-a"}`, nil, 400, "invalid_field", "referenceNo"},
		{"journey: referenceNo of 1001 characters", "POST", "/v1/journeys", `{"journeyId":"j-1","referenceNo":"` + strings.Repeat("r", 1001) + `"}`, nil, 400, "invalid_field", "referenceNo"},
		{"journey: someone else's referenceNo with /", "POST", "/v1/journeys", `{"journeyId":"j-1","referenceNo":"a/b"}`, nil, 403, "forbidden", ""},
		{"journey: unknown provider", "POST", "/v1/journeys", `{"journeyId":"j-1","referenceNo":"customer-a","provider":"acme"}`, nil, 400, "invalid_field", "provider"},
		{"journey: not JSON", "POST", "/v1/journeys", `journeyId=j-1`, nil, 400, "invalid_field", "body"},
		{"journey: a JSON array", "POST", "/v1/journeys", `[]`, nil, 400, "invalid_field", "body"},
		{"journey: text/plain", "POST", "/v1/journeys", `{"journeyId":"j-1","referenceNo":"customer-a"}`, []string{"Content-Type", "text/plain"}, 415, "unsupported_media_type", ""},
		{"journey: too large", "POST", "/v1/journeys", `{"journeyId":"` + strings.Repeat("x", 17<<10) + `"}`, nil, 413, "too_large", ""},
		{"profile: referenceNo with %0A", "GET", "/v1/profiles/a%0Ab", "", nil, 400, "invalid_field", "referenceNo"},
		{"profile: referenceNo ending with %20", "GET", "/v1/profiles/customer-a%20", "", nil, 400, "invalid_field", "referenceNo"},
		{"profile: someone else's referenceNo with %20", "GET", "/v1/profiles/a%20b", "", nil, 403, "forbidden", ""},
		{"device: no platform", "POST", "/v1/devices", `{"token":"` + fcmToken(1) + `"}`, nil, 400, "invalid_field", "platform"},
		{"device: unknown platform", "POST", "/v1/devices", `{"platform":"WNS","token":"` + fcmToken(1) + `"}`, nil, 400, "invalid_field", "platform"},
		{"device: platform without an application", "POST", "/v1/devices", `{"platform":"APNS_SANDBOX","token":"` + apnsToken(1) + `"}`, nil, 400, "invalid_field", "platform"},
		{"device: no token", "POST", "/v1/devices", `{"platform":"FCM"}`, nil, 400, "invalid_field", "token"},
		{"device: APNs token not hex", "POST", "/v1/devices", `{"platform":"APNS","token":"` + strings.Repeat("z", 64) + `"}`, nil, 400, "invalid_field", "token"},
		{"device: APNs token too short", "POST", "/v1/devices", `{"platform":"APNS","token":"abcd"}`, nil, 400, "invalid_field", "token"},
		{"device: FCM token with spaces", "POST", "/v1/devices", `{"platform":"FCM","token":"` + strings.Repeat("a ", 40) + `"}`, nil, 400, "invalid_field", "token"},
		{"device: unknown locale", "POST", "/v1/devices", `{"platform":"FCM","token":"` + fcmToken(1) + `","locale":"fr"}`, nil, 400, "invalid_field", "locale"},
		{"device: token a number", "POST", "/v1/devices", `{"platform":"FCM","token":7}`, nil, 400, "invalid_field", "token"},
		{"delete: device id not hex", "DELETE", "/v1/devices/not-a-device", "", nil, 400, "invalid_field", "deviceId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.do(tt.method, tt.path, a, tt.body, tt.headers...)
			code, field := got.errorField()
			if got.status != tt.wantStatus || code != tt.wantCode || field != tt.wantField {
				t.Errorf("%s %s = %d %s, want %d code %s field %q", tt.method, tt.path, got.status, got.body, tt.wantStatus, tt.wantCode, tt.wantField)
			}
		})
	}
	if devs, err := s.store.Devices(context.Background(), "customer-a"); err != nil || len(devs) != 0 {
		t.Errorf("devices after refused registrations = %v, %v; want none", devs, err)
	}
}

func TestAPIJourneysAndProfile(t *testing.T) {
	s := newAPIStack(t)
	ctx := context.Background()
	a := s.token("customer-a")
	post := func(journey string) reply {
		return s.do("POST", "/v1/journeys", a, fmt.Sprintf(`{"journeyId":%q,"referenceNo":"customer-a"}`, journey))
	}

	// First report: pending, one status event like the processor's.
	r := post("j-1")
	if p := r.json(t); r.status != 200 || p["status"] != "PENDING_VERIFICATION" || p["journeyId"] != "j-1" || p["provider"] != "idwise" {
		t.Fatalf("POST /v1/journeys = %d %s, want 200 PENDING_VERIFICATION for j-1", r.status, r.body)
	}
	evs := s.statusEvents()
	if len(evs) != 1 || evs[0].Status != kyc.PendingVerification || evs[0].ReferenceNo != "customer-a" || evs[0].JourneyID != "j-1" || evs[0].PreviousStatus != "" {
		t.Fatalf("status events = %+v, want one PENDING_VERIFICATION", evs)
	}
	first, _, err := s.store.Profile(ctx, "customer-a")
	if err != nil {
		t.Fatal(err)
	}

	// Idempotent: the same report again writes and publishes nothing.
	if r := post("j-1"); r.status != 200 || r.json(t)["status"] != "PENDING_VERIFICATION" {
		t.Errorf("repeated POST = %d %s", r.status, r.body)
	}
	again, _, _ := s.store.Profile(ctx, "customer-a")
	if again.Version != first.Version || !again.UpdatedAt.Equal(first.UpdatedAt) {
		t.Errorf("repeated POST rewrote the profile: %+v, was %+v", again, first)
	}
	if evs := s.statusEvents(); len(evs) != 0 {
		t.Errorf("status events after a repeated POST = %+v, want none", evs)
	}

	// GET: the view, no personal data, and an ETag that makes polling a 304.
	g := s.do("GET", "/v1/profiles/customer-a", a, "")
	view := g.json(t)
	if g.status != 200 || !slices.Equal(slices.Sorted(maps.Keys(view)), []string{"journeyId", "provider", "reasons", "referenceNo", "status", "updatedAt"}) {
		t.Fatalf("GET = %d %s, want exactly referenceNo, status, journeyId, provider, reasons, updatedAt", g.status, g.body)
	}
	etag := g.header.Get("ETag")
	if etag == "" || g.header.Get("Cache-Control") != "private, no-cache" {
		t.Fatalf("GET headers = %v, want an ETag and private, no-cache", g.header)
	}
	tests := []struct {
		name        string
		ifNoneMatch string
		wantStatus  int
	}{
		{"same etag", etag, 304},
		{"weak form", "W/" + etag, 304},
		{"in a list", `"other", ` + etag, 304},
		{"star", "*", 304},
		{"stale etag", `"0123"`, 200},
	}
	for _, tt := range tests {
		r := s.do("GET", "/v1/profiles/customer-a", a, "", "If-None-Match", tt.ifNoneMatch)
		if r.status != tt.wantStatus || (r.status == 304 && (r.body != "" || r.header.Get("ETag") != etag)) {
			t.Errorf("%s: GET with If-None-Match %s = %d %q etag %q, want %d", tt.name, tt.ifNoneMatch, r.status, r.body, r.header.Get("ETag"), tt.wantStatus)
		}
	}

	// The processor decides the journey: a later status is never undone by the app.
	p, _, _ := s.store.Profile(ctx, "customer-a")
	approved := kyc.Change{ReferenceNo: "customer-a", JourneyID: "j-1", Provider: "idwise", Status: kyc.Approved,
		Version: p.Version + 1, OccurredAt: time.Now()}
	if err := s.store.ApplyStatus(ctx, approved, p, true, nil); err != nil {
		t.Fatal(err)
	}
	if r := post("j-1"); r.status != 200 || r.json(t)["status"] != "APPROVED" {
		t.Errorf("POST after approval = %d %s, want APPROVED kept", r.status, r.body)
	}
	r = s.do("GET", "/v1/profiles/customer-a", a, "", "If-None-Match", etag)
	if r.status != 200 || r.json(t)["status"] != "APPROVED" || r.header.Get("ETag") == etag {
		t.Errorf("GET with the old ETag after a change = %d %s etag %s, want 200 APPROVED with a new ETag", r.status, r.body, r.header.Get("ETag"))
	}

	// A new journey (the user verifies again) is recorded, but the profile moves only once
	// the vendor confirms it for the user (issue 20: a claim is not the vendor's word).
	r = s.do("POST", "/v1/journeys", a, `{"journeyId":"v-2","referenceNo":"customer-a","provider":"veriff"}`)
	if v := r.json(t); r.status != 200 || v["status"] != "APPROVED" || v["journeyId"] != "j-1" {
		t.Errorf("POST of a new journey = %d %s, want 200 with APPROVED on j-1 kept", r.status, r.body)
	}
	if c, ok, err := s.store.Claim(ctx, "veriff", "v-2"); err != nil || !ok || c.ReferenceNo != "customer-a" {
		t.Errorf("claim of v-2 = %+v %v %v, want customer-a's", c, ok, err)
	}
	if evs = s.statusEvents(); len(evs) != 0 {
		t.Errorf("status events = %+v, want none", evs)
	}
}

func fcmToken(i int) string {
	return fmt.Sprintf("fcm-%04d:APA91bH_%s", i, strings.Repeat("x", 140))
}

func apnsToken(i int) string {
	return fmt.Sprintf("%064x", i+0xabc)
}

func (s *apiStack) endpoint(arn string) (map[string]string, bool) {
	s.t.Helper()
	out, err := s.sns.GetEndpointAttributes(context.Background(), &sns.GetEndpointAttributesInput{EndpointArn: aws.String(arn)})
	var nf *snstypes.NotFoundException
	if errors.As(err, &nf) {
		return nil, false
	}
	if err != nil {
		s.t.Fatal(err)
	}
	return out.Attributes, true
}

func (s *apiStack) devices(ref string) map[string]devices.Device {
	s.t.Helper()
	list, err := s.store.Devices(context.Background(), ref)
	if err != nil {
		s.t.Fatal(err)
	}
	m := map[string]devices.Device{}
	for _, d := range list {
		m[d.DeviceID] = d
	}
	return m
}

func TestAPIDevices(t *testing.T) {
	s := newAPIStack(t)
	ctx := context.Background()
	a, b, c := s.token("customer-a"), s.token("customer-b"), s.token("customer-c")
	register := func(tok, platform, token, locale string) reply {
		body := fmt.Sprintf(`{"platform":%q,"token":%q`, platform, token)
		if locale != "" {
			body += fmt.Sprintf(`,"locale":%q`, locale)
		}
		return s.do("POST", "/v1/devices", tok, body+"}")
	}
	fcm := fcmToken(1)
	id := devices.ID(devices.FCM, fcm)

	// Registration: 201, a device with its endpoint on the FCM application.
	r := register(a, "FCM", fcm, "")
	v := r.json(t)
	if r.status != 201 || v["deviceId"] != id || v["platform"] != "FCM" || v["locale"] != "en" {
		t.Fatalf("register = %d %s, want 201 device %s locale en", r.status, r.body, id)
	}
	d, ok := s.devices("customer-a")[id]
	if !ok || !strings.HasPrefix(d.EndpointARN, "arn:aws:sns:") || !strings.Contains(d.EndpointARN, ":endpoint/GCM/") {
		t.Fatalf("stored device = %+v, want one with a GCM endpoint", d)
	}
	if attrs, ok := s.endpoint(d.EndpointARN); !ok || attrs["Token"] != fcm {
		t.Errorf("endpoint attributes = %v (exists %v), want the token", attrs, ok)
	}

	// Re-registration: 200, the same device and endpoint, the locale updated.
	r = register(a, "FCM", fcm, "ar")
	if v := r.json(t); r.status != 200 || v["deviceId"] != id || v["locale"] != "ar" || v["createdAt"] != d.CreatedAt.UTC().Format(time.RFC3339Nano) {
		t.Errorf("re-register = %d %s, want 200, same device and createdAt, locale ar", r.status, r.body)
	}
	list := s.devices("customer-a")
	if len(list) != 1 || list[id].EndpointARN != d.EndpointARN || list[id].Locale != "ar" {
		t.Errorf("devices after re-registration = %+v, want the one device, same endpoint", list)
	}

	// An endpoint SNS disabled (the token was refused once) is enabled again.
	if _, err := s.sns.SetEndpointAttributes(ctx, &sns.SetEndpointAttributesInput{EndpointArn: aws.String(d.EndpointARN),
		Attributes: map[string]string{"Enabled": "false"}}); err != nil {
		t.Fatal(err)
	}
	if r := register(a, "FCM", fcm, "ar"); r.status != 200 {
		t.Fatalf("re-register a disabled endpoint = %d %s", r.status, r.body)
	}
	if attrs, _ := s.endpoint(d.EndpointARN); attrs["Enabled"] != "true" {
		t.Errorf("endpoint Enabled = %q after re-registration, want true", attrs["Enabled"])
	}

	// An endpoint deleted behind our back is created again.
	if _, err := s.sns.DeleteEndpoint(ctx, &sns.DeleteEndpointInput{EndpointArn: aws.String(d.EndpointARN)}); err != nil {
		t.Fatal(err)
	}
	if r := register(a, "FCM", fcm, ""); r.status != 200 {
		t.Fatalf("re-register a deleted endpoint = %d %s", r.status, r.body)
	}
	d = s.devices("customer-a")[id]
	if _, ok := s.endpoint(d.EndpointARN); !ok {
		t.Errorf("endpoint %s does not exist after re-registration", d.EndpointARN)
	}

	// The token moves to another user with its endpoint.
	r = register(b, "FCM", fcm, "")
	if r.status != 201 || r.json(t)["deviceId"] != id {
		t.Fatalf("register the same token for customer-b = %d %s, want 201 the same device id", r.status, r.body)
	}
	if got := s.devices("customer-a"); len(got) != 0 {
		t.Errorf("customer-a still has %v, want the device moved away", got)
	}
	moved, ok := s.devices("customer-b")[id]
	if !ok || moved.EndpointARN != d.EndpointARN {
		t.Errorf("customer-b device = %+v, want the same endpoint %s", moved, d.EndpointARN)
	}
	owner, found, err := s.store.TokenOwner(ctx, devices.FCM, devices.TokenHash(fcm))
	if err != nil || !found || owner.ReferenceNo != "customer-b" || owner.EndpointARN != d.EndpointARN {
		t.Errorf("token owner = %+v %v %v, want customer-b", owner, found, err)
	}
	// customer-a removing "its" old device id touches nothing of customer-b's.
	if r := s.do("DELETE", "/v1/devices/"+id, a, ""); r.status != 204 {
		t.Errorf("DELETE by the previous owner = %d %s, want 204", r.status, r.body)
	}
	if _, ok := s.devices("customer-b")[id]; !ok {
		t.Error("customer-a's DELETE removed customer-b's device")
	}
	if _, ok := s.endpoint(d.EndpointARN); !ok {
		t.Error("customer-a's DELETE deleted customer-b's endpoint")
	}

	// The cap: at most 3 devices (MAX_DEVICES_PER_PROFILE); the least recently registered goes.
	var ids []string
	for i := 1; i <= 4; i++ {
		tok := apnsToken(i)
		if r := register(c, "APNS", tok, ""); r.status != 201 {
			t.Fatalf("register APNs device %d = %d %s", i, r.status, r.body)
		}
		ids = append(ids, devices.ID(devices.APNS, tok))
	}
	oldest := ids[0]
	got := s.devices("customer-c")
	if len(got) != 3 {
		t.Fatalf("customer-c devices = %d, want 3", len(got))
	}
	if _, ok := got[oldest]; ok {
		t.Errorf("the oldest device %s was kept, want it dropped", oldest)
	}
	if _, found, _ := s.store.TokenOwner(ctx, devices.APNS, devices.TokenHash(apnsToken(1))); found {
		t.Error("the dropped device's token index entry is still there")
	}
	// Re-registering device 2 makes device 3 the least recent: device 1 comes back and 3 goes.
	if r := register(c, "APNS", apnsToken(2), ""); r.status != 200 {
		t.Fatalf("re-register device 2 = %d", r.status)
	}
	if r := register(c, "APNS", apnsToken(1), ""); r.status != 201 {
		t.Fatalf("register device 1 again = %d", r.status)
	}
	got = s.devices("customer-c")
	if _, ok := got[ids[2]]; ok || len(got) != 3 {
		t.Errorf("devices = %v, want 3 with device 3 dropped", slices.Sorted(maps.Keys(got)))
	}

	// Removal: 204, the device, its token entry and its endpoint are gone; again: 204.
	gone := got[ids[3]]
	if r := s.do("DELETE", "/v1/devices/"+gone.DeviceID, c, ""); r.status != 204 || r.body != "" {
		t.Errorf("DELETE = %d %q, want 204", r.status, r.body)
	}
	if _, ok := s.devices("customer-c")[gone.DeviceID]; ok {
		t.Error("device still stored after DELETE")
	}
	if _, ok := s.endpoint(gone.EndpointARN); ok {
		t.Error("endpoint still exists after DELETE")
	}
	if _, found, _ := s.store.TokenOwner(ctx, devices.APNS, devices.TokenHash(apnsToken(4))); found {
		t.Error("token index entry still there after DELETE")
	}
	if r := s.do("DELETE", "/v1/devices/"+gone.DeviceID, c, ""); r.status != 204 {
		t.Errorf("second DELETE = %d %s, want 204", r.status, r.body)
	}
	if len(s.devices("customer-c")) != 2 {
		t.Errorf("customer-c devices = %d, want 2", len(s.devices("customer-c")))
	}
}

// TestAPIDeviceStoreForPush: what the push function reads (Devices) and removes
// (DeleteDevice) is what the API registered, with the contract's item layout.
func TestAPIDeviceStoreForPush(t *testing.T) {
	s := newAPIStack(t)
	ctx := context.Background()
	tok := apnsToken(9)
	if r := s.do("POST", "/v1/devices", s.token("customer-p"), `{"platform":"APNS","token":"`+tok+`","locale":"ar"}`); r.status != 201 {
		t.Fatalf("register = %d %s", r.status, r.body)
	}
	list, err := s.store.Devices(ctx, "customer-p")
	if err != nil || len(list) != 1 {
		t.Fatalf("Devices() = %v, %v", list, err)
	}
	d := list[0]
	if d.ReferenceNo != "customer-p" || d.Platform != devices.APNS || d.Locale != "ar" || d.DeviceID != devices.ID(devices.APNS, tok) || d.CreatedAt.IsZero() {
		t.Errorf("device = %+v", d)
	}
	if err := s.store.DeleteDevice(ctx, "customer-p", d.DeviceID); err != nil {
		t.Fatal(err)
	}
	if err := s.store.DeleteDevice(ctx, "customer-p", d.DeviceID); err != nil {
		t.Errorf("DeleteDevice() of a missing device = %v, want nil", err)
	}
	if _, found, _ := s.store.TokenOwner(ctx, devices.APNS, devices.TokenHash(tok)); found {
		t.Error("token index entry left after DeleteDevice")
	}
}

// TestAPISampleEvents sends every events/api-*.json (for `sam local invoke ApiFunction`)
// through the real wiring, in file order: they report a journey, read the profile,
// register a device and remove it.
func TestAPISampleEvents(t *testing.T) {
	s := newAPIStack(t)
	files, err := filepath.Glob("../../events/api-*.json")
	if err != nil || len(files) != 4 {
		t.Fatalf("events/api-*.json: %v %v, want 4 files", files, err)
	}
	h, err := compose.API(compose.Runtime{AWS: dynamotest.AWSConfig(t), Getenv: getenv(map[string]string{
		"TABLE_NAME": s.table, "STATUS_TOPIC_ARN": s.topicARN,
		"APNS_PLATFORM_APPLICATION_ARN": s.apps[devices.APNS], "FCM_PLATFORM_APPLICATION_ARN": s.apps[devices.FCM],
	}), Metrics: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"api-1-post-journey.json": 200, "api-2-get-profile.json": 200, "api-3-post-device.json": 201, "api-4-delete-device.json": 204}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var req events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &req); err != nil {
			t.Fatalf("%s: not an API Gateway v2 event: %v", file, err)
		}
		if req.RequestContext.Authorizer == nil || req.RequestContext.Authorizer.JWT == nil || req.RequestContext.Authorizer.JWT.Claims["sub"] != "customer-0001" {
			t.Errorf("%s: no JWT claims for customer-0001 in requestContext.authorizer", file)
		}
		resp, err := h.Handle(context.Background(), req)
		if err != nil || resp.StatusCode != want[filepath.Base(file)] {
			t.Errorf("%s: Handle() = %d %s %v, want %d", file, resp.StatusCode, resp.Body, err, want[filepath.Base(file)])
		}
	}
	if evs := s.statusEvents(); len(evs) != 1 || evs[0].ReferenceNo != "customer-0001" {
		t.Errorf("status events = %+v, want the sample journey's PENDING_VERIFICATION", evs)
	}
	if got := s.devices("customer-0001"); len(got) != 0 {
		t.Errorf("devices after the sample DELETE = %v, want none", got)
	}
}
