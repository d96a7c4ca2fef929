package main

import (
	"fmt"
	"strings"
)

// parameterOverrides reads KYC_PARAMETER_OVERRIDES: template parameters as `sam deploy
// --parameter-overrides` takes them, Name=Value pairs separated by spaces or commas
// (infra/local/schemathesis.sh raises the per-user hourly limits with it). A name the
// template does not declare is refused when the stack is created.
func parameterOverrides(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\n' || r == '\t' }) {
		name, value, ok := strings.Cut(f, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("KYC_PARAMETER_OVERRIDES: %q is not Name=Value", f)
		}
		out[name] = value
	}
	return out, nil
}
