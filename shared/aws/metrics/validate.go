package metrics

import (
	"encoding/json"
	"errors"
	"fmt"
)

// units CloudWatch accepts in EMF (the subset this product uses, plus the common ones).
var units = map[string]bool{"Count": true, "Milliseconds": true, "Seconds": true, "Microseconds": true,
	"Bytes": true, "Percent": true, "None": true}

// Validate checks that line is an Embedded Metric Format document CloudWatch will turn
// into metrics: the _aws metadata, dimension sets naming top-level string members, and
// metric names naming top-level numbers. It returns the metric names.
func Validate(line []byte) ([]string, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(line, &doc); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	var meta struct {
		Timestamp         *int64 `json:"Timestamp"`
		CloudWatchMetrics []struct {
			Namespace  string     `json:"Namespace"`
			Dimensions [][]string `json:"Dimensions"`
			Metrics    []struct {
				Name string `json:"Name"`
				Unit string `json:"Unit"`
			} `json:"Metrics"`
		} `json:"CloudWatchMetrics"`
	}
	raw, ok := doc["_aws"]
	if !ok {
		return nil, errors.New("no _aws member")
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		return nil, fmt.Errorf("_aws: %w", err)
	}
	if meta.Timestamp == nil || *meta.Timestamp <= 0 {
		return nil, errors.New("_aws.Timestamp must be epoch milliseconds")
	}
	if len(meta.CloudWatchMetrics) == 0 {
		return nil, errors.New("_aws.CloudWatchMetrics is empty")
	}
	var names []string
	for _, d := range meta.CloudWatchMetrics {
		if d.Namespace == "" {
			return nil, errors.New("empty Namespace")
		}
		for _, set := range d.Dimensions {
			if len(set) == 0 || len(set) > 30 {
				return nil, fmt.Errorf("dimension set of %d names", len(set))
			}
			for _, dim := range set {
				var v string
				if err := json.Unmarshal(doc[dim], &v); err != nil {
					return nil, fmt.Errorf("dimension %q is not a top-level string", dim)
				}
			}
		}
		for _, m := range d.Metrics {
			var v float64
			if err := json.Unmarshal(doc[m.Name], &v); err != nil {
				return nil, fmt.Errorf("metric %q is not a top-level number", m.Name)
			}
			if !units[m.Unit] {
				return nil, fmt.Errorf("metric %q has unit %q", m.Name, m.Unit)
			}
			names = append(names, m.Name)
		}
	}
	return names, nil
}
