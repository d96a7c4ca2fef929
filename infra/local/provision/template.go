// Package provision reads the SAM template (template.yaml) and creates what it declares on
// the local emulators (DynamoDB Local, moto), so that tests and the local runner use the
// very definitions that get deployed.
//
// The template is parsed with goformation's YAML reader (short-form tags such as !Ref and
// !If become their long form), without goformation's typed resources, which reject valid
// templates (a Number parameter in Environment.Variables, LoggingConfig on a function).
// Only what a local run needs is decoded here; intrinsics are kept as Values that the
// runner resolves against the names it created (see Template.Env) with goformation's
// intrinsic handlers, given Ref, Fn::GetAtt and Fn::Sub that know those names (value.go).
package provision

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/awslabs/goformation/v7/intrinsics"
)

// Resource types read from the template.
const (
	typeTable    = "AWS::DynamoDB::Table"
	typeFunction = "AWS::Serverless::Function"
	typeTopic    = "AWS::SNS::Topic"
	typeQueue    = "AWS::SQS::Queue"
)

// pseudoParameters are the values Template.Env gives to CloudFormation pseudo parameters
// unless overridden. The account is moto's default account.
var pseudoParameters = map[string]string{
	"AWS::AccountId": "123456789012",
	"AWS::Partition": "aws",
	"AWS::Region":    "us-east-1",
	"AWS::StackName": "kyc-local",
	"AWS::URLSuffix": "amazonaws.com",
}

// Template is the part of a SAM template that a local run needs.
type Template struct {
	params     map[string]*string // parameter defaults by name; nil when it has none
	conditions map[string]any     // condition expressions, as in the template
	tables     []Table
	topics     []string                    // AWS::SNS::Topic logical IDs
	queues     []string                    // AWS::SQS::Queue logical IDs
	functions  map[string]map[string]Value // environment variables (Globals merged) by function
	timeouts   map[string]time.Duration    // Timeout (Globals merged) by function
	memory     map[string]int              // MemorySize in MB (Globals merged) by function
	routes     []Route
	streams    []StreamSource // DynamoDB events (events.go)
	schedules  []Schedule     // Schedule and ScheduleV2 events (events.go)
	messaging  messaging      // SQS events, queue settings, subscriptions (sqs.go)
}

// Table is an AWS::DynamoDB::Table of the template.
type Table struct {
	LogicalID      string
	Attributes     []Attribute
	Keys           []Key
	GSIs           []Index
	LSIs           []Index
	StreamViewType string // empty when the table has no stream
	TTLAttribute   string // empty when TTL is not enabled
}

// Attribute is an attribute definition: a name and a type (S, N or B).
type Attribute struct {
	Name string `json:"AttributeName"`
	Type string `json:"AttributeType"`
}

// Key is an element of a key schema; Type is HASH or RANGE.
type Key struct {
	Name string `json:"AttributeName"`
	Type string `json:"KeyType"`
}

// Index is a global or local secondary index.
type Index struct {
	Name       string     `json:"IndexName"`
	Keys       []Key      `json:"KeySchema"`
	Projection Projection `json:"Projection"`
}

// Projection says which attributes an index holds; Type is ALL, KEYS_ONLY or INCLUDE.
type Projection struct {
	Type             string   `json:"ProjectionType"`
	NonKeyAttributes []string `json:"NonKeyAttributes"`
}

// Route is an HttpApi event of a function: Method is upper case (ANY for any method),
// Path is the route path ($default when the event gives none). API is the logical ID in
// ApiId, empty for SAM's implicit API.
type Route struct {
	Method            string
	Path              string
	FunctionLogicalID string
	API               string
	// Authorizer is the route's authorizer: the event's Auth.Authorizer, else the API's
	// Auth.DefaultAuthorizer; empty when none (or NONE). JWT is its configuration when it
	// is a JWT authorizer (auth.go), nil otherwise.
	Authorizer string
	JWT        *JWTConfig
}

type rawTemplate struct {
	Parameters map[string]struct {
		Default json.RawMessage
	}
	Conditions map[string]any
	Globals    struct {
		Function struct {
			Timeout     json.RawMessage
			MemorySize  json.RawMessage
			Environment struct {
				Variables map[string]json.RawMessage
			}
		}
	}
	Resources map[string]struct {
		Type       string
		Properties json.RawMessage
	}
}

type rawFunction struct {
	Timeout     json.RawMessage
	MemorySize  json.RawMessage
	Environment struct {
		Variables map[string]json.RawMessage
	}
	Events map[string]struct {
		Type       string
		Properties json.RawMessage
	}
}

type rawHTTPAPIEvent struct {
	APIID  json.RawMessage `json:"ApiId"`
	Method string
	Path   string
	Auth   struct{ Authorizer string }
}

type rawTable struct {
	AttributeDefinitions    []Attribute
	KeySchema               []Key
	GlobalSecondaryIndexes  []Index
	LocalSecondaryIndexes   []Index
	StreamSpecification     *struct{ StreamViewType string }
	TimeToLiveSpecification *struct {
		AttributeName string
		Enabled       bool
	}
}

// Load reads and decodes the SAM template at path (YAML or JSON).
func Load(path string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load template: %w", err)
	}
	t, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("load template %s: %w", path, err)
	}
	return t, nil
}

func parse(data []byte) (*Template, error) {
	// YAML or JSON to JSON, short-form tags to long form; intrinsics stay as written.
	js, err := intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	var raw rawTemplate
	if err := decodeJSON(js, &raw); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}

	t := &Template{
		params:     make(map[string]*string, len(raw.Parameters)),
		conditions: raw.Conditions,
		functions:  map[string]map[string]Value{},
		timeouts:   map[string]time.Duration{},
		memory:     map[string]int{},
	}
	for name, p := range raw.Parameters {
		if len(p.Default) == 0 {
			t.params[name] = nil
			continue
		}
		v, err := parseValue(p.Default)
		if err != nil || v.Kind != KindLiteral {
			return nil, fmt.Errorf("parameter %s: default must be a literal", name)
		}
		t.params[name] = &v.Literal
	}

	globalEnv, err := parseVariables(raw.Globals.Function.Environment.Variables)
	if err != nil {
		return nil, fmt.Errorf("globals function environment: %w", err)
	}

	globalTimeout, err := parseTimeout(raw.Globals.Function.Timeout, DefaultTimeout)
	if err != nil {
		return nil, fmt.Errorf("globals function: %w", err)
	}

	globalMemory, err := parseSize("memory size", raw.Globals.Function.MemorySize, 128, 128, 10240)
	if err != nil {
		return nil, fmt.Errorf("globals function: %w", err)
	}

	events := &eventParser{t: t}
	apis := map[string]httpAPIAuth{}
	for _, id := range slices.Sorted(maps.Keys(raw.Resources)) {
		res := raw.Resources[id]
		switch res.Type {
		case typeHTTPAPI:
			if apis[id], err = parseHTTPAPI(res.Properties); err != nil {
				return nil, fmt.Errorf("resource %s: %w", id, err)
			}
		case typeTable:
			tbl, err := parseTable(id, res.Properties)
			if err != nil {
				return nil, fmt.Errorf("resource %s: %w", id, err)
			}
			t.tables = append(t.tables, tbl)
		case typeTopic:
			t.topics = append(t.topics, id)
		case typeQueue:
			t.queues = append(t.queues, id)
			if err := t.parseMessaging(id, res.Type, res.Properties); err != nil {
				return nil, fmt.Errorf("resource %s: %w", id, err)
			}
		case typeSubscription:
			if err := t.parseMessaging(id, res.Type, res.Properties); err != nil {
				return nil, fmt.Errorf("resource %s: %w", id, err)
			}
		case typeFunction:
			env, routes, err := parseFunction(id, res.Properties, events)
			if err != nil {
				return nil, fmt.Errorf("resource %s: %w", id, err)
			}
			merged := maps.Clone(globalEnv)
			if merged == nil {
				merged = map[string]Value{}
			}
			maps.Copy(merged, env)
			t.functions[id] = merged
			var fn rawFunction
			_ = decodeJSON(res.Properties, &fn) // decoded by parseFunction already
			if t.timeouts[id], err = parseTimeout(fn.Timeout, globalTimeout); err != nil {
				return nil, fmt.Errorf("resource %s: %w", id, err)
			}
			if t.memory[id], err = parseSize("memory size", fn.MemorySize, globalMemory, 128, 10240); err != nil {
				return nil, fmt.Errorf("resource %s: %w", id, err)
			}
			t.routes = append(t.routes, routes...)
		}
	}
	if err := events.check(); err != nil {
		return nil, err
	}
	if err := t.resolveAuthorizers(apis); err != nil {
		return nil, err
	}
	if err := t.checkMessaging(); err != nil {
		return nil, err
	}
	t.streams, t.schedules = events.streams, events.schedules
	slices.SortFunc(t.routes, func(a, b Route) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Method, b.Method)
	})
	return t, nil
}

func parseVariables(vars map[string]json.RawMessage) (map[string]Value, error) {
	if len(vars) == 0 {
		return nil, nil
	}
	env := make(map[string]Value, len(vars))
	for name, raw := range vars {
		v, err := parseValue(raw)
		if err != nil {
			return nil, fmt.Errorf("variable %s: %w", name, err)
		}
		env[name] = v
	}
	return env, nil
}

// parseFunction returns the environment and HttpApi routes of function id; its other events
// go to events.
func parseFunction(id string, props json.RawMessage, events *eventParser) (map[string]Value, []Route, error) {
	var fn rawFunction
	if len(props) > 0 {
		if err := decodeJSON(props, &fn); err != nil {
			return nil, nil, fmt.Errorf("decode properties: %w", err)
		}
	}
	env, err := parseVariables(fn.Environment.Variables)
	if err != nil {
		return nil, nil, fmt.Errorf("environment: %w", err)
	}
	var routes []Route
	for _, name := range slices.Sorted(maps.Keys(fn.Events)) {
		ev := fn.Events[name]
		if ev.Type != "HttpApi" {
			if err := events.parse(id, name, ev.Type, ev.Properties); err != nil {
				return nil, nil, err
			}
			continue
		}
		var p rawHTTPAPIEvent
		if len(ev.Properties) > 0 {
			if err := decodeJSON(ev.Properties, &p); err != nil {
				return nil, nil, fmt.Errorf("event %s: %w", name, err)
			}
		}
		r := Route{Method: strings.ToUpper(p.Method), Path: p.Path, FunctionLogicalID: id, Authorizer: p.Auth.Authorizer}
		if r.Method == "" {
			r.Method = "ANY"
		}
		if r.Path == "" {
			r.Path = "$default"
		}
		if len(p.APIID) > 0 {
			api, err := parseValue(p.APIID)
			if err != nil || api.Kind != KindRef {
				return nil, nil, fmt.Errorf("event %s: ApiId must be a Ref to an HttpApi", name)
			}
			r.API = api.Name
		}
		routes = append(routes, r)
	}
	return env, routes, nil
}

func parseTable(id string, props json.RawMessage) (Table, error) {
	var raw rawTable
	if err := decodeJSON(props, &raw); err != nil {
		return Table{}, fmt.Errorf("decode properties: %w", err)
	}
	if len(raw.KeySchema) == 0 {
		return Table{}, fmt.Errorf("no KeySchema")
	}
	t := Table{
		LogicalID:  id,
		Attributes: raw.AttributeDefinitions,
		Keys:       raw.KeySchema,
		GSIs:       raw.GlobalSecondaryIndexes,
		LSIs:       raw.LocalSecondaryIndexes,
	}
	if raw.StreamSpecification != nil {
		t.StreamViewType = raw.StreamSpecification.StreamViewType
	}
	if ttl := raw.TimeToLiveSpecification; ttl != nil && ttl.Enabled {
		t.TTLAttribute = ttl.AttributeName
	}
	return t, nil
}

// decodeJSON decodes with numbers kept in their template spelling (json.Number).
func decodeJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(v)
}

// DefaultTimeout is Lambda's function timeout when neither the function nor Globals sets one.
const DefaultTimeout = 3 * time.Second

// parseTimeout reads a Timeout property (whole seconds, 1 to 900, a literal); def when absent.
func parseTimeout(raw json.RawMessage, def time.Duration) (time.Duration, error) {
	n, err := parseSize("timeout", raw, int(def/time.Second), 1, 900)
	return time.Duration(n) * time.Second, err
}

// parseSize reads a literal integer property within [lo, hi]; def when absent.
func parseSize(what string, raw json.RawMessage, def, lo, hi int) (int, error) {
	if len(raw) == 0 {
		return def, nil
	}
	v, err := parseValue(raw)
	if err != nil || v.Kind != KindLiteral {
		return 0, fmt.Errorf("%s %s: want a literal number", what, raw)
	}
	n, err := strconv.Atoi(v.Literal)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s %s: want %d to %d", what, raw, lo, hi)
	}
	return n, nil
}

// FunctionMemoryMB returns the MemorySize of the function logicalID (its own, else
// Globals', else Lambda's 128 MB); 0 when the template has no such function.
func (t *Template) FunctionMemoryMB(logicalID string) int {
	return t.memory[logicalID]
}

// FunctionTimeout returns the Timeout of the function logicalID (its own, else Globals',
// else Lambda's 3 s): the deadline of each of its invocations. It is 0 when the template
// has no such function.
func (t *Template) FunctionTimeout(logicalID string) time.Duration {
	return t.timeouts[logicalID]
}

// Tables returns the template's AWS::DynamoDB::Table resources, by logical ID.
func (t *Template) Tables() []Table {
	return slices.Clone(t.tables)
}

// Functions returns the logical IDs of the template's AWS::Serverless::Function resources, sorted.
func (t *Template) Functions() []string {
	return slices.Sorted(maps.Keys(t.functions))
}

// Routes returns the HttpApi events of all functions, sorted by path and method.
func (t *Template) Routes() []Route {
	return slices.Clone(t.routes)
}

// FunctionEnv returns the environment variables of the function logicalID: its
// Environment.Variables over those of Globals.Function. It is nil when the template has no
// such function (see Functions).
func (t *Template) FunctionEnv(logicalID string) map[string]Value {
	env, ok := t.functions[logicalID]
	if !ok {
		return nil
	}
	return maps.Clone(env)
}

// Env returns an Env for resolving Values: Refs holds the parameters (defaults, overridden
// by params) and the pseudo parameters (AWS::Region us-east-1, AWS::AccountId 123456789012,
// AWS::StackName kyc-local, ...; params may override them too), Conditions all conditions
// evaluated with those values, and Attrs is empty. The caller adds the resources it created,
// e.g. env.Refs["Table"] = tableName. A name in params that is neither a parameter nor a
// pseudo parameter is an error.
func (t *Template) Env(params map[string]string) (Env, error) {
	env := Env{
		Refs:       maps.Clone(pseudoParameters),
		Attrs:      map[string]string{},
		Conditions: map[string]bool{},
	}
	for name, def := range t.params {
		if def != nil {
			env.Refs[name] = *def
		}
	}
	for name, v := range params {
		_, isParam := t.params[name]
		_, isPseudo := pseudoParameters[name]
		if !isParam && !isPseudo {
			return Env{}, fmt.Errorf("parameter %s: not in the template", name)
		}
		env.Refs[name] = v
	}
	for _, name := range slices.Sorted(maps.Keys(t.conditions)) {
		if _, err := conditionValue(name, env.Refs, t.conditions, env.Conditions, nil); err != nil {
			return Env{}, err
		}
	}
	return env, nil
}
