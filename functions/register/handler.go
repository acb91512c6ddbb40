// Package function is the register function: it creates an account and
// returns its first access and refresh tokens.
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

// New builds the function on the process's app. It serves POST with a
// small JSON body {"username", "password"}.
func New(a *app.App) (fnhttp.Function, error) {
	h := api{accounts: a.Accounts}
	return fnhttp.Function{
		Handle: fnhttp.Handle("register", fnhttp.Routes{http.MethodPost: h.register}),
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

func (h api) register(ctx context.Context, r *fnhttp.Request) (handler.Response, error) {
	svc, err := h.accounts(ctx)
	if err != nil {
		return handler.Response{}, err
	}
	var in account.Credentials
	if err := r.DecodeJSON(&in); err != nil {
		return handler.Response{}, err
	}
	tokens, err := svc.Register(ctx, in)
	if err != nil {
		return handler.Response{}, err
	}
	return fnhttp.JSON(http.StatusCreated, tokens), nil
}
