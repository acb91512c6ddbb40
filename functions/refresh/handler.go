// Package function is the refresh function: it rotates a refresh token
// and returns a new access and refresh token.
package function

import (
	"context"
	"net/http"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/benchwrap/backend/shared/app"
	"github.com/benchwrap/backend/shared/apperr"
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
	rid := r.Query().Get("rid")
	if !r.Query().Has("rid") {
		var in struct {
			Refresh string `json:"refresh"`
		}
		if err := r.DecodeJSON(&in); err != nil {
			return handler.Response{}, apperr.New(apperr.Invalid, "refresh: send it as JSON {\"refresh\": ...} or the query parameter rid.")
		}
		rid = in.Refresh
	}
	if rid == "" {
		return handler.Response{}, apperr.New(apperr.Invalid, "refresh: field required.")
	}
	tokens, err := svc.Refresh(ctx, rid)
	if err != nil {
		return handler.Response{}, err
	}
	return fnhttp.JSON(http.StatusOK, tokens), nil
}
