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

	"github.com/kycbackend/kyc/infra/local/lambdart"
	"github.com/kycbackend/kyc/infra/local/provision"
	"github.com/kycbackend/kyc/shared/aws/dynamo/dynamotest"
)

// concurrentInvocations is how many invocations the peak RSS figure is taken after.
const concurrentInvocations = 100

// BenchmarkBootstrap reports, for each function of template.yaml, the figures of
// BENCHMARKS.md "Function binaries" (`make bench-binaries`, which writes them there):
//
//   - arm64-MB (10^6 bytes): size of the bootstrap `sam build` deploys
//     (make build-<LogicalId>, GOARCH=arm64).
//   - init-ms: Lambda's "Init Duration" (config, AWS clients, handler built) as the Runtime
//     Interface Emulator reports it (INIT REPORT durationMs: from the emulator starting the
//     bootstrap to its first GET .../invocation/next), median of the b.N cold starts.
//   - invoke-ms: the cold invocation's own "Duration" as the emulator reports it (INVOKE
//     RTDONE duration: the invocation handed to the bootstrap to its response posted), with
//     the function's first sample of events/, prepared as TestFunctionBinaries prepares it;
//     median.
//   - cold-ms: init plus invoke of the same cold start (what Lambda bills for a cold
//     invocation, and what the Runtime API harness this emulator replaced called "first
//     response": process start to the response posted); median.
//   - first-response-ms: the cold invocation as its caller sees it, from the invoke request
//     to its answer: cold-ms plus the emulator's own handling of the request and the answer
//     (see EmulatorFloor); median.
//   - peak-RSS-MB (10^6 bytes): the bootstrap's VmHWM (/proc) in one fresh emulator (new
//     stack) after 100 invocations submitted at once by 100 concurrent callers; the
//     emulator's one execution environment takes them one at a time, as Lambda does. The
//     samples are cycled and each is prepared before the burst.
//
// EmulatorFloor measures the same figures for testdata/echo (the Lambda Go runtime and
// nothing else, answering its payload): what the emulator and the runtime cost whatever
// the function does.
//
// ns/op is a whole cold cycle: emulator start, first response, kill. Timings and RSS are of the
// build for this machine (same recipe, GOARCH of this machine; see TestFunctionBinaries);
// the emulators' latency (DynamoDB Local, moto, the IDWise simulator) is included.
func BenchmarkBootstrap(b *testing.B) {
	b.Run("EmulatorFloor", func(b *testing.B) {
		bin := echoBootstrap(b)
		var colds []lambdart.ColdStart
		for b.Loop() {
			p, err := lambdart.Start(lambdart.Config{Path: bin, FunctionName: "echo-fn", MemoryMB: memoryMB, Timeout: 10 * time.Second})
			if err != nil {
				b.Fatal(err)
			}
			colds = append(colds, coldStart(b, p, []byte(`{"echo":{"ok":true}}`), func(tb testing.TB, out []byte) {
				if string(out) != `{"ok":true}` {
					tb.Fatalf("echo answered %s", out)
				}
			}))
		}
		b.StopTimer()
		reportColdStarts(b, colds)
	})
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
			var colds []lambdart.ColdStart
			for b.Loop() {
				b.StopTimer()
				check := s.Row.Prepare(b, w, s)
				b.StartTimer()
				p, _ := w.start(b, id, bin, samples[id])
				colds = append(colds, coldStart(b, p, s.Payload, check))
			}
			b.StopTimer()
			rss := peakRSS(b, newWorld(b, cfg, tpl), id, bin, samples[id])
			b.ReportMetric(float64(arm.Size())/1e6, "arm64-MB")
			reportColdStarts(b, colds)
			b.ReportMetric(float64(rss)/1e6, "peak-RSS-MB")
		})
	}
}

// coldStart invokes a fresh process once, stops it and returns the cold start's figures;
// the timer runs from the invoke to the stop.
func coldStart(b *testing.B, p *lambdart.Process, payload []byte, check check) lambdart.ColdStart {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := p.Invoke(ctx, payload)
	b.StopTimer()
	cs, csErr := p.ColdStart(ctx)
	b.StartTimer()
	stopErr := p.Stop()
	b.StopTimer()
	if err != nil || csErr != nil || stopErr != nil {
		b.Fatalf("cold start: %v, timings %v, stop %v", err, csErr, stopErr)
	}
	check(b, out)
	b.StartTimer()
	return cs
}

func reportColdStarts(b *testing.B, colds []lambdart.ColdStart) {
	b.Helper()
	pick := func(f func(lambdart.ColdStart) time.Duration) float64 {
		ds := make([]time.Duration, len(colds))
		for i, c := range colds {
			ds[i] = f(c)
		}
		return ms(median(ds))
	}
	b.ReportMetric(pick(func(c lambdart.ColdStart) time.Duration { return c.Init }), "init-ms")
	b.ReportMetric(pick(func(c lambdart.ColdStart) time.Duration { return c.Invoke }), "invoke-ms")
	b.ReportMetric(pick(lambdart.ColdStart.Billed), "cold-ms")
	b.ReportMetric(pick(func(c lambdart.ColdStart) time.Duration { return c.FirstResponse }), "first-response-ms")
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
