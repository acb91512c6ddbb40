// Package function is the refresh function: it rotates a refresh token
// and returns a new access and refresh token.
package function

import (
	"context"
	"net/http"

	handler "github.com/openfaas/templates-sdk/go-http"

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

// Handle serves POST with the token as a JSON body {"refresh"} or (legacy,
// what today's client sends) as the query parameter rid.
func Handle(req handler.Request) (handler.Response, error) {
	return fnhttp.Serve("refresh", req, fnhttp.Routes{http.MethodPost: refresh})
}

func refresh(ctx context.Context, r *fnhttp.Request) (handler.Response, error) {
	svc, err := app.Accounts(ctx)
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
