//go:build integration

package functiontest_test

// The account functions' tests: register, login, refresh, logout.

import (
	"context"
	"net/url"
	"os"
	"testing"

	loginfn "github.com/benchwrap/backend/functions/login"
	logoutfn "github.com/benchwrap/backend/functions/logout"
	refreshfn "github.com/benchwrap/backend/functions/refresh"
	registerfn "github.com/benchwrap/backend/functions/register"
	"github.com/benchwrap/backend/shared/fnhttp/fnhttptest"
	"github.com/benchwrap/backend/testkit/testenv"
)

func TestRegister(t *testing.T) {
	_, _, handle := function(t, registerfn.New)
	body := `{"username":"handler1","password":"password-123"}`

	// No built-in secret: a missing or short JWT secret is a 500 with a
	// clear log line, not a default key.
	secret := os.Getenv("JWT_SECRET")
	for _, bad := range []string{"", "too-short"} {
		os.Setenv("JWT_SECRET", bad)
		if r := fnhttptest.Call(t, handle, "POST", "", body); r.Status != 500 || r.Detail() != "Server misconfigured." {
			t.Fatalf("JWT_SECRET=%q: %d %s", bad, r.Status, r.Raw)
		}
	}
	os.Setenv("JWT_SECRET", secret)

	r := fnhttptest.Call(t, handle, "POST", "", body, "Content-Type", "application/json")
	if r.Status != 201 || r.JSON["access"] == "" || r.JSON["refresh"] == "" {
		t.Fatalf("register: %d %s", r.Status, r.Raw)
	}
	if r := fnhttptest.Call(t, handle, "POST", "", body); r.Status != 409 || r.Detail() != "Username already registered." {
		t.Fatalf("duplicate: %d %s", r.Status, r.Raw)
	}
	if r := fnhttptest.Call(t, handle, "POST", "", `{"username":"x","password":"password-123"}`); r.Status != 422 {
		t.Fatalf("short username: %d %s", r.Status, r.Raw)
	}
	if r := fnhttptest.Call(t, handle, "GET", "", ""); r.Status != 405 || r.Header.Get("Allow") != "POST" {
		t.Fatalf("GET: %d %v", r.Status, r.Header)
	}
}

func TestLogin(t *testing.T) {
	a, _, handle := function(t, loginfn.New)
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
	_, _, handle := function(t, loginfn.New)
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

func TestRefresh(t *testing.T) {
	a, _, handle := function(t, refreshfn.New)
	_, rt := testenv.Register(t, a, "refresher", "password-123")
	r := fnhttptest.Call(t, handle, "POST", "rid="+rt, "")
	if r.Status != 200 || r.JSON["refresh"] == rt {
		t.Fatalf("legacy refresh: %d %s", r.Status, r.Raw)
	}
	next := r.JSON["refresh"].(string)
	if r := fnhttptest.Call(t, handle, "POST", "", `{"refresh":"`+next+`"}`); r.Status != 200 {
		t.Fatalf("json refresh: %d %s", r.Status, r.Raw)
	}
	if r := fnhttptest.Call(t, handle, "POST", "rid="+rt, ""); r.Status != 401 || r.Detail() != "Invalid refresh token." {
		t.Fatalf("reuse: %d %s", r.Status, r.Raw)
	}
	if r := fnhttptest.Call(t, handle, "POST", "", ""); r.Status != 422 {
		t.Fatalf("missing token: %d %s", r.Status, r.Raw)
	}
}

func TestLogout(t *testing.T) {
	a, _, handle := function(t, logoutfn.New)
	_, rt := testenv.Register(t, a, "leaving", "password-123")
	svc, err := a.Accounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	next, err := svc.Refresh(context.Background(), rt)
	if err != nil {
		t.Fatal(err)
	}
	if r := fnhttptest.Call(t, handle, "POST", "", `{"refresh":"`+next.Refresh+`"}`); r.Status != 200 {
		t.Fatalf("logout: %d %s", r.Status, r.Raw)
	}
	if _, err := svc.Refresh(context.Background(), next.Refresh); err == nil {
		t.Fatal("the refresh token works after logout")
	}
	if r := fnhttptest.Call(t, handle, "POST", "rid="+rt, ""); r.Status != 200 {
		t.Fatalf("second logout (legacy rid): %d %s", r.Status, r.Raw)
	}
	if r := fnhttptest.Call(t, handle, "POST", "rid=never-issued", ""); r.Status != 401 || r.Detail() != "Invalid refresh token." {
		t.Fatalf("unknown token: %d %s", r.Status, r.Raw)
	}
	if r := fnhttptest.Call(t, handle, "POST", "", ""); r.Status != 422 {
		t.Fatalf("missing token: %d %s", r.Status, r.Raw)
	}
}
