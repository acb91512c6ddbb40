package fnhttp

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/benchwrap/backend/shared/apperr"
)

// bodyWatch records whether anything read the body.
type bodyWatch struct {
	io.Reader
	read bool
}

func (b *bodyWatch) Read(p []byte) (int, error) { b.read = true; return b.Reader.Read(p) }

func TestPolicyChecksBeforeReading(t *testing.T) {
	echo := func(r handler.Request) (handler.Response, error) {
		return handler.Response{StatusCode: 200, Body: r.Body}, nil
	}
	auth := func(h http.Header) error {
		if h.Get("Authorization") != "Bearer ok" {
			return apperr.New(apperr.Unauthorized, "no")
		}
		return nil
	}
	p := Policy{Methods: []string{http.MethodPost}, MaxBody: 8, Auth: auth}
	for _, c := range []struct {
		name, method, auth, body string
		status                   int
		read                     bool
	}{
		{"wrong method", "PUT", "Bearer ok", "{}", 405, false},
		{"no caller", "POST", "", "{}", 401, false},
		{"too large, declared", "POST", "Bearer ok", "0123456789", 413, false},
		{"fits", "POST", "Bearer ok", "{}", 200, true},
	} {
		body := &bodyWatch{Reader: strings.NewReader(c.body)}
		req := httptest.NewRequest(c.method, "/", body)
		req.ContentLength = int64(len(c.body))
		req.Header.Set("Authorization", c.auth)
		rec := httptest.NewRecorder()
		p.Handler(echo).ServeHTTP(rec, req)
		if rec.Code != c.status || body.read != c.read {
			t.Errorf("%s: %d (body read %v), want %d (%v)", c.name, rec.Code, body.read, c.status, c.read)
		}
		if c.status != 200 && rec.Header().Get("Connection") != "close" {
			t.Errorf("%s: connection kept open with an unread body", c.name)
		}
	}
	// Undeclared length: cut at the cap while reading.
	req := httptest.NewRequest("POST", "/", io.MultiReader(strings.NewReader("0123456789")))
	req.ContentLength = -1
	req.Header.Set("Authorization", "Bearer ok")
	rec := httptest.NewRecorder()
	p.Handler(echo).ServeHTTP(rec, req)
	if rec.Code != 413 {
		t.Errorf("chunked over the cap: %d", rec.Code)
	}
}
