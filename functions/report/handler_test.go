package function

import (
	"context"
	"net/http"
	"strings"
	"testing"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/benchwrap/backend/shared/fnhttp/fnhttptest"
	"github.com/benchwrap/backend/shared/report"
)

func TestPageAndAssets(t *testing.T) {
	for _, tc := range []struct {
		query           string
		status          int
		ctype, contains string
	}{
		{"", 200, "text/html", `<script src="report?asset=uPlot.iife.min.js"`},
		{"asset=app.js", 200, "text/javascript", "import"},
		{"asset=uPlot.iife.min.js", 200, "text/javascript", "uPlot"},
		{"asset=style.css", 200, "text/css", "{"},
		{"asset=uPlot.LICENSE", 200, "text/plain", "MIT"},
		{"asset=../report.go", 404, "application/json", "Not Found"},
		{"asset=nope.js", 404, "application/json", "Not Found"},
	} {
		r := get(t, tc.query)
		if got := strings.TrimSpace(strings.Split(r.Header.Get("Content-Type"), ";")[0]); r.StatusCode != tc.status || got != tc.ctype || !strings.Contains(string(r.Body), tc.contains) {
			t.Errorf("%q: %d %q, body has %q: %v", tc.query, r.StatusCode, got, tc.contains, strings.Contains(string(r.Body), tc.contains))
		}
		if r.Header.Get("Content-Security-Policy") != report.CSP || r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%q: security headers %v", tc.query, r.Header)
		}
	}
	first := get(t, "asset=app.js")
	again := get(t, "asset=app.js", "If-None-Match", first.Header.Get("ETag"))
	if first.Header.Get("ETag") == "" || again.StatusCode != 304 || len(again.Body) != 0 {
		t.Errorf("revalidation: %q -> %d", first.Header.Get("ETag"), again.StatusCode)
	}
	fnhttptest.ExpectOnly(t, fnhttptest.New(t, New), "GET")
}

// The CSP forbids inline code: the page must not contain any.
func TestNoInlineCode(t *testing.T) {
	for _, name := range report.Names() {
		if !strings.HasSuffix(name, ".html") {
			continue
		}
		a, _ := report.Lookup(name)
		body := string(a.Body)
		for _, bad := range []string{"<style", " style=", "onclick=", "onload=", "javascript:", "http://", "https://"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s contains %q", name, bad)
			}
		}
		for _, tag := range strings.Split(body, "<script")[1:] {
			if !strings.Contains(strings.SplitN(tag, ">", 2)[0], "src=") {
				t.Errorf("%s: inline <script%s", name, strings.SplitN(tag, ">", 2)[0])
			}
		}
	}
}

// get calls the function's Handle as the OpenFaaS template does (the page is not JSON,
// so fnhttptest.Call does not fit).
func get(t *testing.T, query string, header ...string) handler.Response {
	t.Helper()
	req := handler.Request{Method: "GET", QueryString: query, Header: http.Header{}}
	req.WithContext(context.Background())
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := fnhttptest.New(t, New)(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}
