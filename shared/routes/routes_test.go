package routes

import (
	"encoding/json"
	"testing"
)

func TestResolveResults(t *testing.T) {
	for _, c := range []struct {
		method, path string
		fn           string
		status       int
	}{
		{"GET", "/results", "results", 200},
		{"GET", "/results/jobs", "results", 200},
		{"GET", "/api/results/jobs/1/series", "results", 200},
		{"GET", "/openapi.json", "results", 200},
		{"GET", "/api/openapi.json", "results", 200},
		{"GET", "/function/results/jobs", "results", 200},
		{"POST", "/results/jobs", "", 405},
		{"GET", "/openapi.json/x", "", 404},
		{"GET", "/resultsx", "", 404},
	} {
		tg, st := Resolve(c.method, c.path)
		if st != c.status || tg.Function != c.fn {
			t.Errorf("%s %s: %+v %d, want %s %d", c.method, c.path, tg, st, c.fn, c.status)
		}
	}
}

func TestOpenAPIIsJSON(t *testing.T) {
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPI, &doc); err != nil || doc.OpenAPI != "3.1.0" {
		t.Fatalf("%v %q", err, doc.OpenAPI)
	}
	// Every route the gateway knows is documented.
	for _, r := range append(append(Legacy, Prefixes...), Whole...) {
		if _, ok := doc.Paths[r.Path]; !ok && r.Path != "/results" {
			t.Errorf("%s %s is not in openapi.json", r.Method, r.Path)
		}
	}
}
