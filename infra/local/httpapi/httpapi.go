// Package httpapi serves Lambda handlers over plain HTTP the way API Gateway HTTP APIs
// (payload format 2.0) invoke them: routes matched on method and path, headers lower-cased,
// binary bodies base64-encoded, the handler's response written back. Local use only.
package httpapi

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// Handler is a Lambda handler for HTTP API payload v2 events.
type Handler func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// Route binds "METHOD /path" (path parameters as {name}) to a handler.
type Route struct {
	Method  string
	Path    string
	Handler Handler
	// Authorizer, when set, checks every request first, as an API Gateway JWT authorizer
	// does: an error answers 401 {"message":"Unauthorized"} without calling Handler, and
	// the claims go to requestContext.authorizer.jwt.claims.
	Authorizer Authorizer
}

// Authorizer verifies a request's token and returns its claims.
type Authorizer func(r *http.Request) (map[string]string, error)

// maxPayload mirrors API Gateway's 10 MB request limit.
const maxPayload = 10 << 20

// Server is an http.Handler that dispatches to routes.
type Server struct {
	routes []Route
	// OnRequest, when set, is told about every request (for the local timeline).
	OnRequest func(routeKey string, status int, d time.Duration)
}

// New returns a server for routes.
func New(routes []Route) *Server { return &Server{routes: routes} }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	route, params := s.match(r.Method, r.URL.EscapedPath())
	if route == nil {
		// API Gateway HTTP APIs answer a request no route takes, an unknown path or a
		// method the path has no route for alike, with 404 and this body (no 405).
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"message":"Not Found"}`)
		if s.OnRequest != nil {
			s.OnRequest(r.Method+" "+r.URL.Path, http.StatusNotFound, time.Since(start))
		}
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxPayload+1))
	if err != nil || len(body) > maxPayload {
		writeJSONError(w, http.StatusRequestEntityTooLarge, "too_large")
		return
	}
	req := Event(r, route.Method+" "+route.Path, params, body)
	if route.Authorizer != nil {
		claims, err := route.Authorizer(r)
		if err != nil {
			// API Gateway's answer for a missing, invalid or expired token, or the wrong
			// issuer or audience.
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"message":"Unauthorized"}`)
			if s.OnRequest != nil {
				s.OnRequest(req.RouteKey, http.StatusUnauthorized, time.Since(start))
			}
			return
		}
		req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims, Scopes: nil},
		}
	}
	resp, err := route.Handler(r.Context(), req)
	if err != nil {
		// Lambda returned an error: API Gateway answers 500 with a generic message.
		writeJSONError(w, http.StatusInternalServerError, "internal")
		return
	}
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	for _, c := range resp.Cookies {
		w.Header().Add("Set-Cookie", c)
	}
	out := []byte(resp.Body)
	if resp.IsBase64Encoded {
		if out, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			writeJSONError(w, http.StatusBadGateway, "bad_gateway")
			return
		}
	}
	status := resp.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write(out)
	if s.OnRequest != nil {
		s.OnRequest(req.RouteKey, status, time.Since(start))
	}
}

func (s *Server) match(method, path string) (*Route, map[string]string) {
	for i := range s.routes {
		params, ok := matchPath(s.routes[i].Path, path)
		if ok && (strings.EqualFold(s.routes[i].Method, method) || s.routes[i].Method == "ANY") {
			return &s.routes[i], params
		}
	}
	return nil, nil
}

// matchPath matches the escaped request path against pattern segment by segment, then
// decodes each segment, as API Gateway's HTTP API does: a percent-encoded slash (%2F)
// stays inside its one segment for routing and reaches the handler decoded in
// pathParameters (cust%2F001 -> "cust/001"). API Gateway HTTP APIs pass the path and
// its parameters URL-decoded (live captures in https://github.com/hotsock/voker/pull/8,
// summarised in https://github.com/middleapi/standard-server/pull/93).
func matchPath(pattern, path string) (map[string]string, bool) {
	pp := strings.Split(strings.Trim(pattern, "/"), "/")
	xp := strings.Split(strings.Trim(path, "/"), "/")
	if len(pp) != len(xp) {
		return nil, false
	}
	for i, seg := range xp {
		dec, err := url.PathUnescape(seg)
		if err != nil {
			return nil, false // a malformed escape: no route takes it
		}
		xp[i] = dec
	}
	var params map[string]string
	for i := range pp {
		if strings.HasPrefix(pp[i], "{") && strings.HasSuffix(pp[i], "}") {
			if xp[i] == "" {
				return nil, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[strings.Trim(pp[i], "{}")] = xp[i]
			continue
		}
		if pp[i] != xp[i] {
			return nil, false
		}
	}
	return params, true
}

// Event builds the payload v2 event API Gateway would send for r.
func Event(r *http.Request, routeKey string, params map[string]string, body []byte) events.APIGatewayV2HTTPRequest {
	headers := make(map[string]string, len(r.Header))
	for k, vs := range r.Header {
		headers[strings.ToLower(k)] = strings.Join(vs, ",")
	}
	if r.Host != "" {
		headers["host"] = r.Host
	}
	var cookies []string
	if c := headers["cookie"]; c != "" {
		cookies = strings.Split(c, "; ")
		delete(headers, "cookie")
	}
	query := map[string]string{}
	for k, vs := range r.URL.Query() {
		query[k] = strings.Join(vs, ",")
	}
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	now := time.Now().UTC()
	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              routeKey,
		RawPath:               r.URL.Path,
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			AccountID:    "000000000000",
			APIID:        "local",
			DomainName:   r.Host,
			DomainPrefix: "local",
			RequestID:    fmt.Sprintf("local-%d", now.UnixNano()),
			RouteKey:     routeKey,
			Stage:        "$default",
			Time:         now.Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  ip,
				UserAgent: r.UserAgent(),
			},
		},
	}
	if len(query) == 0 {
		ev.QueryStringParameters = nil
	}
	if len(body) > 0 {
		if utf8.Valid(body) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev
}

func writeJSONError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, `{"error":{"code":%q,"message":%q}}`, code, strings.ToLower(http.StatusText(status)))
}
