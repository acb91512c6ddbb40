// Package function is the login function: it checks a username and
// password and starts a new token family.
package function

import (
	"context"
	"net/http"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/benchwrap/backend/shared/account"
	"github.com/benchwrap/backend/shared/app"
	"github.com/benchwrap/backend/shared/apperr"
	"github.com/benchwrap/backend/shared/config"
	"github.com/benchwrap/backend/shared/fnhttp"
)

// New builds the function on the process's app. It serves POST with
// credentials as a JSON body {"username", "password"}, as form fields of
// the same names, or (legacy, what today's client sends to
// /auth/password) as the query parameters u and p; POST only, with a
// small body.
func New(a *app.App) (fnhttp.Function, error) {
	h := api{accounts: a.Accounts, clientAddress: a.ClientAddress}
	return fnhttp.Function{
		Handle: fnhttp.Handle("login", fnhttp.Routes{http.MethodPost: h.login}),
		Policy: fnhttp.Policy{
			Methods: []string{http.MethodPost},
			MaxBody: fnhttp.MaxJSONBody,
			Secrets: []string{config.SecretJWT, config.SecretDatabaseURL},
		},
		Ready: a.Ping,
	}, nil
}

// api holds what a login needs: the account service (built on first
// use) and the client-address rules.
type api struct {
	accounts      func(context.Context) (*account.Service, error)
	clientAddress func(peer string, xff []string) string
}

func (h api) login(ctx context.Context, r *fnhttp.Request) (handler.Response, error) {
	svc, err := h.accounts(ctx)
	if err != nil {
		return handler.Response{}, err
	}
	in, legacy, err := credentials(r)
	if err != nil {
		return handler.Response{}, err
	}
	// Failed logins are counted per client address; X-Forwarded-For is
	// only believed from TRUSTED_PROXIES.
	client := h.clientAddress(r.Peer(), r.Header.Values("X-Forwarded-For"))
	tokens, err := svc.Login(ctx, in, client)
	if err != nil {
		return handler.Response{}, err
	}
	resp := fnhttp.JSON(http.StatusOK, tokens)
	if legacy {
		// Credentials in a URL end up in access logs; steer clients away.
		resp.Header.Set("Deprecation", "true")
		resp.Header.Set("Sunset", "Wed, 31 Dec 2026 23:59:59 GMT")
	}
	return resp, nil
}

func credentials(r *fnhttp.Request) (account.Credentials, bool, error) {
	q := r.Query()
	if q.Has("u") || q.Has("p") {
		if !q.Has("u") || !q.Has("p") {
			return account.Credentials{}, true, apperr.New(apperr.Invalid, "u and p: both query parameters are required.")
		}
		return account.Credentials{Username: q.Get("u"), Password: q.Get("p")}, true, nil
	}
	var in account.Credentials
	switch {
	case r.IsForm():
		f, err := r.Form()
		if err != nil {
			return in, false, err
		}
		in = account.Credentials{Username: f.Get("username"), Password: f.Get("password")}
	case r.IsJSON():
		if err := r.DecodeJSON(&in); err != nil {
			return in, false, err
		}
	default:
		return in, false, apperr.New(apperr.Invalid, "username and password: send them as JSON, form fields, or the query parameters u and p.")
	}
	if in.Username == "" {
		return in, false, apperr.New(apperr.Invalid, "username: field required.")
	}
	if in.Password == "" {
		return in, false, apperr.New(apperr.Invalid, "password: field required.")
	}
	return in, false, nil
}
