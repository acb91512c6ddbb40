//go:build integration

package functiontest_test

// The storage functions' tests: presign, list.

import (
	"context"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	listfn "github.com/benchwrap/backend/functions/list"
	presignfn "github.com/benchwrap/backend/functions/presign"
	"github.com/benchwrap/backend/shared/fnhttp/fnhttptest"
	"github.com/benchwrap/backend/testkit/testenv"
)

func TestPresign(t *testing.T) {
	a, b, handle := function(t, presignfn.New)
	access, _ := testenv.Register(t, a, "presigner", "password-123")
	auth := []string{"Authorization", "Bearer " + access}

	up := fnhttptest.Call(t, handle, "POST", "object_name=dir/run+1.h5&benchmark_name=hpl", "", auth...)
	if up.Status != 200 || up.JSON["key"] != "presigner/dir_run_1.h5" || up.JSON["expires_in"] != "600" {
		t.Fatalf("upload: %d %s", up.Status, up.Raw)
	}
	if !strings.Contains(up.JSON["url"].(string), b.Endpoint+"/"+b.Name+"/presigner/dir_run_1.h5?") {
		t.Errorf("url %s", up.JSON["url"])
	}
	if h := up.JSON["headers"].(map[string]any); h["x-amz-meta-benchmark-name"] != "hpl" {
		t.Errorf("headers %v", h)
	}
	plain := fnhttptest.Call(t, handle, "POST", "object_name=a.h5", "", auth...)
	if h, ok := plain.JSON["headers"].(map[string]any); !ok || len(h) != 0 {
		t.Errorf("headers must be an empty object, got %s", plain.Raw)
	}
	down := fnhttptest.Call(t, handle, "GET", "object_name=missing.h5", "", auth...)
	if down.Status != 200 || down.JSON["key"] != "presigner/missing.h5" {
		t.Fatalf("download: %d %s", down.Status, down.Raw)
	}
	for _, c := range []struct {
		method, query string
		header        []string
		status        int
		detail        string
	}{
		{"POST", "object_name=x", nil, 401, "Missing Authorization header."},
		{"POST", "", nil, 401, "Missing Authorization header."},
		{"POST", "", auth, 422, ""},
		{"POST", "object_name=..%2Fx", auth, 400, "Invalid object name."},
		{"GET", "object_name=", auth, 400, "Invalid object name."},
		{"PUT", "object_name=x", auth, 405, "Method Not Allowed"},
	} {
		r := fnhttptest.Call(t, handle, c.method, c.query, "", c.header...)
		if r.Status != c.status || (c.detail != "" && r.Detail() != c.detail) {
			t.Errorf("%s ?%s: %d %s", c.method, c.query, r.Status, r.Raw)
		}
	}
}

func TestList(t *testing.T) {
	a, b, handle := function(t, listfn.New)
	access, _ := testenv.Register(t, a, "lister", "password-123")
	auth := []string{"Authorization", "Bearer " + access}
	c := b.Client(t)
	for _, k := range []string{"lister/a.h5", "lister/b.out", "lister/c.h5", "listerx/not-mine.h5", "other/x.h5"} {
		if _, err := c.PutObject(context.Background(), b.Name, k, strings.NewReader("abc"), 3, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	l := fnhttptest.Call(t, handle, "GET", "", "", auth...)
	objs := l.JSON["objects"].([]any)
	if l.Status != 200 || len(objs) != 3 || l.JSON["next"] != nil {
		t.Fatalf("list: %d %s", l.Status, l.Raw)
	}
	for _, o := range objs {
		o := o.(map[string]any)
		if !strings.HasPrefix(o["key"].(string), "lister/") || o["size"].(float64) != 3 || !strings.HasSuffix(o["last_modified"].(string), "+00:00") {
			t.Errorf("entry %v", o)
		}
	}
	p := fnhttptest.Call(t, handle, "GET", "limit=2", "", auth...)
	if len(p.JSON["objects"].([]any)) != 2 || p.JSON["next"] != "lister/b.out" {
		t.Fatalf("page 1: %s", p.Raw)
	}
	p = fnhttptest.Call(t, handle, "GET", "limit=2&after=lister/b.out", "", auth...)
	if len(p.JSON["objects"].([]any)) != 1 || p.JSON["next"] != nil {
		t.Fatalf("page 2: %s", p.Raw)
	}
	for _, q := range []string{"limit=0", "limit=abc", "limit=5000", "after=other/x.h5"} {
		if r := fnhttptest.Call(t, handle, "GET", q, "", auth...); r.Status != 400 {
			t.Errorf("%s: %d %s", q, r.Status, r.Raw)
		}
	}
	if r := fnhttptest.Call(t, handle, "GET", "", ""); r.Status != 401 {
		t.Errorf("no auth: %d", r.Status)
	}
}
