package apigw

import (
	"mime"
	"strings"
)

// Header is the one header lookup of every handler: name (lower case) is looked up as
// API Gateway HTTP API payload v2 sends it (lower-cased), then in any case, because other
// callers (tests, the local HTTP adapter, a REST API in front) may not lower-case. When
// several keys differ only by case, the lower-case one wins.
func Header(h map[string]string, name string) string {
	if v, ok := h[name]; ok {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// LowerHeaders returns h with lower-case names, resolved by Header (the lower-case key
// wins over another case of the same name): what the vendor authenticators read
// (webhookauth.Request). h itself is returned when its names are already lower case, as
// API Gateway sends them.
func LowerHeaders(h map[string]string) map[string]string {
	lower := true
	for k := range h {
		if k != strings.ToLower(k) {
			lower = false
			break
		}
	}
	if lower {
		return h
	}
	out := make(map[string]string, len(h))
	for k := range h {
		lk := strings.ToLower(k)
		if _, done := out[lk]; !done {
			out[lk] = Header(h, lk)
		}
	}
	return out
}

// JSONContentType is the one content-type rule of every JSON route: application/json or
// any application/*+json type, parameters (charset) allowed. A missing content type is
// tolerated (the body must still parse as JSON): refusing it could lose a real webhook
// event, and mobile clients do not always send one.
func JSONContentType(v string) bool {
	if strings.TrimSpace(v) == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(v)
	if err != nil {
		return false
	}
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}
