package provision

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Event types of AWS::Serverless::Function read besides HttpApi.
const (
	eventDynamoDB   = "DynamoDB"
	eventSchedule   = "Schedule"
	eventScheduleV2 = "ScheduleV2"
)

// ReportBatchItemFailures is the FunctionResponseTypes value that lets a stream handler
// report the records of a batch that failed.
const ReportBatchItemFailures = "ReportBatchItemFailures"

// Defaults of a Lambda event source mapping for DynamoDB Streams, as AWS applies them.
const (
	DefaultBatchSize             = 100
	DefaultMaximumRetryAttempts  = -1 // infinite: until the record expires from the stream
	DefaultMaximumRecordAge      = -1 // infinite
	DefaultParallelizationFactor = 1
)

// StreamSource is a DynamoDB event of a function: a Lambda event source mapping from the
// stream of a table of the template. Scalar properties written as intrinsics (Ref to a
// parameter, Fn::If, Fn::Sub) are resolved with the parameters' defaults.
type StreamSource struct {
	Name              string // the event's name under Events
	FunctionLogicalID string
	TableLogicalID    string // from Stream: !GetAtt <Table>.StreamArn
	Enabled           bool   // default true

	StartingPosition               string // TRIM_HORIZON or LATEST
	BatchSize                      int    // default 100
	MaximumBatchingWindowInSeconds int    // default 0
	MaximumRetryAttempts           int    // -1 (default) = infinite
	MaximumRecordAgeInSeconds      int    // -1 (default) = infinite
	BisectBatchOnFunctionError     bool
	ParallelizationFactor          int      // default 1
	FunctionResponseTypes          []string // e.g. ReportBatchItemFailures
	// FilterPatterns are FilterCriteria.Filters[].Pattern, each a JSON object (Lambda event
	// filtering syntax). A record is delivered when it matches any of them; with none,
	// every record is delivered.
	FilterPatterns []string
	// OnFailureDestination is the logical ID of the resource (queue or topic) named by
	// DestinationConfig.OnFailure.Destination (!GetAtt Q.Arn or !Ref T); empty when none.
	OnFailureDestination string
	// OnFailureType is DestinationConfig.OnFailure.Type (SQS or SNS) when the template says.
	OnFailureType string
}

// ReportsBatchItemFailures reports whether FunctionResponseTypes has ReportBatchItemFailures.
func (s StreamSource) ReportsBatchItemFailures() bool {
	return slices.Contains(s.FunctionResponseTypes, ReportBatchItemFailures)
}

// Schedule is a Schedule (EventBridge rule) or ScheduleV2 (EventBridge Scheduler) event of
// a function. Intrinsics are resolved with the parameters' defaults, as for StreamSource.
type Schedule struct {
	Name              string // the event's name under Events
	FunctionLogicalID string
	Type              string // Schedule or ScheduleV2
	Expression        string // rate(...), cron(...) or at(...), as written
	Enabled           bool   // Enabled, or State ENABLED; default true
	Input             string // the Input property (JSON text) when given
}

// Interval returns the period of a rate expression (see ParseRate).
func (s Schedule) Interval() (time.Duration, error) {
	return ParseRate(s.Expression)
}

// ErrUnsupportedSchedule is wrapped by ParseRate for cron(...) and at(...) expressions,
// which a local run does not emulate.
var ErrUnsupportedSchedule = errors.New("schedule expression not supported locally (only rate)")

var rateExpr = regexp.MustCompile(`^rate\(\s*([0-9]+)\s+([a-z]+)\s*\)$`)

// ParseRate turns an EventBridge rate expression into its period: rate(1 minute),
// rate(5 minutes), rate(1 hour), rate(2 hours), rate(1 day), rate(7 days). As in AWS, the
// value is a positive integer and the unit is singular for 1 and plural otherwise. cron(...)
// and at(...) expressions wrap ErrUnsupportedSchedule.
func ParseRate(expr string) (time.Duration, error) {
	m := rateExpr.FindStringSubmatch(expr)
	if m == nil {
		if strings.HasPrefix(expr, "cron(") || strings.HasPrefix(expr, "at(") {
			return 0, fmt.Errorf("schedule %q: %w", expr, ErrUnsupportedSchedule)
		}
		return 0, fmt.Errorf("schedule %q: not rate(<value> <unit>)", expr)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("schedule %q: value must be a positive integer", expr)
	}
	units := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}
	unit := m[2]
	if n != 1 {
		if unit[len(unit)-1] != 's' {
			return 0, fmt.Errorf("schedule %q: unit must be plural for a value other than 1", expr)
		}
		unit = unit[:len(unit)-1]
	}
	d, ok := units[unit]
	if !ok {
		return 0, fmt.Errorf("schedule %q: unit must be minute(s), hour(s) or day(s)", expr)
	}
	return time.Duration(n) * d, nil
}

type rawDynamoDBEvent struct {
	Stream                         json.RawMessage
	StartingPosition               json.RawMessage
	BatchSize                      json.RawMessage
	MaximumBatchingWindowInSeconds json.RawMessage
	MaximumRetryAttempts           json.RawMessage
	MaximumRecordAgeInSeconds      json.RawMessage
	BisectBatchOnFunctionError     json.RawMessage
	ParallelizationFactor          json.RawMessage
	TumblingWindowInSeconds        json.RawMessage
	Enabled                        json.RawMessage
	FunctionResponseTypes          []json.RawMessage
	FilterCriteria                 *struct {
		Filters []struct {
			Pattern json.RawMessage
		}
	}
	DestinationConfig *struct {
		OnFailure *struct {
			Destination json.RawMessage
			Type        json.RawMessage
		}
	}
}

type rawScheduleEvent struct {
	Schedule           json.RawMessage // Schedule
	ScheduleExpression json.RawMessage // ScheduleV2
	Enabled            json.RawMessage // Schedule (deprecated in favour of State)
	State              json.RawMessage
	Input              json.RawMessage
}

// eventParser reads the DynamoDB and schedule events of the template's functions.
type eventParser struct {
	t         *Template
	env       *Env // the parameters' defaults, built on first use
	streams   []StreamSource
	schedules []Schedule
}

// scalar returns the string a scalar property stands for: a literal, or an intrinsic
// resolved with the parameters' defaults. ok is false when the property is absent.
func (p *eventParser) scalar(raw json.RawMessage) (s string, ok bool, err error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", false, nil
	}
	v, err := parseValue(raw)
	if err != nil {
		return "", false, err
	}
	if v.Kind == KindLiteral {
		return v.Literal, true, nil
	}
	if p.env == nil {
		env, err := p.t.Env(nil)
		if err != nil {
			return "", false, err
		}
		p.env = &env
	}
	s, err = v.Resolve(*p.env)
	if err != nil {
		return "", false, err
	}
	return s, true, nil
}

func (p *eventParser) integer(field string, raw json.RawMessage, def, lo, hi int) (int, error) {
	s, ok, err := p.scalar(raw)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", field, err)
	}
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%s %q: not an integer", field, s)
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("%s %d: out of range [%d, %d]", field, n, lo, hi)
	}
	return n, nil
}

func (p *eventParser) boolean(field string, raw json.RawMessage, def bool) (bool, error) {
	s, ok, err := p.scalar(raw)
	if err != nil {
		return false, fmt.Errorf("%s: %w", field, err)
	}
	if !ok {
		return def, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, fmt.Errorf("%s %q: not a boolean", field, s)
	}
	return b, nil
}

// parse reads one event of function fn; events of other types are ignored.
func (p *eventParser) parse(fn, name, typ string, props json.RawMessage) error {
	switch typ {
	case eventDynamoDB:
		s, err := p.streamSource(fn, name, props)
		if err != nil {
			return fmt.Errorf("event %s: %w", name, err)
		}
		p.streams = append(p.streams, s)
	case eventSQS:
		s, err := p.sqsSource(fn, name, props)
		if errors.Is(err, errExternalQueue) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("event %s: %w", name, err)
		}
		p.t.messaging.sqsSources = append(p.t.messaging.sqsSources, s)
	case eventSchedule, eventScheduleV2:
		s, err := p.schedule(fn, name, typ, props)
		if err != nil {
			return fmt.Errorf("event %s: %w", name, err)
		}
		p.schedules = append(p.schedules, s)
	}
	return nil
}

func (p *eventParser) streamSource(fn, name string, props json.RawMessage) (StreamSource, error) {
	var raw rawDynamoDBEvent
	if len(props) > 0 {
		if err := decodeJSON(props, &raw); err != nil {
			return StreamSource{}, fmt.Errorf("decode properties: %w", err)
		}
	}
	s := StreamSource{Name: name, FunctionLogicalID: fn}

	stream, err := parseValue(raw.Stream)
	if len(raw.Stream) == 0 || err != nil || stream.Kind != KindGetAtt || stream.Attribute != "StreamArn" {
		return StreamSource{}, fmt.Errorf("property Stream must be !GetAtt <table>.StreamArn of a table of this template")
	}
	s.TableLogicalID = stream.Name

	pos, _, err := p.scalar(raw.StartingPosition)
	if err != nil {
		return StreamSource{}, fmt.Errorf("StartingPosition: %w", err)
	}
	if pos != "TRIM_HORIZON" && pos != "LATEST" {
		return StreamSource{}, fmt.Errorf("StartingPosition %q: must be TRIM_HORIZON or LATEST", pos)
	}
	s.StartingPosition = pos

	ints := []struct {
		field   string
		raw     json.RawMessage
		dst     *int
		def     int
		lo, hi  int
		special int // a value allowed outside [lo, hi] (-1 = infinite); 0 when none
	}{
		{"BatchSize", raw.BatchSize, &s.BatchSize, DefaultBatchSize, 1, 10000, 0},
		{"MaximumBatchingWindowInSeconds", raw.MaximumBatchingWindowInSeconds, &s.MaximumBatchingWindowInSeconds, 0, 0, 300, 0},
		{"MaximumRetryAttempts", raw.MaximumRetryAttempts, &s.MaximumRetryAttempts, DefaultMaximumRetryAttempts, -1, 10000, 0},
		{"MaximumRecordAgeInSeconds", raw.MaximumRecordAgeInSeconds, &s.MaximumRecordAgeInSeconds, DefaultMaximumRecordAge, 60, 604800, -1},
		{"ParallelizationFactor", raw.ParallelizationFactor, &s.ParallelizationFactor, DefaultParallelizationFactor, 1, 10, 0},
	}
	for _, f := range ints {
		lo := f.lo
		if f.special != 0 {
			lo = f.special
		}
		n, err := p.integer(f.field, f.raw, f.def, lo, f.hi)
		if err != nil {
			return StreamSource{}, err
		}
		if f.special != 0 && n != f.special && n < f.lo {
			return StreamSource{}, fmt.Errorf("%s %d: must be %d or in [%d, %d]", f.field, n, f.special, f.lo, f.hi)
		}
		*f.dst = n
	}
	if tw, err := p.integer("TumblingWindowInSeconds", raw.TumblingWindowInSeconds, 0, 0, 900); err != nil {
		return StreamSource{}, err
	} else if tw > 0 {
		return StreamSource{}, fmt.Errorf("TumblingWindowInSeconds: not supported locally")
	}
	if s.BisectBatchOnFunctionError, err = p.boolean("BisectBatchOnFunctionError", raw.BisectBatchOnFunctionError, false); err != nil {
		return StreamSource{}, err
	}
	if s.Enabled, err = p.boolean("Enabled", raw.Enabled, true); err != nil {
		return StreamSource{}, err
	}

	for _, r := range raw.FunctionResponseTypes {
		v, _, err := p.scalar(r)
		if err != nil {
			return StreamSource{}, fmt.Errorf("FunctionResponseTypes: %w", err)
		}
		if v != ReportBatchItemFailures {
			return StreamSource{}, fmt.Errorf("FunctionResponseTypes %q: only %s exists", v, ReportBatchItemFailures)
		}
		s.FunctionResponseTypes = append(s.FunctionResponseTypes, v)
	}

	if fc := raw.FilterCriteria; fc != nil {
		for i, f := range fc.Filters {
			pattern, err := p.filterPattern(f.Pattern)
			if err != nil {
				return StreamSource{}, fmt.Errorf("FilterCriteria.Filters[%d].Pattern: %w", i, err)
			}
			s.FilterPatterns = append(s.FilterPatterns, pattern)
		}
	}

	if dc := raw.DestinationConfig; dc != nil && dc.OnFailure != nil {
		d, err := parseValue(dc.OnFailure.Destination)
		if err != nil || (d.Kind != KindGetAtt && d.Kind != KindRef) {
			return StreamSource{}, fmt.Errorf("DestinationConfig.OnFailure.Destination must be !GetAtt <queue>.Arn or !Ref <topic> of this template")
		}
		s.OnFailureDestination = d.Name
		if s.OnFailureType, _, err = p.scalar(dc.OnFailure.Type); err != nil {
			return StreamSource{}, fmt.Errorf("DestinationConfig.OnFailure.Type: %w", err)
		}
	}
	return s, nil
}

// filterPattern returns a filter's pattern as JSON text. SAM and CloudFormation take it as
// a string holding JSON (possibly built with an intrinsic such as Fn::Sub); a pattern
// written as a YAML mapping is accepted and encoded.
func (p *eventParser) filterPattern(raw json.RawMessage) (string, error) {
	var x any
	if err := decodeJSON(raw, &x); err != nil {
		return "", err
	}
	if m, ok := x.(map[string]any); ok {
		if fn, _, ok := single(m); !ok || (fn != "Ref" && !strings.HasPrefix(fn, "Fn::")) {
			b, err := json.Marshal(m)
			if err != nil {
				return "", err
			}
			return string(b), nil
		}
		s, _, err := p.scalar(raw)
		if err != nil {
			return "", err
		}
		x = s
	}
	s, ok := x.(string)
	if !ok {
		return "", fmt.Errorf("%s: not a JSON object or a string holding one", raw)
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(s), &obj); err != nil || obj == nil {
		return "", fmt.Errorf("%q: not a JSON object", s)
	}
	return s, nil
}

func (p *eventParser) schedule(fn, name, typ string, props json.RawMessage) (Schedule, error) {
	var raw rawScheduleEvent
	if len(props) > 0 {
		if err := decodeJSON(props, &raw); err != nil {
			return Schedule{}, fmt.Errorf("decode properties: %w", err)
		}
	}
	s := Schedule{Name: name, FunctionLogicalID: fn, Type: typ}
	field, exprRaw := "Schedule", raw.Schedule
	if typ == eventScheduleV2 {
		field, exprRaw = "ScheduleExpression", raw.ScheduleExpression
	}
	expr, ok, err := p.scalar(exprRaw)
	if err != nil {
		return Schedule{}, fmt.Errorf("%s: %w", field, err)
	}
	if !ok || expr == "" {
		return Schedule{}, fmt.Errorf("%s: missing", field)
	}
	s.Expression = expr

	if s.Enabled, err = p.boolean("Enabled", raw.Enabled, true); err != nil {
		return Schedule{}, err
	}
	state, ok, err := p.scalar(raw.State)
	if err != nil {
		return Schedule{}, fmt.Errorf("property State: %w", err)
	}
	if ok {
		switch state {
		case "ENABLED":
			s.Enabled = true
		case "DISABLED":
			s.Enabled = false
		default:
			return Schedule{}, fmt.Errorf("property State %q: must be ENABLED or DISABLED", state)
		}
	}
	if s.Input, _, err = p.scalar(raw.Input); err != nil {
		return Schedule{}, fmt.Errorf("property Input: %w", err)
	}
	return s, nil
}

// check verifies what needs the whole template: each stream source names a table of the
// template that has a stream.
func (p *eventParser) check() error {
	for _, s := range p.streams {
		i := slices.IndexFunc(p.t.tables, func(t Table) bool { return t.LogicalID == s.TableLogicalID })
		switch {
		case i < 0:
			return fmt.Errorf("function %s event %s: Stream: no table %s in the template", s.FunctionLogicalID, s.Name, s.TableLogicalID)
		case p.t.tables[i].StreamViewType == "":
			return fmt.Errorf("function %s event %s: Stream: table %s has no StreamSpecification", s.FunctionLogicalID, s.Name, s.TableLogicalID)
		}
	}
	return nil
}

// StreamSources returns the DynamoDB events of all functions, by function and event name.
func (t *Template) StreamSources() []StreamSource {
	out := slices.Clone(t.streams)
	for i := range out {
		out[i].FunctionResponseTypes = slices.Clone(out[i].FunctionResponseTypes)
		out[i].FilterPatterns = slices.Clone(out[i].FilterPatterns)
	}
	return out
}

// Schedules returns the Schedule and ScheduleV2 events of all functions, by function and
// event name.
func (t *Template) Schedules() []Schedule {
	return slices.Clone(t.schedules)
}
