package streams

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
)

// Lambda event filtering (https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html),
// reduced to what template.yaml uses: exact values. A pattern is a JSON object whose
// leaves are arrays of values; it matches a record when, for every leaf path, the record
// holds one of the listed values at that path (strings, booleans and null by equality,
// numbers by numeric value; an array in the record gives several values to a path, any may
// match). The template's one filter is
// {"eventName":["INSERT"],"dynamodb":{"NewImage":{"kind":{"S":["event"]}}}}.
//
// The operators of the full language (prefix, suffix, anything-but, numeric, exists, ...)
// are refused by CompileFilter, so that a template that starts to use one fails `make run`
// and the tests loudly instead of being filtered differently than in AWS: add the operator
// here, with its rows in filter_test.go, when the template needs it.

// Filter is a compiled filter pattern.
type Filter struct {
	pattern string
	paths   map[string][]any // leaf path ("dynamodb.NewImage.kind.S") -> accepted values, OR-ed
}

// ErrFilterPattern is wrapped by CompileFilter for a pattern Lambda would reject, or one
// that uses an operator this matcher does not implement.
var ErrFilterPattern = errors.New("invalid filter pattern")

// CompileFilter parses a Lambda filter pattern of exact values in nested objects.
func CompileFilter(pattern string) (*Filter, error) {
	x, err := decodeJSON([]byte(pattern))
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrFilterPattern, pattern, err)
	}
	obj, ok := x.(map[string]any)
	if !ok || len(obj) == 0 {
		return nil, fmt.Errorf("%w %s: not a non-empty JSON object", ErrFilterPattern, pattern)
	}
	f := &Filter{pattern: pattern, paths: map[string][]any{}}
	if err := f.compile("", obj); err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrFilterPattern, pattern, err)
	}
	return f, nil
}

func (f *Filter) String() string { return f.pattern }

func (f *Filter) compile(prefix string, obj map[string]any) error {
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		path := k
		if prefix != "" {
			path = prefix + "." + k
		}
		switch v := obj[k].(type) {
		case map[string]any:
			if len(v) == 0 {
				return fmt.Errorf("%s: empty object", path)
			}
			if err := f.compile(path, v); err != nil {
				return err
			}
		case []any:
			if len(v) == 0 {
				return fmt.Errorf("%s: empty array", path)
			}
			for _, e := range v {
				switch e.(type) {
				case string, json.Number, bool, nil:
				case map[string]any:
					return fmt.Errorf("%s: operator %v: only exact values are implemented locally (infra/local/streams/filter.go)", path, e)
				default:
					return fmt.Errorf("%s: %v is not a value", path, e)
				}
			}
			f.paths[path] = v
		default:
			return fmt.Errorf("%s: a value must be an array of values or an object", path)
		}
	}
	return nil
}

// Match reports whether the record JSON (decoded with json.Number numbers) matches.
func (f *Filter) Match(doc any) bool {
	leaves := map[string][]any{}
	flatten("", doc, leaves)
	for path, want := range f.paths {
		if !slices.ContainsFunc(leaves[path], func(got any) bool {
			return slices.ContainsFunc(want, func(w any) bool { return sameValue(w, got) })
		}) {
			return false
		}
	}
	return true
}

// flatten collects the leaf values of x by dotted path; array elements share their path.
func flatten(path string, x any, out map[string][]any) {
	switch v := x.(type) {
	case map[string]any:
		for k, e := range v {
			p := k
			if path != "" {
				p = path + "." + k
			}
			flatten(p, e, out)
		}
	case []any:
		for _, e := range v {
			flatten(path, e, out)
		}
	default:
		out[path] = append(out[path], v)
	}
}

// sameValue compares a pattern value with a record value: same JSON type and value, numbers
// by their numeric value.
func sameValue(want, got any) bool {
	switch w := want.(type) {
	case json.Number:
		g, ok := got.(json.Number)
		if !ok {
			return false
		}
		wf, err1 := w.Float64()
		gf, err2 := g.Float64()
		return err1 == nil && err2 == nil && wf == gf
	case nil:
		return got == nil
	default:
		return want == got
	}
}

// filters is the OR of a mapping's filters; with none, every record matches.
type filters []*Filter

func compileFilters(patterns []string) (filters, error) {
	fs := make(filters, 0, len(patterns))
	for _, p := range patterns {
		f, err := CompileFilter(p)
		if err != nil {
			return nil, err
		}
		fs = append(fs, f)
	}
	return fs, nil
}

func (fs filters) match(doc any) bool {
	if len(fs) == 0 {
		return true
	}
	return slices.ContainsFunc(fs, func(f *Filter) bool { return f.Match(doc) })
}
