// Command bench is `make bench`'s load part: it starts the local product (bin/kyc-local,
// as `make run` does) inside the emulators and measures, in one run:
//   - the acknowledgement latency of POST /webhooks/idwise under load (N deliveries at
//     concurrency C, a share of them duplicates), next to a bare conditional PutItem of the
//     same item on the same DynamoDB Local, as a ratio;
//   - the end-to-end latency from a webhook to its status event on the topic;
//   - lost events and duplicate status events (both must be zero).
//
// It prints a Markdown section; with -write it replaces the marked block in BENCHMARKS.md.
// With -gotest FILE -block NAME it writes instead the table of a `go test -bench` run
// (make bench's microbenchmarks and function binaries; see gotest.go).
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/kycbackend/kyc/infra/local/benchdoc"
)

type options struct {
	n, c, e2e    int
	dup          float64
	costJourneys int
	costDup      float64
	runner       string
	write        string
	gotest       string
	block        string
}

func main() {
	var o options
	flag.IntVar(&o.n, "n", 2000, "webhook deliveries for the ack latency")
	flag.IntVar(&o.c, "c", 16, "concurrent senders")
	flag.Float64Var(&o.dup, "dup", 0.2, "share of deliveries that are duplicates")
	flag.IntVar(&o.e2e, "e2e", 100, "journeys for the end-to-end latency")
	flag.IntVar(&o.costJourneys, "cost", 200, "typical journeys for the cost per million webhooks")
	flag.Float64Var(&o.costDup, "cost-dup", 0.05, "share of the cost phase's deliveries that are duplicates")
	flag.StringVar(&o.runner, "runner", "bin/kyc-local", "the local runner binary")
	flag.StringVar(&o.write, "write", "", "file whose <!-- load:start/end --> block to replace (BENCHMARKS.md)")
	flag.StringVar(&o.gotest, "gotest", "", "instead of the load: `go test -bench` output to write as -block's table")
	flag.StringVar(&o.block, "block", "", "with -gotest: the BENCHMARKS.md block, micro or binaries")
	flag.Parse()
	var err error
	if o.gotest != "" {
		err = goTest(o.gotest, o.block, o.write)
	} else {
		err = run(o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

const token = "bench-webhook-secret"

func run(o options) error {
	if os.Getenv("KYC_EMULATORS") != "1" {
		return errors.New("run inside infra/local/with-emulators.sh (make bench does)")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, simURL, stop, err := startRunner(ctx, o.runner)
	if err != nil {
		return err
	}
	defer stop()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return err
	}
	ddb := dynamodb.NewFromConfig(cfg)
	table := "kyc-local-Table"

	ack, bare, err := interleaved(ctx, base, ddb, table, o)
	if err != nil {
		return err
	}
	if err := drained(ctx, ddb, table); err != nil {
		return err
	}
	stored, err := countEvents(ctx, ddb, table, "bench-ack-")
	if err != nil {
		return err
	}
	e2e, statusEvents, dupStatus, err := endToEnd(ctx, cfg, base, simURL, o.e2e)
	if err != nil {
		return err
	}
	report := render(o, ack, bare, stored, e2e, statusEvents, dupStatus)
	fmt.Print(report)
	spent, err := cost(ctx, ddb, table, base, simURL, o.costJourneys, o.c, o.costDup)
	if err != nil {
		return fmt.Errorf("cost phase: %w", err)
	}
	costReport := renderCost(o, spent)
	fmt.Print(costReport)
	if o.write != "" {
		if err := benchdoc.Replace(o.write, "load", report); err != nil {
			return err
		}
		return benchdoc.Replace(o.write, "cost", costReport)
	}
	return nil
}

// startRunner starts the product on free ports and waits for its ready line.
func startRunner(ctx context.Context, bin string) (base, sim string, stop func(), err error) {
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), "PORT=0", "IDWISE_SIM_PORT=0", "IDWISE_WEBHOOK_AUTH=bearer", "IDWISE_WEBHOOK_SECRET="+token)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", "", nil, err
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return "", "", nil, fmt.Errorf("start %s (run `make` first): %w", bin, err)
	}
	stop = func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if f := strings.Fields(line); len(f) > 2 && f[0] == "idwise" && f[1] == "simulator" {
			sim = f[2]
		}
		if rest, ok := strings.CutPrefix(line, "ready "); ok {
			base = rest
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, out) }() // keep the runner's timeline flowing
	if base == "" || sim == "" {
		stop()
		return "", "", nil, errors.New("runner did not print its URLs")
	}
	return base, sim, stop, nil
}

type latencies struct {
	d       []time.Duration
	elapsed time.Duration
	errors  int
}

func (l *latencies) pct(p float64) time.Duration {
	if len(l.d) == 0 {
		return 0
	}
	s := slices.Clone(l.d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func (l *latencies) throughput() float64 { return float64(len(l.d)) / l.elapsed.Seconds() }

// interleaved runs the webhook deliveries and the bare PutItems in the same window: each
// sender alternates one delivery and one bare PutItem of the same item shape, so both see
// the same load on DynamoDB Local (and the processor working through the stream behind).
func interleaved(ctx context.Context, base string, ddb *dynamodb.Client, table string, o options) (*latencies, *latencies, error) {
	bodies := deliveries(o)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.c}, Timeout: 30 * time.Second}
	// Warm up: the JVM behind DynamoDB Local compiles its hot paths first.
	for i := 0; i < 200; i++ {
		_, _ = post(ctx, client, base, fmt.Sprintf(`{"event":"Finished Step","body":{"eventId":"bench-warm-%d","journeyId":"w","stepId":"0"}}`, i))
		_, _ = ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: bareItem(-1 - i)})
	}
	ack, bare := &latencies{}, &latencies{}
	var mu sync.Mutex
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < o.c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(bodies) {
					return
				}
				t0 := time.Now()
				status, err := post(ctx, client, base, bodies[i])
				d := time.Since(t0)
				t1 := time.Now()
				_, perr := ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: bareItem(i),
					ConditionExpression: aws.String("attribute_not_exists(pk)")})
				pd := time.Since(t1)
				mu.Lock()
				if err != nil || status != 200 {
					ack.errors++
				} else {
					ack.d = append(ack.d, d)
				}
				if perr != nil {
					bare.errors++
				} else {
					bare.d = append(bare.d, pd)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	ack.elapsed = time.Since(start)
	bare.elapsed = ack.elapsed
	return ack, bare, nil
}

// deliveries are o.n webhook bodies, o.dup of them repeats of earlier ones, shuffled.
func deliveries(o options) []string {
	rng := rand.New(rand.NewSource(7))
	unique := int(float64(o.n) * (1 - o.dup))
	bodies := make([]string, 0, o.n)
	for i := 0; i < unique; i++ {
		bodies = append(bodies, fmt.Sprintf(`{"event":"Finished Step","body":{"eventId":"bench-ack-%d","journeyId":"bench-j-%d","referenceNo":"bench-r-%d","stepId":"0","systemDecision":"Incomplete"}}`, i, i%500, i%500))
	}
	for len(bodies) < o.n {
		bodies = append(bodies, bodies[rng.Intn(unique)])
	}
	rng.Shuffle(len(bodies), func(i, j int) { bodies[i], bodies[j] = bodies[j], bodies[i] })
	return bodies
}

// bareItem is an item of the same shape and size as an inbox event (kind "bare", so the
// stream's filter does not pass it to the processor).
func bareItem(i int) map[string]types.AttributeValue {
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	return map[string]types.AttributeValue{
		"pk": s(fmt.Sprintf("EVENT#bare#%d", i)), "sk": s("EVENT"), "kind": s("bare"), "provider": s("idwise"),
		"eventId": s(fmt.Sprintf("%d", i)), "eventName": s("Finished Step"), "journeyId": s("bench-j"),
		"referenceNo": s("bench-r"), "processable": &types.AttributeValueMemberBOOL{Value: true},
		"body": &types.AttributeValueMemberB{Value: bytes.Repeat([]byte("x"), 160)}, "bodyHash": s(strings.Repeat("a", 64)),
		"receivedAt": s(time.Now().UTC().Format(time.RFC3339Nano)), "expiresAt": &types.AttributeValueMemberN{Value: "1800000000"},
		"pendingKey": s("BARE"), "state": s("pending"),
	}
}

func post(ctx context.Context, c *http.Client, base, body string) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/webhooks/idwise", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// drained waits until the processor has worked through the deliveries (no PENDING item
// left), so that the bare PutItems do not compete with it.
func drained(ctx context.Context, ddb *dynamodb.Client, table string) error {
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		out, err := ddb.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(table), IndexName: aws.String("Unprocessed"),
			KeyConditionExpression:    aws.String("pendingKey = :p"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: "PENDING"}},
			Select:                    types.SelectCount})
		if err != nil {
			return err
		}
		if out.Count == 0 {
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
	return errors.New("the processor did not drain the deliveries within 3 minutes")
}

func countEvents(ctx context.Context, ddb *dynamodb.Client, table, prefix string) (int, error) {
	n := 0
	var start map[string]types.AttributeValue
	for {
		out, err := ddb.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table), ExclusiveStartKey: start,
			FilterExpression:          aws.String("begins_with(eventId, :p)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: prefix}},
			Select:                    types.SelectCount})
		if err != nil {
			return 0, err
		}
		n += int(out.Count)
		if out.LastEvaluatedKey == nil {
			return n, nil
		}
		start = out.LastEvaluatedKey
	}
}

// endToEnd sends one Finished Journey for each of m journeys (each sent twice) and
// measures the time until its status event arrives on a queue subscribed to the topic.
func endToEnd(ctx context.Context, cfg aws.Config, base, sim string, m int) (*latencies, int, int, error) {
	snsc, sqsc := sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	q, err := sqsc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("bench-e2e")})
	if err != nil {
		return nil, 0, 0, err
	}
	qa, err := sqsc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return nil, 0, 0, err
	}
	topics, err := snsc.ListTopics(ctx, &sns.ListTopicsInput{})
	if err != nil {
		return nil, 0, 0, err
	}
	var topic string
	for _, t := range topics.Topics {
		if strings.HasSuffix(aws.ToString(t.TopicArn), ":kyc-local-StatusTopic") {
			topic = aws.ToString(t.TopicArn)
		}
	}
	if topic == "" {
		return nil, 0, 0, errors.New("status topic not found")
	}
	if _, err := snsc.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(topic), Protocol: aws.String("sqs"),
		Endpoint: aws.String(qa.Attributes["QueueArn"]), Attributes: map[string]string{"RawMessageDelivery": "true"}}); err != nil {
		return nil, 0, 0, err
	}
	// The topic's queue is read while the journeys are sent, so that each latency is its
	// webhook's own (read only after the last send, the first journeys would wait for the
	// others' sending).
	var mu sync.Mutex
	arrived, seen := map[string]time.Time{}, map[string]int{}
	total, dups := 0, 0
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	readErr := make(chan error, 1)
	go func() {
		for readCtx.Err() == nil {
			out, err := sqsc.ReceiveMessage(readCtx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
			if err != nil {
				if readCtx.Err() == nil {
					readErr <- err
				}
				return
			}
			now := time.Now()
			for _, msg := range out.Messages {
				var ev struct{ ID, JourneyID, Status string }
				_ = json.Unmarshal([]byte(aws.ToString(msg.Body)), &ev)
				_, _ = sqsc.DeleteMessage(readCtx, &sqs.DeleteMessageInput{QueueUrl: q.QueueUrl, ReceiptHandle: msg.ReceiptHandle})
				if ev.Status != "APPROVED" { // the claim's PENDING_VERIFICATION, before the webhook
					continue
				}
				mu.Lock()
				total++
				if seen[ev.ID]++; seen[ev.ID] > 1 {
					dups++
				} else if _, ok := arrived[ev.JourneyID]; !ok {
					arrived[ev.JourneyID] = now
				}
				mu.Unlock()
			}
		}
	}()
	client := &http.Client{Timeout: 30 * time.Second}
	sent := map[string]time.Time{}
	start := time.Now()
	for i := 0; i < m; i++ {
		jid := fmt.Sprintf("bench-e2e-%d", i)
		if err := claimJourney(ctx, client, base, fmt.Sprintf("bench-e2e-r-%d", i), jid); err != nil {
			return nil, 0, 0, err
		}
		if err := scriptJourney(ctx, client, sim, jid, fmt.Sprintf("bench-e2e-r-%d", i), "Complete"); err != nil {
			return nil, 0, 0, err
		}
		body := fmt.Sprintf(`{"event":"Finished Journey","body":{"eventId":"bench-e2e-ev-%d","journeyId":%q,"referenceNo":"bench-e2e-r-%d","systemDecision":"Complete"}}`, i, jid, i)
		sent[jid] = time.Now()
		for k := 0; k < 2; k++ { // the second is a duplicate delivery
			if status, err := post(ctx, client, base, body); err != nil || status != 200 {
				return nil, 0, 0, fmt.Errorf("post e2e webhook: %d %v", status, err)
			}
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		mu.Lock()
		n := len(arrived)
		mu.Unlock()
		if n >= m || time.Now().After(deadline) {
			break
		}
		select {
		case err := <-readErr:
			return nil, 0, 0, err
		case <-time.After(100 * time.Millisecond):
		}
	}
	time.Sleep(2 * time.Second) // a duplicate status event would come after the first
	stopReading()
	mu.Lock()
	defer mu.Unlock()
	res := &latencies{elapsed: time.Since(start)}
	for jid, t0 := range sent {
		if t1, ok := arrived[jid]; ok {
			res.d = append(res.d, t1.Sub(t0))
		}
	}
	res.errors = m - len(res.d)
	return res, total, dups, nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }

func render(o options, ack, bare *latencies, stored int, e2e *latencies, statusEvents, dupStatus int) string {
	var b strings.Builder
	unique := int(float64(o.n) * (1 - o.dup))
	fmt.Fprintf(&b, "<!-- load:start -->\n## Load: acknowledgement and end to end (issue 7)\n\n")
	fmt.Fprintf(&b, "Machine: %d CPUs (%s/%s), DynamoDB Local and moto on the same machine. Date: %s.\n",
		runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(&b, "Command: `make bench` (runs `infra/local/with-emulators.sh go run ./infra/local/bench -n %d -c %d -dup %.2f -e2e %d -write BENCHMARKS.md`).\n", o.n, o.c, o.dup, o.e2e)
	fmt.Fprintf(&b, "The product runs as under `make run` (bin/kyc-local); requests go over loopback HTTP. Each of the %d senders alternates one webhook delivery and one bare PutItem, so both see the same load (the processor works through the stream meanwhile). End to end: each journey is claimed through the app API first (as the app does when the SDK starts it), then its Finished Journey is delivered twice; the time runs from the first delivery to the APPROVED status event read from a queue subscribed to the topic, read while the journeys are sent. It includes up to 1 s of the stream event source's batching window (`MaximumBatchingWindowInSeconds` in template.yaml: a batch waits until 1 s after its first record, often the journey's claim just before the webhook) and the local poller's 200 ms poll interval.\n\n", o.c)
	fmt.Fprintf(&b, "| measure | count | errors | throughput (/s) | p50 ms | p95 ms | p99 ms |\n|---|---|---|---|---|---|---|\n")
	fmt.Fprintf(&b, "| `POST /webhooks/idwise` ack (%.0f%% duplicates) | %d | %d | %.0f | %s | %s | %s |\n", o.dup*100, len(ack.d), ack.errors, ack.throughput(), ms(ack.pct(.5)), ms(ack.pct(.95)), ms(ack.pct(.99)))
	fmt.Fprintf(&b, "| bare conditional PutItem, same item shape, same DynamoDB Local, same window | %d | %d | %.0f | %s | %s | %s |\n", len(bare.d), bare.errors, bare.throughput(), ms(bare.pct(.5)), ms(bare.pct(.95)), ms(bare.pct(.99)))
	fmt.Fprintf(&b, "| webhook -> status event on the topic (end to end) | %d | %d | - | %s | %s | %s |\n\n", len(e2e.d), e2e.errors, ms(e2e.pct(.5)), ms(e2e.pct(.95)), ms(e2e.pct(.99)))
	ratio := func(p float64) float64 { return float64(ack.pct(p)) / float64(max(bare.pct(p), 1)) }
	fmt.Fprintf(&b, "Ack latency / bare PutItem latency: **%.2fx** at p50, %.2fx at p95, %.2fx at p99 (target: at most 1.3x).\n\n", ratio(.5), ratio(.95), ratio(.99))
	fmt.Fprintf(&b, "Lost events: %d unique deliveries acknowledged, %d stored: **%d lost**. End to end: %d journeys, each delivered twice; %d status events received, **%d duplicates**.\n<!-- load:end -->\n",
		unique, stored, unique-stored, o.e2e, statusEvents, dupStatus)
	return b.String()
}
