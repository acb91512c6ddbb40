//go:build integration

package logout_test

import (
	"context"
	"testing"

	function "github.com/benchwrap/backend/functions/logout"
	"github.com/benchwrap/backend/shared/fnhttp/fnhttptest"
	"github.com/benchwrap/backend/testkit/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestLogout(t *testing.T) {
	testenv.FunctionEnv(t)
	a := fnhttptest.App(t)
	handle := fnhttptest.Function(t, a, function.New).Handle
	_, rt := testenv.Register(t, a, "leaving", "password-123")
	svc, err := a.Accounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	next, err := svc.Refresh(context.Background(), rt)
	if err != nil {
		t.Fatal(err)
	}
	if r := fnhttptest.Call(t, handle, "POST", "", `{"refresh":"`+next.Refresh+`"}`); r.Status != 200 {
		t.Fatalf("logout: %d %s", r.Status, r.Raw)
	}
	if _, err := svc.Refresh(context.Background(), next.Refresh); err == nil {
		t.Fatal("the refresh token works after logout")
	}
	if r := fnhttptest.Call(t, handle, "POST", "rid="+rt, ""); r.Status != 200 {
		t.Fatalf("second logout (legacy rid): %d %s", r.Status, r.Raw)
	}
	if r := fnhttptest.Call(t, handle, "POST", "rid=never-issued", ""); r.Status != 401 || r.Detail() != "Invalid refresh token." {
		t.Fatalf("unknown token: %d %s", r.Status, r.Raw)
	}
	if r := fnhttptest.Call(t, handle, "POST", "", ""); r.Status != 422 {
		t.Fatalf("missing token: %d %s", r.Status, r.Raw)
	}
}
