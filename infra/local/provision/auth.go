package provision

import (
	"encoding/json"
	"fmt"
	"strings"
)

const typeHTTPAPI = "AWS::Serverless::HttpApi"

// NoAuthorizer is the Auth.Authorizer value that opts a route out of the API's
// DefaultAuthorizer.
const NoAuthorizer = "NONE"

// JWTConfig is a JWT authorizer of an HttpApi (Auth.Authorizers.<name>.JwtConfiguration).
// Issuer and Audience are template values (typically Refs to parameters).
type JWTConfig struct {
	IdentitySource string  // e.g. $request.header.Authorization
	Issuer         Value   // jwtConfiguration.issuer
	Audience       []Value // jwtConfiguration.audience: a list, or one value (a Ref to a CommaDelimitedList)
}

// Resolve returns the issuer and the audiences in env. A value that resolves to a
// comma-separated list (a CommaDelimitedList parameter) gives one audience per item.
func (c JWTConfig) Resolve(env Env) (issuer string, audience []string, err error) {
	if issuer, err = c.Issuer.Resolve(env); err != nil {
		return "", nil, fmt.Errorf("jwt issuer: %w", err)
	}
	for _, v := range c.Audience {
		s, err := v.Resolve(env)
		if err != nil {
			return "", nil, fmt.Errorf("jwt audience: %w", err)
		}
		for _, a := range strings.Split(s, ",") {
			if a = strings.TrimSpace(a); a != "" {
				audience = append(audience, a)
			}
		}
	}
	return issuer, audience, nil
}

// httpAPIAuth is the Auth of an AWS::Serverless::HttpApi.
type httpAPIAuth struct {
	defaultAuthorizer string
	authorizers       map[string]*JWTConfig // nil value: an authorizer that is not a JWT authorizer
}

type rawHTTPAPI struct {
	Auth struct {
		DefaultAuthorizer string
		Authorizers       map[string]struct {
			IdentitySource   string
			JwtConfiguration map[string]json.RawMessage
		}
	}
}

func parseHTTPAPI(props json.RawMessage) (httpAPIAuth, error) {
	var raw rawHTTPAPI
	if len(props) > 0 {
		if err := decodeJSON(props, &raw); err != nil {
			return httpAPIAuth{}, fmt.Errorf("decode properties: %w", err)
		}
	}
	a := httpAPIAuth{defaultAuthorizer: raw.Auth.DefaultAuthorizer, authorizers: map[string]*JWTConfig{}}
	for name, az := range raw.Auth.Authorizers {
		if az.JwtConfiguration == nil {
			a.authorizers[name] = nil // a Lambda authorizer: not emulated locally
			continue
		}
		c := &JWTConfig{IdentitySource: az.IdentitySource}
		for k, v := range az.JwtConfiguration {
			switch strings.ToLower(k) {
			case "issuer":
				iss, err := parseValue(v)
				if err != nil {
					return a, fmt.Errorf("authorizer %s: issuer: %w", name, err)
				}
				c.Issuer = iss
			case "audience":
				var list []json.RawMessage
				if err := json.Unmarshal(v, &list); err != nil {
					list = []json.RawMessage{v}
				}
				for _, item := range list {
					aud, err := parseValue(item)
					if err != nil {
						return a, fmt.Errorf("authorizer %s: audience: %w", name, err)
					}
					c.Audience = append(c.Audience, aud)
				}
			}
		}
		a.authorizers[name] = c
	}
	return a, nil
}

// resolveAuthorizers sets each route's Authorizer (the event's Auth.Authorizer, else the
// API's DefaultAuthorizer; NONE means none) and, for a JWT authorizer, its JWTConfig.
func (t *Template) resolveAuthorizers(apis map[string]httpAPIAuth) error {
	for i := range t.routes {
		r := &t.routes[i]
		api := apis[r.API]
		name := r.Authorizer
		if name == "" {
			name = api.defaultAuthorizer
		}
		if name == "" || name == NoAuthorizer {
			r.Authorizer = ""
			continue
		}
		cfg, ok := api.authorizers[name]
		if !ok {
			return fmt.Errorf("route %s %s: authorizer %s is not declared in the Auth of HttpApi %q", r.Method, r.Path, name, r.API)
		}
		r.Authorizer, r.JWT = name, cfg
	}
	return nil
}
