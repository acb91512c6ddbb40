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

// New builds the function on the process's app. It serves GET
// ?limit=&after=, authenticated by a Bearer access token, which is checked
// before the (unused) body is read.
func New(a *app.App) (fnhttp.Function, error) {
	h := api{authenticate: a.Authenticate, storage: a.Storage}
	return fnhttp.Function{
		Handle: fnhttp.Handle("list", fnhttp.Routes{http.MethodGet: h.list}),
		Policy: fnhttp.Policy{
			Methods: []string{http.MethodGet},
			MaxBody: fnhttp.MaxJSONBody,
			Auth:    a.CheckBearer,
			Secrets: []string{config.SecretJWT, config.SecretMinIOSecret, config.SecretDatabaseURL},
		},
		Ready: a.Ping,
	}, nil
}

// api holds what the function needs: the caller's authentication and
// the storage service (built on first use).
type api struct {
	authenticate func(header string) (string, error)
	storage      func() (*storage.Service, error)
}

func (h api) list(ctx context.Context, r *fnhttp.Request) (handler.Response, error) {
	user, err := h.authenticate(r.HeaderValue("Authorization"))
	if err != nil {
		return handler.Response{}, err
	}
	svc, err := h.storage()
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
