package tracing

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

func listen(t *testing.T) (*net.UDPConn, func(string) string) {
	t.Helper()
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	addr := pc.LocalAddr().String()
	return pc, func(k string) string {
		if k == "AWS_XRAY_DAEMON_ADDRESS" {
			return addr
		}
		return ""
	}
}

func read(t *testing.T, pc *net.UDPConn) Subsegment {
	t.Helper()
	buf := make([]byte, 65536)
	_ = pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := pc.Read(buf)
	if err != nil {
		t.Fatalf("no subsegment received: %v", err)
	}
	head, body, ok := bytes.Cut(buf[:n], []byte("\n"))
	if !ok || string(head) != `{"format":"json","version":1}` {
		t.Fatalf("datagram %q lacks the daemon header", buf[:n])
	}
	var s Subsegment
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTransportRecordsRemoteSubsegment(t *testing.T) {
	pc, getenv := listen(t)
	e := New(getenv)
	if e == nil {
		t.Fatal("New() = nil with a daemon address")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) }))
	defer srv.Close()
	client := &http.Client{Transport: e.Transport("IDWise", nil)}
	//lint:ignore SA1029 aws-lambda-go (lambda/invoke_loop.go) stores the trace header under this very string key
	ctx := context.WithValue(context.Background(), "x-amzn-trace-id", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/journey/v2/result/j1?secret=x", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	s := read(t, pc)
	if s.Name != "IDWise" || s.TraceID != "1-5759e988-bd862e3fe1be46a994272793" || s.ParentID != "53995c3f42cd8ad8" ||
		s.Type != "subsegment" || s.Namespace != "remote" || !s.Fault || s.EndTime < s.StartTime {
		t.Errorf("subsegment = %+v, want an IDWise remote fault under the invocation's segment", s)
	}
	if url := s.HTTP["request"].(map[string]any)["url"].(string); url != srv.URL+"/journey/v2/result/j1" {
		t.Errorf("recorded url = %q, want it without the query", url)
	}
}

func TestNothingWithoutDaemonOrSampling(t *testing.T) {
	if e := New(func(string) string { return "" }); e != nil {
		t.Errorf("New() without a daemon address = %v, want nil", e)
	}
	var nilEmitter *Emitter
	if rt := nilEmitter.Transport("x", http.DefaultTransport); rt != http.DefaultTransport {
		t.Errorf("nil emitter wrapped the transport")
	}
	for _, h := range []string{"", "Root=1-a-b;Parent=c;Sampled=0", "Parent=c;Sampled=1"} {
		//lint:ignore SA1029 aws-lambda-go (lambda/invoke_loop.go) stores the trace header under this very string key
		if _, ok := traceHeader(context.WithValue(context.Background(), "x-amzn-trace-id", h)); ok {
			t.Errorf("traceHeader(%q) ok = true, want false", h)
		}
	}
}

func TestInstrumentRecordsAWSCalls(t *testing.T) {
	pc, getenv := listen(t)
	e := New(getenv)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Amzn-Requestid", "req-1")
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		_, _ = w.Write([]byte(`{"TableNames":[]}`))
	}))
	defer srv.Close()
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("a", "b", ""), BaseEndpoint: aws.String(srv.URL)}
	e.Instrument(&cfg)
	//lint:ignore SA1029 aws-lambda-go (lambda/invoke_loop.go) stores the trace header under this very string key
	ctx := context.WithValue(context.Background(), "x-amzn-trace-id", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
	if _, err := dynamodb.NewFromConfig(cfg).ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
		t.Fatal(err)
	}
	s := read(t, pc)
	if s.Name != "DynamoDB" || s.Namespace != "aws" || s.AWS["operation"] != "ListTables" || s.AWS["request_id"] != "req-1" ||
		s.ParentID != "53995c3f42cd8ad8" || s.Fault || s.Error {
		t.Errorf("subsegment = %+v, want DynamoDB ListTables req-1 under the invocation's segment", s)
	}
}
