package fnhttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	handler "github.com/openfaas/templates-sdk/go-http"
)

func TestStreamAndPath(t *testing.T) {
	fail := false
	h := Handler(func(req handler.Request) (handler.Response, error) {
		return Serve("t", req, Routes{http.MethodGet: func(ctx context.Context, r *Request) (handler.Response, error) {
			return Stream(ctx, http.StatusOK, http.Header{"Content-Type": {"text/csv"}}, func(w io.Writer) error {
				for i := range 3 {
					fmt.Fprintf(w, "%s,%d\n", r.Path(), i)
				}
				if fail {
					return errors.New("broken mid-way")
				}
				return nil
			})
		}})
	}, 0)
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/a/b", nil)
	req.Header.Set(PathHeader, "/spoofed")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/csv" || string(body) != "/a/b,0\n/a/b,1\n/a/b,2\n" || resp.Header.Get(RequestIDHeader) == "" {
		t.Fatalf("%d %v %q", resp.StatusCode, resp.Header, body)
	}
	// A failure after the head cuts the transfer.
	fail = true
	resp, err = http.Get(srv.URL + "/x")
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Fatal("a broken stream looked complete")
	}
}

func TestStreamBuffersWithoutHandler(t *testing.T) {
	req := handler.Request{Method: "GET"}
	req.WithContext(context.Background())
	resp, err := Stream(req.Context(), 200, nil, func(w io.Writer) error { _, err := io.WriteString(w, "abc"); return err })
	if err != nil || string(resp.Body) != "abc" || !strings.EqualFold(http.StatusText(resp.StatusCode), "OK") {
		t.Fatalf("%v %q", err, resp.Body)
	}
}
