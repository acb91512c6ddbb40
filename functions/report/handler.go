// Package function is the report function: the energy report page and its
// assets (shared/report), with a strict Content-Security-Policy. No
// secrets: the page signs in and reads the results API from the browser.
package function

import (
	"context"
	"net/http"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/benchwrap/backend/shared/app"
	"github.com/benchwrap/backend/shared/fnhttp"
	"github.com/benchwrap/backend/shared/report"
)

// New builds the function: it needs nothing of the app (a public page
// without secrets or servers; always ready). It serves GET (the page) and
// GET ?asset=<name> (its scripts, styles and the vendored chart library);
// GET only, no body.
func New(*app.App) (fnhttp.Function, error) {
	return fnhttp.Function{
		Handle: fnhttp.Handle("report", fnhttp.Routes{http.MethodGet: serve}),
		Policy: fnhttp.Policy{Methods: []string{http.MethodGet}, MaxBody: fnhttp.MaxJSONBody},
	}, nil
}

func serve(_ context.Context, r *fnhttp.Request) (handler.Response, error) {
	status, h, body := report.Response(r.Query().Get("asset"), r.HeaderValue("If-None-Match"))
	return handler.Response{StatusCode: status, Header: h, Body: body}, nil
}
