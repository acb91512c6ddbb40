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

// Policy: POST with a small JSON or form body.
var Policy = fnhttp.Policy{
	Methods: []string{http.MethodPost},
	MaxBody: fnhttp.MaxJSONBody,
	Secrets: []string{config.SecretJWT, config.SecretDatabaseURL},
}

// Handle serves POST with a JSON body {"username", "password"}.
func Handle(req handler.Request) (handler.Response, error) {
	return fnhttp.Serve("register", req, fnhttp.Routes{http.MethodPost: register})
}

func register(ctx context.Context, r *fnhttp.Request) (handler.Response, error) {
	svc, err := app.Accounts(ctx)
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
