//go:build integration

package presign_test

import (
	"strings"
	"testing"

	function "github.com/benchwrap/backend/functions/presign"
	"github.com/benchwrap/backend/shared/fnhttp/fnhttptest"
	"github.com/benchwrap/backend/testkit/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestPresign(t *testing.T) {
	b := testenv.FunctionEnv(t)
	a := fnhttptest.App(t)
	handle := fnhttptest.Function(t, a, function.New).Handle
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
