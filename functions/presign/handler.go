// Package function is the presign function: presigned upload (POST) and
// download (GET) URLs for objects under the caller's prefix.
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

// New builds the function on the process's app. It serves POST
// ?object_name=&benchmark_name=&size= (upload; size, optional, is signed
// into the URL) and GET ?object_name= (download), authenticated by a
// Bearer access token, which is checked before the (unused) body is read.
func New(a *app.App) (fnhttp.Function, error) {
	h := api{authenticate: a.Authenticate, storage: a.Storage}
	return fnhttp.Function{
		Handle: fnhttp.Handle("presign", fnhttp.Routes{
			http.MethodPost: h.upload,
			http.MethodGet:  h.download,
		}),
		Policy: fnhttp.Policy{
			Methods: []string{http.MethodGet, http.MethodPost},
			MaxBody: fnhttp.MaxJSONBody,
			Auth:    a.CheckBearer,
			Secrets: []string{config.SecretJWT, config.SecretMinIOSecret},
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

func (h api) upload(ctx context.Context, r *fnhttp.Request) (handler.Response, error) {
	return h.presign(ctx, r, func(s *storage.Service, user, name string) (storage.Presigned, error) {
		size, err := declaredSize(r)
		if err != nil {
			return storage.Presigned{}, err
		}
		return s.PresignUpload(ctx, user, name, storage.UploadOptions{Benchmark: r.Query().Get("benchmark_name"), Size: size})
	})
}

func (h api) download(ctx context.Context, r *fnhttp.Request) (handler.Response, error) {
	return h.presign(ctx, r, func(s *storage.Service, user, name string) (storage.Presigned, error) {
		return s.PresignDownload(ctx, user, name)
	})
}

func (h api) presign(ctx context.Context, r *fnhttp.Request, sign func(*storage.Service, string, string) (storage.Presigned, error)) (handler.Response, error) {
	// Auth first: without a token the answer is 401 even when object_name
	// is missing, as in the original.
	user, err := h.authenticate(r.HeaderValue("Authorization"))
	if err != nil {
		return handler.Response{}, err
	}
	svc, err := h.storage()
	if err != nil {
		return handler.Response{}, err
	}
	if !r.Query().Has("object_name") {
		return handler.Response{}, apperr.New(apperr.Invalid, "object_name: query parameter required.")
	}
	p, err := sign(svc, user, r.Query().Get("object_name"))
	if err != nil {
		return handler.Response{}, err
	}
	return fnhttp.JSON(http.StatusOK, p), nil
}

// declaredSize reads the optional size= of an upload: -1 when absent.
func declaredSize(r *fnhttp.Request) (int64, error) {
	if !r.Query().Has("size") {
		return -1, nil
	}
	n, err := strconv.ParseInt(r.Query().Get("size"), 10, 64)
	if err != nil || n < 0 {
		return 0, apperr.New(apperr.BadRequest, "size must be a whole number of bytes.")
	}
	return n, nil
}
