// Package function is the logout function: it revokes the family of a
// refresh token, so neither that token nor any rotated from the same
// login can be used again.
package function

import (
	"context"
	"net/http"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/benchwrap/backend/shared/account"
	"github.com/benchwrap/backend/shared/app"
	"github.com/benchwrap/backend/shared/config"
	"github.com/benchwrap/backend/shared/fnhttp"
)

// New builds the function on the process's app. It serves POST with the
// token as a JSON body {"refresh"} or as the query parameter rid, like
// refresh (POST only, a small body). It answers 200 {"status": "logged
// out"}, also when the family was already revoked; 401 for a token never
// issued. Access tokens are not revoked: they live at most 15
// minutes (token.MaxAccessTTL).
func New(a *app.App) (fnhttp.Function, error) {
	h := api{accounts: a.Accounts}
	return fnhttp.Function{
		Handle: fnhttp.Handle("logout", fnhttp.Routes{http.MethodPost: h.logout}),
		Policy: fnhttp.Policy{Methods: []string{http.MethodPost}, MaxBody: fnhttp.MaxJSONBody, Secrets: []string{config.SecretJWT, config.SecretDatabaseURL}},
		Ready:  a.Ping,
	}, nil
}

// api holds what the function needs: the account service (built on
// first use).
type api struct {
	accounts func(context.Context) (*account.Service, error)
}

func (h api) logout(ctx context.Context, r *fnhttp.Request) (handler.Response, error) {
	svc, err := h.accounts(ctx)
	if err != nil {
		return handler.Response{}, err
	}
	rid, err := r.RefreshToken()
	if err != nil {
		return handler.Response{}, err
	}
	if err := svc.Logout(ctx, rid); err != nil {
		return handler.Response{}, err
	}
	return fnhttp.JSON(http.StatusOK, map[string]string{"status": "logged out"}), nil
}
