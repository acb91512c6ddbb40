// Package function is the list function: the caller's objects, a page at
// a time.
package function

import (
	"context"
	"net/http"
	"strconv"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/benchwrap/backend/shared/app"
	"github.com/benchwrap/backend/shared/apperr"
	"github.com/benchwrap/backend/shared/config"
	"github.com/benchwrap/backend/shared/fnhttp"
	"github.com/benchwrap/backend/shared/storage"
)

// Policy: the caller's token is checked before the (unused) body is read.
var Policy = fnhttp.Policy{
	Methods: []string{http.MethodGet},
	MaxBody: fnhttp.MaxJSONBody,
	Auth:    app.CheckBearer,
	Secrets: []string{config.SecretJWT, config.SecretMinIOSecret, config.SecretDatabaseURL},
}

// Handle serves GET ?limit=&after=, authenticated by a Bearer access token.
func Handle(req handler.Request) (handler.Response, error) {
	return fnhttp.Serve("list", req, fnhttp.Routes{http.MethodGet: list})
}

func list(ctx context.Context, r *fnhttp.Request) (handler.Response, error) {
	user, err := app.Authenticate(r.HeaderValue("Authorization"))
	if err != nil {
		return handler.Response{}, err
	}
	svc, err := app.Storage()
	if err != nil {
		return handler.Response{}, err
	}
	limit := storage.MaxList
	if v := r.Query().Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil {
			return handler.Response{}, apperr.New(apperr.BadRequest, "limit must be a whole number.")
		}
	}
	page, _, err := svc.List(ctx, user, limit, r.Query().Get("after"))
	if err != nil {
		return handler.Response{}, err
	}
	return fnhttp.JSON(http.StatusOK, page), nil
}
