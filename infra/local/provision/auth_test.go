package provision

import (
	"slices"
	"strings"
	"testing"
)

const authTemplate = `
Parameters:
  Issuer: {Type: String, Default: "https://issuer.example"}
  Audience: {Type: CommaDelimitedList, Default: "app,web"}
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        DefaultAuthorizer: Jwt
        Authorizers:
          Jwt:
            IdentitySource: $request.header.Authorization
            JwtConfiguration:
              issuer: !Ref Issuer
              audience: !Ref Audience
          Listed:
            JwtConfiguration:
              issuer: https://other.example
              audience: [one, !Ref Issuer]
          Lambda:
            FunctionArn: arn:aws:lambda:us-east-1:123456789012:function:auth
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Default:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Method: get, Path: /default}
        Opted:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Method: post, Path: /webhook, Auth: {Authorizer: NONE}}
        Named:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Method: get, Path: /listed, Auth: {Authorizer: Listed}}
        ByLambda:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Method: get, Path: /lambda, Auth: {Authorizer: Lambda}}
`

func TestRouteAuthorizers(t *testing.T) {
	tmpl, err := parse([]byte(authTemplate))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	env, err := tmpl.Env(nil)
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]Route{}
	for _, r := range tmpl.Routes() {
		byPath[r.Path] = r
	}
	tests := []struct {
		path           string
		wantAuthorizer string
		wantJWT        bool
		wantIssuer     string
		wantAudience   []string
	}{
		{"/default", "Jwt", true, "https://issuer.example", []string{"app", "web"}},
		{"/webhook", "", false, "", nil},
		{"/listed", "Listed", true, "https://other.example", []string{"one", "https://issuer.example"}},
		{"/lambda", "Lambda", false, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := byPath[tt.path]
			if r.Authorizer != tt.wantAuthorizer || (r.JWT != nil) != tt.wantJWT {
				t.Fatalf("route %s: Authorizer=%q JWT=%v, want %q jwt=%v", tt.path, r.Authorizer, r.JWT, tt.wantAuthorizer, tt.wantJWT)
			}
			if r.JWT == nil {
				return
			}
			iss, aud, err := r.JWT.Resolve(env)
			if err != nil || iss != tt.wantIssuer || !slices.Equal(aud, tt.wantAudience) {
				t.Errorf("Resolve() = %q %v %v, want %q %v", iss, aud, err, tt.wantIssuer, tt.wantAudience)
			}
		})
	}
	if got := byPath["/default"].JWT.IdentitySource; got != "$request.header.Authorization" {
		t.Errorf("IdentitySource = %q", got)
	}

	t.Run("unknown authorizer", func(t *testing.T) {
		bad := strings.Replace(authTemplate, "Auth: {Authorizer: Listed}", "Auth: {Authorizer: Missing}", 1)
		if _, err := parse([]byte(bad)); err == nil || !strings.Contains(err.Error(), "Missing") {
			t.Errorf("parse() error = %v, want one naming the missing authorizer", err)
		}
	})
}

// TestTemplateRouteAuth: the app API routes of template.yaml sit behind the JWT
// authorizer configured by the JwtIssuer and JwtAudience parameters; the webhook routes
// have no authorizer (the vendors authenticate in the function).
func TestTemplateRouteAuth(t *testing.T) {
	tmpl := loadTemplate(t)
	env, err := tmpl.Env(map[string]string{"JwtIssuer": "https://issuer.local", "JwtAudience": "app-1,app-2"})
	if err != nil {
		t.Fatal(err)
	}
	var app int
	for _, r := range tmpl.Routes() {
		switch {
		case strings.HasPrefix(r.Path, "/webhooks/"):
			if r.Authorizer != "" {
				t.Errorf("%s %s: authorizer %q, want none", r.Method, r.Path, r.Authorizer)
			}
		case strings.HasPrefix(r.Path, "/v1/"):
			app++
			if r.Authorizer != "JwtAuthorizer" || r.JWT == nil {
				t.Errorf("%s %s: authorizer %q (jwt %v), want JwtAuthorizer", r.Method, r.Path, r.Authorizer, r.JWT)
				continue
			}
			iss, aud, err := r.JWT.Resolve(env)
			if err != nil || iss != "https://issuer.local" || !slices.Equal(aud, []string{"app-1", "app-2"}) {
				t.Errorf("%s %s: Resolve() = %q %v %v, want the parameters", r.Method, r.Path, iss, aud, err)
			}
		}
	}
	if app != 5 {
		t.Errorf("app API routes = %d, want 5", app)
	}
}
