// Package function is the refresh function: it rotates a refresh token
// and returns a new access and refresh token.
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
// token as a JSON body {"refresh"} or (legacy, what today's client sends)
// as the query parameter rid; POST only, with a small body.
func New(a *app.App) (fnhttp.Function, error) {
	h := api{accounts: a.Accounts}
	return fnhttp.Function{
		Handle: fnhttp.Handle("refresh", fnhttp.Routes{http.MethodPost: h.refresh}),
		Policy: fnhttp.Policy{
			Methods: []string{http.MethodPost},
			MaxBody: fnhttp.MaxJSONBody,
			Secrets: []string{config.SecretJWT, config.SecretDatabaseURL},
		},
		Ready: a.Ping,
	}, nil
}

// api holds what the function needs: the account service (built on
// first use).
type api struct {
	accounts func(context.Context) (*account.Service, error)
}

func (h api) refresh(ctx context.Context, r *fnhttp.Request) (handler.Response, error) {
	svc, err := h.accounts(ctx)
	if err != nil {
		return handler.Response{}, err
	}
	rid, err := r.RefreshToken()
	if err != nil {
		return handler.Response{}, err
	}
	tokens, err := svc.Refresh(ctx, rid)
	if err != nil {
		return handler.Response{}, err
	}
	return fnhttp.JSON(http.StatusOK, tokens), nil
}
