package provision

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/awslabs/goformation/v7/intrinsics"
)

// Kind tells which form a Value has.
type Kind int

// The forms a template value can take, for the parts of provision that read a reference's
// target (which table a stream is on, which queue an event reads). Any other intrinsic
// (Fn::Join, Fn::Select, ...) is KindOther with its template JSON; Resolve evaluates every
// kind.
const (
	KindLiteral Kind = iota // a string, number or boolean, in its template spelling
	KindRef                 // Ref: logical ID, parameter or pseudo parameter (AWS::Region)
	KindGetAtt              // Fn::GetAtt: resource logical ID and attribute
	KindIf                  // Fn::If: condition name, then and else values
	KindSub                 // Fn::Sub: format string and explicit variables
	KindOther               // any other intrinsic, unresolved
)

func (k Kind) String() string {
	switch k {
	case KindLiteral:
		return "Literal"
	case KindRef:
		return "Ref"
	case KindGetAtt:
		return "Fn::GetAtt"
	case KindIf:
		return "Fn::If"
	case KindSub:
		return "Fn::Sub"
	default:
		return "Other"
	}
}

// Value is a template value that may be an intrinsic function. Kind says which fields
// are set.
type Value struct {
	Kind      Kind
	Literal   string           // KindLiteral
	Name      string           // KindRef: the referenced name; KindGetAtt: the resource logical ID
	Attribute string           // KindGetAtt: the attribute, e.g. Arn or StreamArn
	Condition string           // KindIf
	Then      *Value           // KindIf
	Else      *Value           // KindIf
	Format    string           // KindSub
	Vars      map[string]Value // KindSub: the variables given in the [format, vars] form
	Raw       json.RawMessage  // KindOther: the intrinsic as written in the template
	expr      any              // the value as decoded from the template, what Resolve evaluates
}

// Env holds what a local run knows about the stack, to resolve Values.
type Env struct {
	// Refs are the results of Ref by name: parameters, pseudo parameters (AWS::Region)
	// and resources (a table's name, a secret's ARN).
	Refs map[string]string
	// Attrs are the results of Fn::GetAtt by "LogicalID.Attribute" (e.g. "Table.Arn").
	Attrs map[string]string
	// Conditions are the template's conditions, evaluated (see Template.Env).
	Conditions map[string]bool
}

// ErrUnresolved is wrapped by Resolve when a Value needs something Env does not hold.
var ErrUnresolved = errors.New("unresolved template value")

// Resolve returns the string v stands for in env. Intrinsics are evaluated by
// goformation's own handlers (Fn::If, Fn::Join, Fn::Select, Fn::Split, Fn::Base64, ...),
// with three of them given by this package: Ref and Fn::GetAtt look in env (goformation
// knows only parameter defaults and fixed pseudo parameters, and answers null for a
// resource), and Fn::Sub (goformation's resolves ${Name} with its own Ref, not the
// override, drops a variable it cannot resolve without a word, and keeps ${!Literal} as
// written). A name env does not hold is an error wrapping ErrUnresolved, unless it sits in
// the branch of an Fn::If that is not taken, as CloudFormation evaluates it.
func (v Value) Resolve(env Env) (string, error) {
	if v.Kind == KindLiteral {
		return v.Literal, nil
	}
	r := resolver{env: env}
	doc := map[string]any{"Conditions": conditionsAny(env.Conditions), "Value": numbersToFloat(v.expr)}
	in, err := json.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("encode value: %w", err)
	}
	out, err := intrinsics.ProcessJSON(in, &intrinsics.ProcessorOptions{IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{
		"Ref": r.ref, "Fn::GetAtt": r.getAtt, "Fn::Sub": r.sub,
	}})
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", v.Kind, err)
	}
	var res struct{ Value any }
	if err := json.Unmarshal(out, &res); err != nil {
		return "", fmt.Errorf("resolve %s: %w", v.Kind, err)
	}
	var s string
	switch x := res.Value.(type) {
	case string:
		s = x
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		s = strconv.FormatBool(x)
	default: // null: an intrinsic goformation does not evaluate (Fn::ImportValue, ...) or a malformed one
		raw, _ := json.Marshal(v.expr)
		return "", fmt.Errorf("intrinsic %s: %w", raw, ErrUnresolved)
	}
	if i := strings.Index(s, unresolvedMark); i >= 0 {
		name, _, _ := strings.Cut(s[i+len(unresolvedMark):], unresolvedMark)
		return "", fmt.Errorf("%s: %w", name, ErrUnresolved)
	}
	return s, nil
}

// unresolvedMark brackets a name env does not hold in a partial result: the handlers
// cannot fail, and a missing name in an Fn::If branch that is not taken is no error.
const unresolvedMark = "\x00unresolved\x00"

// resolver holds the handlers that goformation calls for Ref, Fn::GetAtt and Fn::Sub.
type resolver struct{ env Env }

func missing(what string) string { return unresolvedMark + what + unresolvedMark }

func (r resolver) ref(_ string, input, _ any) any {
	name, ok := input.(string)
	if !ok {
		return missing(fmt.Sprintf("ref %v", input))
	}
	if name == "AWS::NoValue" {
		return nil
	}
	if s, ok := r.env.Refs[name]; ok {
		return s
	}
	return missing("ref " + name)
}

func (r resolver) getAtt(_ string, input, _ any) any {
	var key string
	switch a := input.(type) {
	case string:
		key = a
	case []any:
		if len(a) == 2 {
			key = fmt.Sprintf("%v.%v", a[0], a[1])
		}
	}
	if s, ok := r.env.Attrs[key]; ok && key != "" {
		return s
	}
	return missing(fmt.Sprintf("getatt %v", input))
}

// sub expands ${Name}, ${Name.Attribute} and ${!Literal}; its input's variables (the
// [format, vars] form) have been resolved by goformation already.
func (r resolver) sub(_ string, input, _ any) any {
	var format string
	vars := map[string]any{}
	switch a := input.(type) {
	case string:
		format = a
	case []any:
		f, ok := a[0].(string)
		m, ok2 := a[1].(map[string]any)
		if len(a) != 2 || !ok || !ok2 {
			return missing(fmt.Sprintf("malformed sub %v", input))
		}
		format, vars = f, m
	default:
		return missing(fmt.Sprintf("malformed sub %v", input))
	}
	var b strings.Builder
	rest := format
	for {
		i := strings.Index(rest, "${")
		if i < 0 {
			b.WriteString(rest)
			return b.String()
		}
		b.WriteString(rest[:i])
		rest = rest[i+2:]
		j := strings.IndexByte(rest, '}')
		if j < 0 {
			return missing(fmt.Sprintf("sub %q: unterminated ${", format))
		}
		name := rest[:j]
		rest = rest[j+1:]
		var val any
		switch v, ok := vars[name]; {
		case strings.HasPrefix(name, "!"):
			val = "${" + name[1:] + "}"
		case ok:
			val = v
		case strings.Contains(name, "."):
			val = r.getAtt("", name, nil)
		default:
			val = r.ref("", name, nil)
		}
		s, ok := val.(string)
		if !ok {
			return missing(fmt.Sprintf("sub %q: ${%s}", format, name))
		}
		b.WriteString(s)
	}
}

// conditionsAny is the Conditions section goformation's Fn::If, Fn::Not, ... read: the
// conditions already evaluated (evalCondition).
func conditionsAny(c map[string]bool) map[string]any {
	out := make(map[string]any, len(c))
	for k, v := range c {
		out[k] = v
	}
	return out
}

// numbersToFloat turns json.Number into float64, the only number type goformation's
// evaluator walks (it answers null for any other).
func numbersToFloat(x any) any {
	switch t := x.(type) {
	case json.Number:
		f, _ := t.Float64()
		return f
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, v := range t {
			out[k] = numbersToFloat(v)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, v := range t {
			out[i] = numbersToFloat(v)
		}
		return out
	}
	return x
}

// parseValue turns template JSON (intrinsics in long form) into a Value.
func parseValue(raw json.RawMessage) (Value, error) {
	var x any
	if err := decodeJSON(raw, &x); err != nil {
		return Value{}, err
	}
	return valueOf(x)
}

func valueOf(x any) (Value, error) {
	switch t := x.(type) {
	case string:
		return Value{Kind: KindLiteral, Literal: t}, nil
	case json.Number:
		return Value{Kind: KindLiteral, Literal: t.String()}, nil
	case bool:
		return Value{Kind: KindLiteral, Literal: fmt.Sprint(t)}, nil
	case map[string]any:
		if fn, arg, ok := single(t); ok {
			v, err := intrinsicOf(fn, arg)
			v.expr = x
			return v, err
		}
	}
	raw, err := json.Marshal(x)
	if err != nil {
		return Value{}, fmt.Errorf("encode value: %w", err)
	}
	return Value{}, fmt.Errorf("value %s: not a string, number, boolean or intrinsic function", raw)
}

func intrinsicOf(fn string, arg any) (Value, error) {
	switch fn {
	case "Ref":
		if name, ok := arg.(string); ok {
			return Value{Kind: KindRef, Name: name}, nil
		}
	case "Fn::GetAtt":
		switch a := arg.(type) {
		case string:
			if res, attr, ok := strings.Cut(a, "."); ok {
				return Value{Kind: KindGetAtt, Name: res, Attribute: attr}, nil
			}
		case []any:
			if res, attr, ok := twoStrings(a); ok {
				return Value{Kind: KindGetAtt, Name: res, Attribute: attr}, nil
			}
		}
	case "Fn::If":
		if a, ok := arg.([]any); ok && len(a) == 3 {
			cond, ok := a[0].(string)
			if !ok {
				break
			}
			then, err := valueOf(a[1])
			if err != nil {
				return Value{}, fmt.Errorf("if %s: %w", cond, err)
			}
			els, err := valueOf(a[2])
			if err != nil {
				return Value{}, fmt.Errorf("if %s: %w", cond, err)
			}
			return Value{Kind: KindIf, Condition: cond, Then: &then, Else: &els}, nil
		}
	case "Fn::Sub":
		switch a := arg.(type) {
		case string:
			return Value{Kind: KindSub, Format: a}, nil
		case []any:
			if len(a) != 2 {
				break
			}
			format, ok := a[0].(string)
			vars, ok2 := a[1].(map[string]any)
			if !ok || !ok2 {
				break
			}
			v := Value{Kind: KindSub, Format: format, Vars: make(map[string]Value, len(vars))}
			for name, x := range vars {
				val, err := valueOf(x)
				if err != nil {
					return Value{}, fmt.Errorf("sub variable %s: %w", name, err)
				}
				v.Vars[name] = val
			}
			return v, nil
		}
	default:
		if fn == "Condition" || strings.HasPrefix(fn, "Fn::") {
			raw, err := json.Marshal(map[string]any{fn: arg})
			if err != nil {
				return Value{}, fmt.Errorf("encode %s: %w", fn, err)
			}
			return Value{Kind: KindOther, Raw: raw}, nil
		}
		return Value{}, fmt.Errorf("value {%q: ...}: not an intrinsic function", fn)
	}
	return Value{}, fmt.Errorf("malformed %s", fn)
}

// single returns the only key of a one-key JSON object (the shape of every intrinsic).
func single(x any) (string, any, bool) {
	m, ok := x.(map[string]any)
	if !ok || len(m) != 1 {
		return "", nil, false
	}
	for k, v := range m {
		return k, v, true
	}
	return "", nil, false
}

func twoStrings(a []any) (string, string, bool) {
	if len(a) != 2 {
		return "", "", false
	}
	s0, ok0 := a[0].(string)
	s1, ok1 := a[1].(string)
	return s0, s1, ok0 && ok1
}

// evalCondition evaluates a condition expression: Fn::Equals, Fn::Not, Fn::And, Fn::Or,
// Condition, and Ref to parameters. conds holds the template's condition expressions;
// seen guards against cycles.
//
// Kept instead of goformation's EvaluateConditions, which cannot do it here: it evaluates
// the Conditions section in map order, so a condition that names another (`!Condition X`
// inside Fn::Not, And, Or) sees X unevaluated and becomes null; its YAML reader turns
// `!Condition X` into the bare string "X"; it compares Fn::Equals operands with
// reflect.DeepEqual (a Number parameter is never equal to its spelling); and it reports
// neither a cycle nor an unknown name.
func evalCondition(x any, refs map[string]string, conds map[string]any, done map[string]bool, seen []string) (bool, error) {
	if name, ok := x.(string); ok {
		// goformation's YAML reader has no !Condition tag: `!Condition Name` arrives as
		// the plain string, which is where And, Or and Not take a condition name.
		return conditionValue(name, refs, conds, done, seen)
	}
	fn, arg, ok := single(x)
	if !ok {
		return false, fmt.Errorf("condition expression %v: not a condition function", x)
	}
	switch fn {
	case "Condition":
		name, ok := arg.(string)
		if !ok {
			return false, fmt.Errorf("malformed Condition %v", arg)
		}
		return conditionValue(name, refs, conds, done, seen)
	case "Fn::Equals":
		a, ok := arg.([]any)
		if !ok || len(a) != 2 {
			return false, fmt.Errorf("malformed Fn::Equals %v", arg)
		}
		l, err := conditionOperand(a[0], refs)
		if err != nil {
			return false, err
		}
		r, err := conditionOperand(a[1], refs)
		if err != nil {
			return false, err
		}
		return l == r, nil
	case "Fn::Not", "Fn::And", "Fn::Or":
		a, ok := arg.([]any)
		if !ok || len(a) == 0 || (fn == "Fn::Not" && len(a) != 1) {
			return false, fmt.Errorf("malformed %s %v", fn, arg)
		}
		results := make([]bool, len(a))
		for i, e := range a {
			r, err := evalCondition(e, refs, conds, done, seen)
			if err != nil {
				return false, err
			}
			results[i] = r
		}
		switch fn {
		case "Fn::Not":
			return !results[0], nil
		case "Fn::And":
			return !slices.Contains(results, false), nil
		default:
			return slices.Contains(results, true), nil
		}
	}
	return false, fmt.Errorf("%s: not supported in a condition", fn)
}

func conditionValue(name string, refs map[string]string, conds map[string]any, done map[string]bool, seen []string) (bool, error) {
	if v, ok := done[name]; ok {
		return v, nil
	}
	if slices.Contains(seen, name) {
		return false, fmt.Errorf("condition %s: cycle through %s", name, strings.Join(seen, ", "))
	}
	expr, ok := conds[name]
	if !ok {
		return false, fmt.Errorf("condition %s: not defined", name)
	}
	v, err := evalCondition(expr, refs, conds, done, append(seen, name))
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	done[name] = v
	return v, nil
}

// conditionOperand resolves an Fn::Equals operand: a literal or a Ref to a parameter.
func conditionOperand(x any, refs map[string]string) (string, error) {
	v, err := valueOf(x)
	if err != nil {
		return "", err
	}
	if v.Kind != KindLiteral && v.Kind != KindRef {
		return "", fmt.Errorf("%s in Fn::Equals: only literals and Ref are supported", v.Kind)
	}
	return v.Resolve(Env{Refs: refs})
}
