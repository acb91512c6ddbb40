// Package function is the logout function: it revokes the family of a
// refresh token, so neither that token nor any rotated from the same
// login can be used again.
package function

import (
	"context"
	"net/http"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/benchwrap/backend/shared/app"
	"github.com/benchwrap/backend/shared/config"
	"github.com/benchwrap/backend/shared/fnhttp"
)

// Policy: POST with a small JSON or form body, as refresh.
var Policy = fnhttp.Policy{Methods: []string{http.MethodPost}, MaxBody: fnhttp.MaxJSONBody, Secrets: []string{config.SecretJWT, config.SecretDatabaseURL}}

// Handle serves POST with the token as a JSON body {"refresh"} or as the
// query parameter rid, like refresh. It answers 200 {"status": "logged
// out"}, also when the family was already revoked; 401 for a token never
// issued. Access tokens are not revoked: they live at most 15
// minutes (token.MaxAccessTTL).
func Handle(req handler.Request) (handler.Response, error) {
	return fnhttp.Serve("logout", req, fnhttp.Routes{http.MethodPost: logout})
}

func logout(ctx context.Context, r *fnhttp.Request) (handler.Response, error) {
	svc, err := app.Accounts(ctx)
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
