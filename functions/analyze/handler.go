// Package function is the analyze function: MinIO bucket notifications
// for uploaded .h5 profiles trigger the energy analysis.
package function

import (
	"context"
	"net/http"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/benchwrap/backend/shared/apperr"
	"github.com/benchwrap/backend/shared/fnhttp"
)

// Handle serves POST with a bucket-notification body.
func Handle(req handler.Request) (handler.Response, error) {
	return fnhttp.Serve("analyze", req, fnhttp.Routes{http.MethodPost: analyze})
}

func analyze(ctx context.Context, r *fnhttp.Request) (handler.Response, error) {
	return handler.Response{}, apperr.New(apperr.NotImplemented, "Analysis is not available yet.")
}
