//go:build integration

package list_test

import (
	"context"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	function "github.com/benchwrap/backend/functions/list"
	"github.com/benchwrap/backend/shared/fnhttp/fnhttptest"
	"github.com/benchwrap/backend/testkit/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestList(t *testing.T) {
	b := testenv.FunctionEnv(t)
	a := fnhttptest.App(t)
	handle := fnhttptest.Function(t, a, function.New).Handle
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
