package provision

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Kind tells which form a Value has.
type Kind int

// The forms a template value can take. Intrinsics that a local run has no use for
// (Fn::Join, Fn::Select, ...) are kept as KindOther with their template JSON.
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

// Resolve returns the string v stands for in env.
func (v Value) Resolve(env Env) (string, error) {
	switch v.Kind {
	case KindLiteral:
		return v.Literal, nil
	case KindRef:
		s, ok := env.Refs[v.Name]
		if !ok {
			return "", fmt.Errorf("ref %s: %w", v.Name, ErrUnresolved)
		}
		return s, nil
	case KindGetAtt:
		key := v.Name + "." + v.Attribute
		s, ok := env.Attrs[key]
		if !ok {
			return "", fmt.Errorf("getatt %s: %w", key, ErrUnresolved)
		}
		return s, nil
	case KindIf:
		c, ok := env.Conditions[v.Condition]
		if !ok {
			return "", fmt.Errorf("condition %s: %w", v.Condition, ErrUnresolved)
		}
		branch := v.Else
		if c {
			branch = v.Then
		}
		if branch == nil {
			return "", fmt.Errorf("if %s: missing branch: %w", v.Condition, ErrUnresolved)
		}
		return branch.Resolve(env)
	case KindSub:
		return v.resolveSub(env)
	default:
		return "", fmt.Errorf("intrinsic %s: %w", v.Raw, ErrUnresolved)
	}
}

// resolveSub expands ${Name}, ${Name.Attribute} and ${!Literal} in v.Format.
func (v Value) resolveSub(env Env) (string, error) {
	var b strings.Builder
	rest := v.Format
	for {
		i := strings.Index(rest, "${")
		if i < 0 {
			b.WriteString(rest)
			return b.String(), nil
		}
		b.WriteString(rest[:i])
		rest = rest[i+2:]
		j := strings.IndexByte(rest, '}')
		if j < 0 {
			return "", fmt.Errorf("sub %q: unterminated ${", v.Format)
		}
		name := rest[:j]
		rest = rest[j+1:]
		if strings.HasPrefix(name, "!") {
			b.WriteString("${" + name[1:] + "}")
			continue
		}
		var s string
		var err error
		switch val, ok := v.Vars[name]; {
		case ok:
			s, err = val.Resolve(env)
		case strings.Contains(name, "."):
			res, attr, _ := strings.Cut(name, ".")
			s, err = Value{Kind: KindGetAtt, Name: res, Attribute: attr}.Resolve(env)
		default:
			s, err = Value{Kind: KindRef, Name: name}.Resolve(env)
		}
		if err != nil {
			return "", fmt.Errorf("sub %q: %w", v.Format, err)
		}
		b.WriteString(s)
	}
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
			return intrinsicOf(fn, arg)
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
