//go:build integration

package register_test

import (
	"os"
	"testing"

	function "github.com/benchwrap/backend/functions/register"
	"github.com/benchwrap/backend/shared/fnhttp/fnhttptest"
	"github.com/benchwrap/backend/testkit/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestRegister(t *testing.T) {
	testenv.FunctionEnv(t)
	a := fnhttptest.App(t)
	handle := fnhttptest.Function(t, a, function.New).Handle
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
