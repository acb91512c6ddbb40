package localstack

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/benchwrap/backend/shared/logging"
	"github.com/benchwrap/backend/testkit/testenv"
)

// prefixes are the three ways a client reaches a route: the original
// paths, behind the /api ingress prefix, and OpenFaaS's /function/<name>.
func routeURL(base, prefix, legacyPath, function string) string {
	switch prefix {
	case "function":
		return base + "/function/" + function
	case "api":
		return base + "/api" + legacyPath
	}
	return base + legacyPath
}

func TestAuthRoutesEverywhere(t *testing.T) {
	s := testStack(t)
	for _, prefix := range []string{"root", "api", "function"} {
		t.Run(prefix, func(t *testing.T) {
			u := func(path, fn string) string { return routeURL(s.GatewayURL, prefix, path, fn) }
			user := testenv.Name("u")[:12]
			pw := "password-" + prefix

			r := call(t, "POST", u("/auth/register", "register"), map[string]string{"username": user, "password": pw})
			expect(t, r, 201, "")
			access, refresh := r.Str(t, "access"), r.Str(t, "refresh")
			if access == "" || refresh == "" {
				t.Fatalf("register body %s", r.Body)
			}
			expect(t, call(t, "POST", u("/auth/register", "register"), map[string]string{"username": strings.ToUpper(user), "password": pw}), 409, "Username already registered.")

			// Legacy login: credentials in the query, as today's client sends them.
			legacy := u("/auth/password", "login") + "?" + url.Values{"u": {user}, "p": {pw}}.Encode()
			r = call(t, "POST", legacy, nil)
			expect(t, r, 200, "")
			if r.Header.Get("Deprecation") != "true" {
				t.Error("legacy login lacks the Deprecation header")
			}
			expect(t, call(t, "POST", u("/auth/login", "login"), map[string]string{"username": user, "password": pw}), 200, "")
			expect(t, call(t, "POST", u("/auth/login", "login"), "username="+user+"&password="+pw, "Content-Type", "application/x-www-form-urlencoded"), 200, "")
			expect(t, call(t, "POST", u("/auth/login", "login"), map[string]string{"username": user, "password": "wrong-password"}), 401, "Invalid credentials.")
			expect(t, call(t, "POST", u("/auth/password", "login")+"?u="+user, nil), 422, "")

			// Refresh: JSON body and legacy query parameter; each token works once.
			r = call(t, "POST", u("/auth/refresh", "refresh"), map[string]string{"refresh": refresh})
			expect(t, r, 200, "")
			next := r.Str(t, "refresh")
			expect(t, call(t, "POST", u("/auth/refresh", "refresh")+"?rid="+url.QueryEscape(next), nil), 200, "")
			expect(t, call(t, "POST", u("/auth/refresh", "refresh")+"?rid="+url.QueryEscape(next), nil), 401, "Invalid refresh token.")
			expect(t, call(t, "POST", u("/auth/refresh", "refresh"), nil), 422, "")

			// Logout revokes the family: the newest token stops working.
			r = call(t, "POST", u("/auth/login", "login"), map[string]string{"username": user, "password": pw})
			expect(t, r, 200, "")
			fresh := r.Str(t, "refresh")
			if r := call(t, "POST", u("/auth/logout", "logout"), map[string]string{"refresh": fresh}); r.Status != 200 {
				t.Fatalf("logout: %d %s", r.Status, r.Body)
			}
			expect(t, call(t, "POST", u("/auth/refresh", "refresh"), map[string]string{"refresh": fresh}), 401, "Invalid refresh token.")
			expect(t, call(t, "POST", u("/auth/logout", "logout")+"?rid=never-issued", nil), 401, "Invalid refresh token.")
			expect(t, call(t, "GET", u("/auth/logout", "logout"), nil), 405, "Method Not Allowed")

			// Wrong methods.
			expect(t, call(t, "GET", u("/auth/register", "register"), nil), 405, "Method Not Allowed")
		})
	}
}

func TestRegisterValidation(t *testing.T) {
	s := testStack(t)
	for _, c := range []struct {
		body  any
		field string
	}{
		{map[string]string{"username": "abc", "password": "password-123"}, "username"},
		{map[string]string{"username": "bob/x1", "password": "password-123"}, "username"},
		{map[string]string{"username": "pg_catalog", "password": "password-123"}, "username"},
		{map[string]string{"username": "Information_Schema", "password": "password-123"}, "username"},
		{map[string]string{"username": "validname", "password": "short"}, "password"},
		{map[string]string{"username": "validname", "password": strings.Repeat("p", 129)}, "password"},
		{map[string]string{"password": "password-123"}, "username"},
		{map[string]string{"username": "validname"}, "password"},
		{`{"username": 5, "password": "password-123"}`, "username"},
		{`not json`, ""},
		{nil, ""},
	} {
		r := call(t, "POST", s.GatewayURL+"/auth/register", c.body)
		expect(t, r, 422, "")
		if !strings.Contains(strings.ToLower(r.Str(t, "detail")), c.field) {
			t.Errorf("body %v: detail %q does not name %q", c.body, r.Str(t, "detail"), c.field)
		}
	}
	// Control characters are a 400 with a reason (issue 15 item 3): the
	// users.txt injection attempts of the original are among them.
	for _, c := range []struct{ username, password, field string }{
		{"b:x\nalice", "password-123", "username"},
		{"zz\nqqqq", "password-123", "username"},
		{"nul\x00name", "password-123", "username"},
		{"validname", "pass\x00word-123", "password"},
	} {
		r := call(t, "POST", s.GatewayURL+"/auth/register", map[string]string{"username": c.username, "password": c.password})
		expect(t, r, 400, "")
		if d := r.Str(t, "detail"); !strings.HasPrefix(d, c.field+":") || !strings.Contains(d, "control characters") {
			t.Errorf("%q/%q: detail %q", c.username, c.password, d)
		}
	}
}

func TestGatewayBuiltinsAndUnknownPaths(t *testing.T) {
	s := testStack(t)
	for _, p := range []string{"", "/api"} {
		r := call(t, "GET", s.GatewayURL+p+"/", nil)
		if r.Status != 200 || string(r.Body) != `{"message":"Hello World"}` {
			t.Errorf("GET %s/ = %d %s", p, r.Status, r.Body)
		}
		r = call(t, "GET", s.GatewayURL+p+"/healthz", nil)
		if r.Status != 200 || r.Str(t, "status") != "ok" {
			t.Errorf("GET %s/healthz = %d %s", p, r.Status, r.Body)
		}
		expect(t, call(t, "GET", s.GatewayURL+p+"/nope", nil), 404, "Not Found")
		expect(t, call(t, "POST", s.GatewayURL+p+"/", nil), 405, "Method Not Allowed")
		expect(t, call(t, "GET", s.GatewayURL+p+"/auth/password", nil), 405, "Method Not Allowed")
	}
	expect(t, call(t, "GET", s.GatewayURL+"/function/nope", nil), 404, "Not Found")
}

// syncBuffer collects log output from concurrent requests.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestLogsHoldNoSecrets(t *testing.T) {
	s := testStack(t)
	var buf syncBuffer
	prev := slog.Default()
	slog.SetDefault(logging.New(&buf))
	defer slog.SetDefault(prev)

	user, pw := testenv.Name("log")[:12], "Sup3r-Secret-Pa55"
	access, refresh := register(t, s.GatewayURL, user, pw)
	call(t, "POST", s.GatewayURL+"/auth/password?u="+user+"&p="+pw, nil)
	call(t, "POST", s.GatewayURL+"/auth/password?u="+user+"&p=wrong-"+pw, nil)
	r := call(t, "POST", s.GatewayURL+"/auth/refresh?rid="+refresh, nil)
	newRefresh := r.Str(t, "refresh")
	call(t, "POST", s.GatewayURL+"/auth/refresh?rid="+refresh, nil) // reuse: logged as an error
	p := call(t, "POST", s.GatewayURL+"/storage/presign/upload?object_name=x.h5", nil, "Authorization", "Bearer "+access)
	presigned := p.Str(t, "url")
	call(t, "GET", s.GatewayURL+"/storage/list", nil, "Authorization", "Bearer "+access+"x")

	logs := buf.String()
	if !strings.Contains(logs, `"function":"login"`) {
		t.Fatalf("log capture failed: %q", logs)
	}
	sig := presigned[strings.Index(presigned, "X-Amz-Signature="):]
	for name, secret := range map[string]string{"password": pw, "access token": access, "refresh token": refresh,
		"rotated refresh token": newRefresh, "JWT signature": access[strings.LastIndex(access, ".")+1:], "presigned URL signature": sig} {
		if secret != "" && strings.Contains(logs, secret) {
			t.Errorf("logs contain the %s", name)
		}
	}
	if t.Failed() {
		fmt.Println(logs)
	}
}
