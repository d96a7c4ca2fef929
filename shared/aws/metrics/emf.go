// Package metrics writes CloudWatch metrics in Embedded Metric Format: one JSON log line
// per data point, turned into metrics by CloudWatch Logs with no API call.
package metrics

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"sort"
	"sync"
	"time"
)

// Namespace is the CloudWatch namespace of every metric the product emits.
const Namespace = "KYCBackend"

// EMF writes metrics to w (stdout in Lambda). It is safe for concurrent use.
type EMF struct {
	mu      sync.Mutex
	w       io.Writer
	service string
	now     func() time.Time
}

// New returns an EMF writer for service (the function name) writing to w; nil w means
// standard output.
func New(w io.Writer, service string) *EMF {
	if w == nil {
		w = os.Stdout
	}
	return &EMF{w: w, service: service, now: time.Now}
}

// Count records one occurrence of name with the given dimensions.
func (m *EMF) Count(ctx context.Context, name string, dims map[string]string) {
	m.Put(ctx, name, 1, "Count", dims)
}

// Put records value (in unit) for name with the given dimensions.
func (m *EMF) Put(_ context.Context, name string, value float64, unit string, dims map[string]string) {
	keys := make([]string, 0, len(dims)+1)
	doc := map[string]any{}
	keys = append(keys, "service")
	doc["service"] = m.service
	for k, v := range dims {
		keys = append(keys, k)
		doc[k] = v
	}
	sort.Strings(keys[1:])
	doc[name] = value
	// Two dimension sets: by function alone (what alarms watch) and by every dimension.
	sets := [][]string{{"service"}}
	if len(keys) > 1 {
		sets = append(sets, keys)
	}
	doc["_aws"] = map[string]any{
		"Timestamp": m.now().UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  Namespace,
			"Dimensions": sets,
			"Metrics":    []any{map[string]string{"Name": name, "Unit": unit}},
		}},
	}
	line, err := json.Marshal(doc)
	if err != nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, _ = m.w.Write(append(line, '\n'))
}
