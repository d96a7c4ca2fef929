package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/kycbackend/kyc/infra/local/meter"
)

// The cost phase plays typical IDWise journeys through the running product and reads what
// every function consumed from the runner's meter (GET /_local/usage): invocations and
// billed milliseconds, AWS requests, DynamoDB capacity units as DynamoDB Local reports
// them (index writes included). The cost per million webhooks is computed from those
// counts and the list prices below.

// List prices, us-east-1, on-demand, as published on the AWS pricing pages (API Gateway,
// Lambda, DynamoDB, SNS, SQS, Secrets Manager) in 2025, first pricing tier.
const (
	priceHTTPAPI      = 1.00 / 1e6        // per HTTP API request (first 300 million a month)
	priceLambdaReq    = 0.20 / 1e6        // per Lambda request
	priceLambdaGBs    = 0.0000133334      // per GB-second, arm64
	priceWRU          = 0.625 / 1e6       // per DynamoDB on-demand write request unit
	priceRRU          = 0.125 / 1e6       // per DynamoDB on-demand read request unit
	priceSNSPublish   = 0.50 / 1e6        // per SNS publish (64 KB chunk) to a topic
	priceSNSMobile    = 0.50 / 1e6        // per SNS mobile push notification
	priceSQSRequest   = 0.40 / 1e6        // per SQS request (standard queue)
	priceSecretsCalls = 0.05 / 10_000     // per Secrets Manager API call
	lambdaMemoryGB    = 256.0 / 1024      // template.yaml Globals MemorySize
	priceLogsPerGB    = 0.50              // CloudWatch Logs ingestion, standard class, per GB
	platformLogBytes  = 650               // Lambda's platform.start and platform.report JSON lines per invocation (estimate)
	accessLogBytes    = 350               // one HTTP API access log line in the template's format (estimate)
	sqsPerPushMessage = 2                 // the SQS event source's ReceiveMessage and DeleteMessageBatch, at most
	webhookFunction   = "WebhookFunction" // the functions of template.yaml that webhooks drive
	processorFunction = "ProcessorFunction"
	pushFunction      = "PushFunction"
)

// costRun is the outcome of the cost phase.
type costRun struct {
	journeys, deliveries, duplicates int
	pushes                           int
	usage                            meter.Report
}

// typicalJourney is what IDWise sends for an approved user who subscribed to every event:
// a Finished Step per processed side or selfie, Finished User Steps when the user is done,
// Finished Journey with the decision.
var typicalJourney = [2][]string{
	{"Finished Step", "Finished Step", "Finished Step", "Finished User Steps"}, // while IDWise processes
	{"Finished Journey"}, // once it has decided
}

// cost plays m typical journeys (each user has one registered device), dup of the
// deliveries repeated, c at a time, and returns what the product consumed for them.
func cost(ctx context.Context, ddb *dynamodb.Client, table, base, sim string, m, c int, dup float64) (costRun, error) {
	client := &http.Client{Timeout: 30 * time.Second}
	run := costRun{journeys: m}
	pushesBefore, err := countPushes(ctx, client, base)
	if err != nil {
		return run, err
	}
	// App traffic before the webhooks, not part of their cost: a device, and the journey's
	// claim as the app makes it when the SDK starts the journey (JourneyOwnership claimed);
	// the claim's PENDING_VERIFICATION push is waited for here.
	for i := 0; i < m; i++ {
		if err := registerDevice(ctx, client, base, costRef(i)); err != nil {
			return run, err
		}
		if err := claimJourney(ctx, client, base, costRef(i), costJourney(i)); err != nil {
			return run, err
		}
	}
	if _, err := settledPushes(ctx, client, base, pushesBefore, m); err != nil {
		return run, err
	}
	before, err := meter.Fetch(ctx, client, base)
	if err != nil {
		return run, err
	}
	if pushesBefore, err = countPushes(ctx, client, base); err != nil {
		return run, err
	}
	rng := rand.New(rand.NewSource(11))
	for phase, names := range typicalJourney {
		final := ""
		if phase == 1 {
			final = "Complete"
		}
		var bodies []string
		for i := 0; i < m; i++ {
			if err := scriptJourney(ctx, client, sim, costJourney(i), costRef(i), final); err != nil {
				return run, err
			}
			for k, name := range names {
				bodies = append(bodies, fmt.Sprintf(`{"event":%q,"body":{"eventId":"bench-cost-%d-%d-%d","journeyId":%q,"referenceNo":%q,"stepId":"%d","systemDecision":"Complete"}}`,
					name, i, phase, k, costJourney(i), costRef(i), k))
			}
		}
		unique := len(bodies)
		for n := int(float64(unique) * dup / (1 - dup)); n > 0; n-- {
			bodies = append(bodies, bodies[rng.Intn(unique)])
		}
		rng.Shuffle(len(bodies), func(i, j int) { bodies[i], bodies[j] = bodies[j], bodies[i] })
		if err := sendAll(ctx, client, base, bodies, c); err != nil {
			return run, err
		}
		run.deliveries += len(bodies)
		run.duplicates += len(bodies) - unique
		if err := drained(ctx, ddb, table); err != nil {
			return run, err
		}
	}
	// Each user gets one push in the window: APPROVED (PENDING_VERIFICATION came with the claim).
	if run.pushes, err = settledPushes(ctx, client, base, pushesBefore, m); err != nil {
		return run, err
	}
	after, err := meter.Fetch(ctx, client, base)
	if err != nil {
		return run, err
	}
	run.usage = after.Minus(before)
	return run, nil
}

func costRef(i int) string     { return fmt.Sprintf("bench-cost-r-%d", i) }
func costJourney(i int) string { return fmt.Sprintf("bench-cost-j-%d", i) }

func scriptJourney(ctx context.Context, c *http.Client, sim, journeyID, ref, final string) error {
	j := fmt.Sprintf(`{"journey_id":%q,"reference_number":%q,"system_decision":"Complete","final_decision":%q}`, journeyID, ref, final)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, sim+"/_sim/journeys/"+journeyID, strings.NewReader(j))
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("script journey: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("script journey: %d", resp.StatusCode)
	}
	return nil
}

func registerDevice(ctx context.Context, c *http.Client, base, ref string) error {
	body := fmt.Sprintf(`{"platform":"FCM","token":"bench-device-token-for-the-cost-phase-%s","locale":"en"}`, ref)
	return appCall(ctx, c, base, ref, "/v1/devices", body)
}

// claimJourney claims journeyID for ref (POST /v1/journeys), as the app does.
func claimJourney(ctx context.Context, c *http.Client, base, ref, journeyID string) error {
	return appCall(ctx, c, base, ref, "/v1/journeys", fmt.Sprintf(`{"journeyId":%q,"referenceNo":%q}`, journeyID, ref))
}

// appCall POSTs body to path of the app API with a local token of ref.
func appCall(ctx context.Context, c *http.Client, base, ref, path, body string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/_local/token?referenceNo="+ref, nil)
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	tok, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	req.Header.Set("Content-Type", "application/json")
	resp, err = c.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("POST %s: %d %s", path, resp.StatusCode, msg)
	}
	return nil
}

func sendAll(ctx context.Context, c *http.Client, base string, bodies []string, workers int) error {
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	next := make(chan string)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for body := range next {
				if status, err := post(ctx, c, base, body); err != nil || status != http.StatusOK {
					select {
					case errc <- fmt.Errorf("post webhook: %d %v", status, err):
					default:
					}
				}
			}
		}()
	}
	for _, b := range bodies {
		next <- b
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

func countPushes(ctx context.Context, c *http.Client, base string) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/_local/messages?kind=push", nil)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var out struct {
		Messages []struct {
			Error string `json:"error"`
		} `json:"messages"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return 0, err
	}
	n := 0
	for _, m := range out.Messages {
		if m.Error == "" {
			n++
		}
	}
	return n, nil
}

// settledPushes waits until want pushes more than before went out (or a minute passed),
// then a little longer, and returns how many did.
func settledPushes(ctx context.Context, c *http.Client, base string, before, want int) (int, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		n, err := countPushes(ctx, c, base)
		if err != nil {
			return 0, err
		}
		if n-before >= want || time.Now().After(deadline) {
			time.Sleep(2 * time.Second)
			n, err = countPushes(ctx, c, base)
			return n - before, err
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// line is one row of the cost table: a part and its dollars per million webhooks.
type line struct {
	part, per string
	usd       float64
}

// costLines computes the cost per million webhooks of run, part by part.
func costLines(run costRun) []line {
	perM := 1e6 / float64(run.deliveries)
	u := run.usage
	var lines []line
	add := func(part, per string, usd float64) { lines = append(lines, line{part, per, usd * perM}) }
	add("API Gateway HTTP API requests", fmt.Sprintf("%.3f per webhook", float64(u.HTTPAPIRequests)/float64(run.deliveries)),
		float64(u.HTTPAPIRequests)*priceHTTPAPI)
	for _, id := range []string{webhookFunction, processorFunction, pushFunction} {
		f := fn(u, id)
		gbs := float64(f.BilledMs) / 1000 * lambdaMemoryGB
		add("Lambda "+id+": requests and GB-seconds (arm64, 256 MB)",
			fmt.Sprintf("%d invocations, %.1f ms billed each", f.Invocations, float64(f.BilledMs)/max(1, float64(f.Invocations))),
			float64(f.Invocations)*priceLambdaReq+gbs*priceLambdaGBs)
	}
	for _, id := range []string{webhookFunction, processorFunction, pushFunction} {
		f := fn(u, id)
		add("DynamoDB on-demand, "+id, dynamoDetail(f, run.deliveries), f.WriteUnits*priceWRU+f.ReadUnits*priceRRU)
	}
	topic := fn(u, processorFunction).Requests["SNS.Publish"]
	mobile := fn(u, pushFunction).Requests["SNS.Publish"]
	add("SNS publishes to the status topic", fmt.Sprintf("%d", topic), float64(topic)*priceSNSPublish)
	add("SNS mobile pushes", fmt.Sprintf("%d", mobile), float64(mobile)*priceSNSMobile)
	add("SQS push queue (receive and delete per message, at most)", fmt.Sprintf("%d requests", sqsPerPushMessage*topic),
		float64(sqsPerPushMessage*topic)*priceSQSRequest)
	secrets := 0
	for _, f := range u.Functions {
		secrets += f.Requests["Secrets Manager.GetSecretValue"]
	}
	add("Secrets Manager reads (cached per cold start)", fmt.Sprintf("%d", secrets), float64(secrets)*priceSecretsCalls)
	return lines
}

// logLine is the CloudWatch Logs ingestion the run caused: the functions' own log
// records and EMF lines as measured, plus estimates of Lambda's platform lines and the
// HTTP API's access log lines. Not among the services the issue names.
func logLine(run costRun) line {
	u := run.usage
	measured, invocations := int64(0), 0
	for _, id := range []string{webhookFunction, processorFunction, pushFunction} {
		measured += fn(u, id).LogBytes
		invocations += fn(u, id).Invocations
	}
	total := measured + int64(invocations)*platformLogBytes + int64(u.HTTPAPIRequests)*accessLogBytes
	return line{part: "CloudWatch Logs ingestion (not in the issue's list)",
		per: fmt.Sprintf("%.0f bytes per webhook: %.0f logged by the functions (JSON records and EMF, measured), %d per invocation for Lambda's platform lines and %d per access log line (estimates)",
			float64(total)/float64(run.deliveries), float64(measured)/float64(run.deliveries), platformLogBytes, accessLogBytes),
		usd: float64(total) / 1e9 * priceLogsPerGB * 1e6 / float64(run.deliveries)}
}

// dynamoDetail says, per webhook, the write and read units of f and, for each operation,
// its requests and the units they consumed.
// fn is what function id consumed (nothing if it never ran).
func fn(u meter.Report, id string) *meter.Function {
	if f := u.Functions[id]; f != nil {
		return f
	}
	return &meter.Function{}
}

func dynamoDetail(f *meter.Function, deliveries int) string {
	per := func(x float64) float64 { return x / float64(deliveries) }
	var ops []string
	for op, n := range f.Requests {
		if strings.HasPrefix(op, "DynamoDB.") {
			ops = append(ops, fmt.Sprintf("%s %.2f (%.2f units)", strings.TrimPrefix(op, "DynamoDB."), per(float64(n)), per(f.Units[op])))
		}
	}
	sort.Strings(ops)
	return fmt.Sprintf("%.2f WRU + %.2f RRU per webhook; requests per webhook: %s", per(f.WriteUnits), per(f.ReadUnits), strings.Join(ops, ", "))
}

func renderCost(o options, run costRun) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<!-- cost:start -->\n## Cost per million webhooks, measured (issue 7)\n\n")
	fmt.Fprintf(&b, "Date: %s. Command: `make bench` (the cost phase of `infra/local/bench`, flags `-cost %d -c %d -cost-dup %.2f`).\n\n",
		time.Now().UTC().Format("2006-01-02"), o.costJourneys, o.c, o.costDup)
	fmt.Fprintf(&b, "Workload: %d users, each with one registered device and its journey claimed through the app API before the "+
		"measured window (as the app does when the SDK starts the journey; its PENDING_VERIFICATION push comes then), each through a "+
		"typical approved IDWise journey: %s, then %s; %d deliveries in all, %d of them duplicates. Pushes received in the window: %d "+
		"(1 per user expected: APPROVED).\n\n",
		run.journeys, strings.Join(typicalJourney[0], ", "), strings.Join(typicalJourney[1], ", "), run.deliveries, run.duplicates, run.pushes)
	b.WriteString("Counted by the local runner's meter (`GET /_local/usage`) around every function the webhooks drive: invocations and " +
		"their duration rounded up to the millisecond as Lambda bills it; every AWS request; DynamoDB's own consumed capacity " +
		"(`ReturnConsumedCapacity: INDEXES`, so index writes and transactions' double units are in), plus one write unit for " +
		"each conditional write refused by its condition (DynamoDB bills those but reports nothing). Durations are this " +
		"machine's, against emulators on loopback; in Lambda the I/O waits are similar and the CPU share of 256 MB is smaller.\n\n")
	b.WriteString("Prices: us-east-1 list prices, first tier: HTTP API $1.00 per million requests; Lambda $0.20 per million " +
		"requests and $0.0000133334 per GB-second (arm64); DynamoDB on-demand $0.625 per million write request units and " +
		"$0.125 per million read request units; SNS $0.50 per million publishes and $0.50 per million mobile push " +
		"notifications; SQS $0.40 per million requests; Secrets Manager $0.05 per 10,000 calls.\n\n")
	b.WriteString("| part | measured | USD per million webhooks |\n|---|---|---|\n")
	total, ack := 0.0, 0.0
	for _, l := range costLines(run) {
		fmt.Fprintf(&b, "| %s | %s | %.2f |\n", l.part, l.per, l.usd)
		total += l.usd
		if strings.Contains(l.part, webhookFunction) || strings.HasPrefix(l.part, "API Gateway") {
			ack += l.usd
		}
	}
	fmt.Fprintf(&b, "| **total** | | **%.2f** |\n", total)
	logs := logLine(run)
	fmt.Fprintf(&b, "| %s | %s | %.2f |\n", logs.part, logs.per, logs.usd)
	fmt.Fprintf(&b, "| total with the logs | | %.2f |\n\n", total+logs.usd)
	fmt.Fprintf(&b, "Of which acknowledging (HTTP API, webhook function and its write): **$%.2f** per million webhooks; "+
		"processing, publishing and pushing: $%.2f.\n", ack, total-ack)
	b.WriteString("<!-- cost:end -->\n")
	return b.String()
}
