package fnhttp

import (
	"errors"
	"io"
	"log/slog"
	"net/http"

	handler "github.com/openfaas/templates-sdk/go-http"
)

// HandleFunc is the signature every function exports as Handle.
type HandleFunc func(handler.Request) (handler.Response, error)

// DefaultMaxBody bounds request bodies; function inputs are small JSON.
const DefaultMaxBody = 1 << 20

// Handler serves fn over net/http the way OpenFaaS's golang-http template
// does: body read whole (at most maxBody bytes), headers, query string,
// method and host passed through; the response written as returned.
func Handler(fn HandleFunc, maxBody int64) http.Handler {
	if maxBody <= 0 {
		maxBody = DefaultMaxBody
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				Write(w, JSON(http.StatusRequestEntityTooLarge, Detail{Detail: "Request body too large."}))
				return
			}
			Write(w, JSON(http.StatusBadRequest, Detail{Detail: "Could not read request body."}))
			return
		}
		req := handler.Request{
			Body:        body,
			Header:      r.Header,
			QueryString: r.URL.RawQuery,
			Method:      r.Method,
			Host:        r.Host,
		}
		req.WithContext(WithPeer(r.Context(), r.RemoteAddr))
		resp, err := fn(req)
		if err != nil {
			slog.ErrorContext(r.Context(), "function returned an error", "error", err)
			resp = ErrorResponse(err)
		}
		Write(w, resp)
	})
}

// Write sends a function response.
func Write(w http.ResponseWriter, resp handler.Response) {
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	status := resp.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write(resp.Body)
}
