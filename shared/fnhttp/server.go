package fnhttp

import (
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
	return Policy{MaxBody: maxBody}.Handler(fn)
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
