//go:build integration

package refresh_test

import (
	"testing"

	function "github.com/benchwrap/backend/functions/refresh"
	"github.com/benchwrap/backend/shared/fnhttp/fnhttptest"
	"github.com/benchwrap/backend/testkit/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestRefresh(t *testing.T) {
	testenv.FunctionEnv(t)
	a := fnhttptest.App(t)
	handle := fnhttptest.Function(t, a, function.New).Handle
	_, rt := testenv.Register(t, a, "refresher", "password-123")
	r := fnhttptest.Call(t, handle, "POST", "rid="+rt, "")
	if r.Status != 200 || r.JSON["refresh"] == rt {
		t.Fatalf("legacy refresh: %d %s", r.Status, r.Raw)
	}
	next := r.JSON["refresh"].(string)
	if r := fnhttptest.Call(t, handle, "POST", "", `{"refresh":"`+next+`"}`); r.Status != 200 {
		t.Fatalf("json refresh: %d %s", r.Status, r.Raw)
	}
	if r := fnhttptest.Call(t, handle, "POST", "rid="+rt, ""); r.Status != 401 || r.Detail() != "Invalid refresh token." {
		t.Fatalf("reuse: %d %s", r.Status, r.Raw)
	}
	if r := fnhttptest.Call(t, handle, "POST", "", ""); r.Status != 422 {
		t.Fatalf("missing token: %d %s", r.Status, r.Raw)
	}
}
