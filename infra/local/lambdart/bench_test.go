package lambdart_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kycbackend/kyc/infra/local/provision"
	"github.com/kycbackend/kyc/shared/aws/dynamo/dynamotest"
)

// concurrentInvocations is how many invocations the peak RSS figure is taken after.
const concurrentInvocations = 100

// BenchmarkBootstrap reports, for each function of template.yaml, the figures of
// BENCHMARKS.md "Function binaries" (`make bench-binaries`):
//
//   - arm64-MB (10^6 bytes): size of the bootstrap `sam build` deploys
//     (make build-<LogicalId>, GOARCH=arm64).
//   - init-ms: Lambda's "Init Duration" (config, AWS clients, handler built) as the Runtime
//     Interface Emulator reports it (INIT REPORT durationMs: the bootstrap's start to its
//     first GET .../invocation/next), median of the b.N cold starts.
//   - first-response-ms: the cold invocation (the function's first sample of events/,
//     prepared as TestFunctionBinaries prepares it) from the invoke request to its answer,
//     init included; median.
//   - peak-RSS-MB (10^6 bytes): the bootstrap's VmHWM (/proc) in one fresh emulator (new
//     stack) after 100 invocations submitted at once by 100 concurrent callers; the
//     emulator's one execution environment takes them one at a time, as Lambda does. The
//     samples are cycled and each is prepared before the burst.
//
// ns/op is a whole cold cycle: emulator start, first response, kill. Timings and RSS are of the
// build for this machine (same recipe, GOARCH of this machine; see TestFunctionBinaries);
// the emulators' latency (DynamoDB Local, moto, the IDWise simulator) is included.
func BenchmarkBootstrap(b *testing.B) {
	cfg := dynamotest.AWSConfig(b)
	tpl, err := provision.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	samples := assign(b, tpl)
	for _, id := range tpl.Functions() {
		b.Run(id, func(b *testing.B) {
			if len(samples[id]) == 0 {
				b.Fatalf("%s has no sample in events/", id)
			}
			arm, err := os.Stat(build(b, id, "arm64"))
			if err != nil {
				b.Fatal(err)
			}
			bin := build(b, id, runtime.GOARCH)
			w := newWorld(b, cfg, tpl)
			s := samples[id][0]
			ctx := context.Background()
			var inits, firsts []time.Duration
			for b.Loop() {
				b.StopTimer()
				check := s.Row.Prepare(b, w, s)
				b.StartTimer()
				p, _ := w.start(b, id, bin, samples[id])
				out, err := p.Invoke(ctx, s.Payload)
				cs, ok := p.ColdStart()
				stopErr := p.Stop()
				b.StopTimer()
				if err != nil || !ok || stopErr != nil {
					b.Fatalf("cold start: %v, timings %v, stop %v", err, ok, stopErr)
				}
				check(b, out)
				inits, firsts = append(inits, cs.Init), append(firsts, cs.FirstResponse)
				b.StartTimer()
			}
			b.StopTimer()
			rss := peakRSS(b, newWorld(b, cfg, tpl), id, bin, samples[id])
			b.ReportMetric(float64(arm.Size())/1e6, "arm64-MB")
			b.ReportMetric(ms(median(inits)), "init-ms")
			b.ReportMetric(ms(median(firsts)), "first-response-ms")
			b.ReportMetric(float64(rss)/1e6, "peak-RSS-MB")
		})
	}
}

// peakRSS starts one process and returns its VmHWM after concurrentInvocations
// invocations sent at once.
func peakRSS(b *testing.B, w *world, id, bin string, samples []sample) int64 {
	b.Helper()
	payloads := make([][]byte, concurrentInvocations)
	for i := range payloads {
		s := samples[i%len(samples)]
		s.Row.Prepare(b, w, s)
		payloads[i] = s.Payload
	}
	p, _ := w.start(b, id, bin, samples)
	var wg sync.WaitGroup
	errs := make(chan error, len(payloads))
	for _, payload := range payloads {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if _, err := p.Invoke(ctx, payload); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatalf("invocation: %v", err)
	}
	rss, err := p.PeakRSS()
	if err != nil {
		b.Fatal(err)
	}
	if err := p.Stop(); err != nil {
		b.Fatal(err)
	}
	return rss
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
