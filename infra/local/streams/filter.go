package streams

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Lambda event filtering (https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html),
// the EventBridge pattern language as Lambda supports it. A pattern is a JSON object whose
// leaves are arrays of conditions; it matches a record when, for every leaf path, one of
// the conditions holds for the record's value at that path. Like EventBridge, the record
// is flattened to its leaf paths first: an array in the record gives several values to a
// path (any may match), and an object is not a leaf (so {"exists": true} does not match
// it and {"exists": false} does).

// Filter is a compiled filter pattern.
type Filter struct {
	pattern string
	paths   map[string][]condition // leaf path ("dynamodb.NewImage.kind.S") -> conditions, OR-ed
}

type condKind int

const (
	condExact condKind = iota
	condPrefix
	condSuffix
	condEqualsIgnoreCase
	condAnythingBut
	condNumeric
	condExists
)

type condition struct {
	kind    condKind
	value   any         // condExact: string, json.Number, bool or nil
	text    string      // condPrefix, condSuffix, condEqualsIgnoreCase
	not     []condition // condAnythingBut: matches when none of these does
	numeric []numericTest
	exists  bool
}

type numericTest struct {
	op string // =, <, <=, >, >=
	n  float64
}

// ErrFilterPattern is wrapped by CompileFilter for a pattern Lambda would reject.
var ErrFilterPattern = errors.New("invalid filter pattern")

// CompileFilter parses a Lambda filter pattern: exact values (strings, numbers, booleans,
// null), {"prefix": s}, {"suffix": s}, {"equals-ignore-case": s}, {"anything-but": v, [v...],
// {"prefix": s}, {"suffix": s} or {"equals-ignore-case": s}}, {"numeric": [op, n, ...]},
// {"exists": bool}, and nested objects.
func CompileFilter(pattern string) (*Filter, error) {
	x, err := decodeJSON([]byte(pattern))
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrFilterPattern, pattern, err)
	}
	obj, ok := x.(map[string]any)
	if !ok || len(obj) == 0 {
		return nil, fmt.Errorf("%w %s: not a non-empty JSON object", ErrFilterPattern, pattern)
	}
	f := &Filter{pattern: pattern, paths: map[string][]condition{}}
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
				c, err := compileCondition(e)
				if err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
				f.paths[path] = append(f.paths[path], c)
			}
		default:
			return fmt.Errorf("%s: a value must be an array of conditions or an object", path)
		}
	}
	return nil
}

func compileCondition(x any) (condition, error) {
	switch v := x.(type) {
	case string, json.Number, bool, nil:
		return condition{kind: condExact, value: v}, nil
	case map[string]any:
		if len(v) != 1 {
			return condition{}, fmt.Errorf("condition %v: want exactly one operator", v)
		}
		for op, arg := range v {
			return compileOperator(op, arg)
		}
	}
	return condition{}, fmt.Errorf("condition %v: not a value or an operator object", x)
}

func compileOperator(op string, arg any) (condition, error) {
	switch op {
	case "prefix", "suffix", "equals-ignore-case":
		s, ok := arg.(string)
		if !ok {
			return condition{}, fmt.Errorf("%s: want a string, got %v", op, arg)
		}
		kind := map[string]condKind{"prefix": condPrefix, "suffix": condSuffix, "equals-ignore-case": condEqualsIgnoreCase}[op]
		return condition{kind: kind, text: s}, nil
	case "exists":
		b, ok := arg.(bool)
		if !ok {
			return condition{}, fmt.Errorf("exists: want true or false, got %v", arg)
		}
		return condition{kind: condExists, exists: b}, nil
	case "anything-but":
		c := condition{kind: condAnythingBut}
		switch a := arg.(type) {
		case string, json.Number, bool:
			c.not = []condition{{kind: condExact, value: a}}
		case []any:
			if len(a) == 0 {
				return condition{}, fmt.Errorf("anything-but: empty list")
			}
			for _, e := range a {
				switch e.(type) {
				case string, json.Number, bool:
					c.not = append(c.not, condition{kind: condExact, value: e})
				default:
					return condition{}, fmt.Errorf("anything-but: list elements must be strings, numbers or booleans, got %v", e)
				}
			}
		case map[string]any:
			inner, err := compileCondition(a)
			if err != nil || (inner.kind != condPrefix && inner.kind != condSuffix && inner.kind != condEqualsIgnoreCase) {
				return condition{}, fmt.Errorf("anything-but: only prefix, suffix and equals-ignore-case may be nested, got %v", a)
			}
			c.not = []condition{inner}
		default:
			return condition{}, fmt.Errorf("anything-but: unsupported argument %v", arg)
		}
		return c, nil
	case "numeric":
		a, ok := arg.([]any)
		if !ok || len(a) == 0 || len(a)%2 != 0 || len(a) > 4 {
			return condition{}, fmt.Errorf("numeric: want [op, n] or [op, n, op, n], got %v", arg)
		}
		c := condition{kind: condNumeric}
		for i := 0; i < len(a); i += 2 {
			o, ok := a[i].(string)
			if !ok || !slices.Contains([]string{"=", "<", "<=", ">", ">="}, o) {
				return condition{}, fmt.Errorf("numeric: operator %v: want =, <, <=, > or >=", a[i])
			}
			num, ok := a[i+1].(json.Number)
			if !ok {
				return condition{}, fmt.Errorf("numeric: %v is not a number", a[i+1])
			}
			n, err := num.Float64()
			if err != nil {
				return condition{}, fmt.Errorf("numeric: %v: %w", num, err)
			}
			c.numeric = append(c.numeric, numericTest{op: o, n: n})
		}
		return c, nil
	}
	return condition{}, fmt.Errorf("operator %q: not supported by Lambda event filtering", op)
}

// Match reports whether the record JSON (decoded with json.Number numbers) matches.
func (f *Filter) Match(doc any) bool {
	leaves := map[string][]any{}
	flatten("", doc, leaves)
	for path, conds := range f.paths {
		values, present := leaves[path]
		if !slices.ContainsFunc(conds, func(c condition) bool { return c.holds(values, present) }) {
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

func (c condition) holds(values []any, present bool) bool {
	if c.kind == condExists {
		return present == c.exists
	}
	return present && slices.ContainsFunc(values, c.matches)
}

func (c condition) matches(v any) bool {
	switch c.kind {
	case condExact:
		return sameValue(c.value, v)
	case condPrefix:
		s, ok := v.(string)
		return ok && strings.HasPrefix(s, c.text)
	case condSuffix:
		s, ok := v.(string)
		return ok && strings.HasSuffix(s, c.text)
	case condEqualsIgnoreCase:
		s, ok := v.(string)
		return ok && strings.EqualFold(s, c.text)
	case condAnythingBut:
		return !slices.ContainsFunc(c.not, func(n condition) bool { return n.matches(v) })
	case condNumeric:
		num, ok := v.(json.Number)
		if !ok {
			return false
		}
		n, err := num.Float64()
		if err != nil {
			return false
		}
		for _, t := range c.numeric {
			if !t.holds(n) {
				return false
			}
		}
		return true
	}
	return false
}

func (t numericTest) holds(n float64) bool {
	switch t.op {
	case "=":
		return n == t.n
	case "<":
		return n < t.n
	case "<=":
		return n <= t.n
	case ">":
		return n > t.n
	default:
		return n >= t.n
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
