// Package function is the report function: the energy report page and its
// assets (shared/report), with a strict Content-Security-Policy. No
// secrets: the page signs in and reads the results API from the browser.
package function

import (
	"context"
	"net/http"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/benchwrap/backend/shared/fnhttp"
	"github.com/benchwrap/backend/shared/report"
)

// Policy: a public page without secrets; GET only, no body.
var Policy = fnhttp.Policy{Methods: []string{http.MethodGet}, MaxBody: fnhttp.MaxJSONBody}

// Handle serves GET (the page) and GET ?asset=<name> (its scripts, styles
// and the vendored chart library).
func Handle(req handler.Request) (handler.Response, error) {
	return fnhttp.Serve("report", req, fnhttp.Routes{http.MethodGet: serve})
}

func serve(_ context.Context, r *fnhttp.Request) (handler.Response, error) {
	status, h, body := report.Response(r.Query().Get("asset"), r.HeaderValue("If-None-Match"))
	return handler.Response{StatusCode: status, Header: h, Body: body}, nil
}
