package testenv

import (
	"context"
	"testing"

	"github.com/benchwrap/backend/shared/account"
	"github.com/benchwrap/backend/shared/app"
)

// Register creates a user through the account service of the functions'
// app a and returns its tokens, for tests of functions that need a
// logged-in user.
func Register(tb testing.TB, a *app.App, username, password string) (access, refresh string) {
	tb.Helper()
	ctx := context.Background()
	svc, err := a.Accounts(ctx)
	if err != nil {
		tb.Fatalf("account service: %v", err)
	}
	t, err := svc.Register(ctx, account.Credentials{Username: username, Password: password})
	if err != nil {
		tb.Fatalf("register %s: %v", username, err)
	}
	return t.Access, t.Refresh
}
