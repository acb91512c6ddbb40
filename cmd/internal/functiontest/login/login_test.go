//go:build integration

package login_test

import (
	"net/url"
	"testing"

	function "github.com/benchwrap/backend/functions/login"
	"github.com/benchwrap/backend/shared/fnhttp/fnhttptest"
	"github.com/benchwrap/backend/testkit/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestLogin(t *testing.T) {
	testenv.FunctionEnv(t)
	a := fnhttptest.App(t)
	handle := fnhttptest.Function(t, a, function.New).Handle
	testenv.Register(t, a, "loginuser", "password-123")
	legacy := url.Values{"u": {"loginuser"}, "p": {"password-123"}}.Encode()
	for _, c := range []struct {
		name, query, body, contentType string
		status                         int
	}{
		{"legacy query", legacy, "", "", 200},
		{"json", "", `{"username":"loginuser","password":"password-123"}`, "application/json", 200},
		{"json without content type", "", `{"username":"LoginUser","password":"password-123"}`, "", 200},
		{"form", "", "username=loginuser&password=password-123", "application/x-www-form-urlencoded", 200},
		{"wrong password", "u=loginuser&p=nope-nope-nope", "", "", 401},
		{"unknown user", "u=nobody-here&p=password-123", "", "", 401},
		{"missing p", "u=loginuser", "", "", 422},
		{"missing password field", "", `{"username":"loginuser"}`, "application/json", 422},
		{"no credentials", "", "", "", 422},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := fnhttptest.Call(t, handle, "POST", c.query, c.body, "Content-Type", c.contentType)
			if r.Status != c.status {
				t.Fatalf("%d %s", r.Status, r.Raw)
			}
			if c.status == 401 && r.Detail() != "Invalid credentials." {
				t.Fatalf("detail %q", r.Detail())
			}
			if c.status == 200 && (r.JSON["access"] == nil || r.JSON["refresh"] == nil) {
				t.Fatalf("body %s", r.Raw)
			}
			if legacyQuery := c.query != "" && c.status == 200; legacyQuery != (r.Header.Get("Deprecation") == "true") {
				t.Fatalf("Deprecation header %q for %s", r.Header.Get("Deprecation"), c.name)
			}
		})
	}
}

func TestLockoutAnswers429WithRetryAfter(t *testing.T) {
	testenv.FunctionEnv(t)
	a := fnhttptest.App(t)
	handle := fnhttptest.Function(t, a, function.New).Handle
	for i := 0; i < 10; i++ {
		if r := fnhttptest.Call(t, handle, "POST", "u=locked-user&p=wrong-pass", ""); r.Status != 401 {
			t.Fatalf("attempt %d: %d", i, r.Status)
		}
	}
	r := fnhttptest.Call(t, handle, "POST", "u=locked-user&p=wrong-pass", "")
	if r.Status != 429 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("11th attempt: %d %v %s", r.Status, r.Header, r.Raw)
	}
}
