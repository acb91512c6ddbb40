// Package fnhttptest builds a function on an app of the test's own and
// calls its Handle directly, as the OpenFaaS template does, and checks the
// answers every function shares (405s, 401s). It needs no servers and
// nothing beyond the shared module, so the functions' own unit tests (run
// in their image builds) can use it.
package fnhttptest

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/benchwrap/backend/shared/app"
	"github.com/benchwrap/backend/shared/fnhttp"
)

// Reply is a function's answer, decoded.
type Reply struct {
	Status int
	Header http.Header
	JSON   map[string]any
	Raw    []byte
}

// Detail is the {"detail"} message of an error answer.
func (r Reply) Detail() string { s, _ := r.JSON["detail"].(string); return s }

// Handle is a function's entry point.
type Handle = func(handler.Request) (handler.Response, error)

// Call invokes a function's Handle directly, as the OpenFaaS template
// does. header holds name, value pairs.
func Call(tb testing.TB, handle Handle, method, query, body string, header ...string) Reply {
	tb.Helper()
	req := handler.Request{Method: method, QueryString: query, Body: []byte(body), Header: http.Header{}}
	req.WithContext(context.Background())
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := handle(req)
	if err != nil {
		tb.Fatalf("Handle returned an error: %v", err)
	}
	r := Reply{Status: resp.StatusCode, Header: resp.Header, Raw: resp.Body}
	if err := json.Unmarshal(resp.Body, &r.JSON); err != nil {
		tb.Fatalf("body %q is not a JSON object: %v", resp.Body, err)
	}
	if r.Status >= 400 && r.Detail() == "" {
		tb.Fatalf("error %d without a detail: %s", r.Status, resp.Body)
	}
	return r
}

// ExpectOnly checks that every method but the allowed ones gets the
// original's 405 with an Allow header.
func ExpectOnly(tb testing.TB, handle Handle, allow string) {
	tb.Helper()
	for _, m := range []string{"GET", "POST", "PUT", "DELETE", "PATCH"} {
		if strings.Contains(", "+allow+",", ", "+m+",") {
			continue
		}
		r := Call(tb, handle, m, "", "")
		if r.Status != 405 || r.Detail() != "Method Not Allowed" || r.Header.Get("Allow") != allow {
			tb.Errorf("%s: %d %v %s", m, r.Status, r.Header, r.Raw)
		}
	}
}

// ExpectAuthFirst checks the original's 401s for requests without a
// valid access token, whatever else the request holds.
func ExpectAuthFirst(tb testing.TB, handle Handle, method, query string) {
	tb.Helper()
	if os.Getenv("JWT_SECRET") == "" {
		tb.Setenv("JWT_SECRET", "unit-test-secret-unit-test-secret-0123")
	}
	for _, c := range []struct{ header, detail string }{
		{"", "Missing Authorization header."},
		{"Bearer", "Malformed Authorization header."},
		{"Token abc", "Unsupported authorization scheme."},
		{"Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.", "Invalid or expired token."},
	} {
		r := Call(tb, handle, method, query, "", "Authorization", c.header)
		if r.Status != 401 || r.Detail() != c.detail {
			tb.Errorf("%q: %d %s", c.header, r.Status, r.Raw)
		}
	}
}

// Constructor is a function's New.
type Constructor = func(*app.App) (fnhttp.Function, error)

// App builds an application from the environment, as a function's main
// does; its pool (if a test opens one) is closed when the test ends.
func App(tb testing.TB) *app.App {
	tb.Helper()
	a, err := app.New()
	if err != nil {
		tb.Fatalf("app: %v", err)
	}
	tb.Cleanup(a.Close)
	return a
}

// Function builds a function on a.
func Function(tb testing.TB, a *app.App, newFunction Constructor) fnhttp.Function {
	tb.Helper()
	f, err := newFunction(a)
	if err != nil {
		tb.Fatalf("new function: %v", err)
	}
	return f
}

// New builds a function on an application of its own, from the
// environment, and returns its Handle.
func New(tb testing.TB, newFunction Constructor) Handle {
	tb.Helper()
	return Function(tb, App(tb), newFunction).Handle
}
