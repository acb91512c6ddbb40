package function

import (
	"testing"

	"github.com/benchwrap/backend/shared/fnhttp/fnhttptest"
)

// Tests that need no servers; the Dockerfile runs these. The rest are in
// cmd/internal/functiontest/results_test.go (build tag integration, run by make test).
func TestAuthComesFirst(t *testing.T) {
	fnhttptest.ExpectAuthFirst(t, fnhttptest.New(t, New), "GET", "")
	fnhttptest.ExpectOnly(t, fnhttptest.New(t, New), "GET")
}

func TestSubPath(t *testing.T) {
	for in, want := range map[string]string{
		"/results/jobs":                    "/jobs",
		"/api/results/jobs/1/series":       "/jobs/1/series",
		"/function/results/jobs/1":         "/jobs/1",
		"/function/results/results/jobs/1": "/jobs/1",
		"/jobs/1/":                         "/jobs/1",
		"/openapi.json":                    "/openapi.json",
		"/api/openapi.json":                "/openapi.json",
		"/function/results/openapi.json":   "/openapi.json",
		"/resultsx/jobs":                   "/resultsx/jobs",
		"":                                 "",
	} {
		if got := subPath(in); got != want {
			t.Errorf("subPath(%q) = %q, want %q", in, got, want)
		}
	}
}
