package gateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// The storage path forwards presigned PUTs to the storage endpoint as
// signed: same path after the prefix, same query, the endpoint's Host,
// and nothing of the caller's credentials.
func TestProxyStorage(t *testing.T) {
	var got *http.Request
	var body string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got, body = r, string(b)
		w.WriteHeader(http.StatusOK)
	}))
	defer upstream.Close()
	base, _ := url.Parse(upstream.URL)
	g := New(nil, nil, func(context.Context) (string, error) { return "", nil })
	g.ProxyStorage(base)
	srv := httptest.NewServer(g)
	defer srv.Close()

	signed := "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=abc&X-Amz-SignedHeaders=host%3Bx-amz-acl"
	for _, tc := range []struct {
		method, path, query string
		status              int
		upstreamPath        string
	}{
		{"PUT", "/storage/objects/benchwrap/alice/run%201.h5", signed, 200, "/benchwrap/alice/run 1.h5"},
		{"PUT", "/api/storage/objects/benchwrap/alice/a.h5", signed, 200, "/benchwrap/alice/a.h5"},
		{"PUT", "/storage/objects/benchwrap/alice/a.h5", "X-Amz-Algorithm=AWS4-HMAC-SHA256", 403, ""},
		{"GET", "/storage/objects/benchwrap/alice/a.h5", signed, 405, ""},
		{"PUT", "/storage/objects/", signed, 404, ""},
	} {
		got = nil
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path+"?"+tc.query, strings.NewReader("profile"))
		req.Header.Set("Authorization", "Bearer secret")
		req.Header.Set("Cookie", "a=b")
		req.Header.Set("X-Amz-Acl", "private")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
			continue
		}
		if tc.upstreamPath == "" {
			if got != nil {
				t.Errorf("%s %s reached storage", tc.method, tc.path)
			}
			continue
		}
		if got == nil {
			t.Fatalf("%s %s: storage got nothing", tc.method, tc.path)
		}
		if got.URL.Path != tc.upstreamPath || got.URL.RawQuery != tc.query || got.Host != base.Host || body != "profile" {
			t.Errorf("upstream got %s %q host %s body %q", got.URL.Path, got.URL.RawQuery, got.Host, body)
		}
		if got.Header.Get("Authorization") != "" || got.Header.Get("Cookie") != "" || got.Header.Get("X-Amz-Acl") != "private" {
			t.Errorf("upstream headers %v", got.Header)
		}
	}
}
