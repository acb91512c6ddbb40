package fnhttp

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"

	handler "github.com/openfaas/templates-sdk/go-http"
)

// Body caps: JSON endpoints take small objects; a bucket notification
// carries a few records.
const (
	MaxJSONBody    = 64 << 10
	MaxWebhookBody = 1 << 20
)

// Policy is what a function's HTTP entry checks before its handler sees
// the request, in this order: the method, the caller (Auth), then the
// body, read only up to MaxBody bytes. An unauthenticated caller never
// makes the server read (or buffer) a body.
type Policy struct {
	// Methods allowed; empty allows any (the handler answers 405).
	Methods []string
	// MaxBody bounds the body; 0 means DefaultMaxBody.
	MaxBody int64
	// Auth checks the request's headers; nil lets everyone through. It
	// returns a coded error (apperr) for the answer.
	Auth func(http.Header) error
	// Secrets the function needs: Main refuses to start when one is
	// missing, a placeholder or too short (config.CheckSecrets).
	Secrets []string
}

// Handler serves fn over net/http under the policy, as Handler does.
func (p Policy) Handler(fn HandleFunc) http.Handler {
	max := p.MaxBody
	if max <= 0 {
		max = DefaultMaxBody
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(p.Methods) > 0 && !slices.Contains(p.Methods, r.Method) {
			discard(w, r)
			resp := MethodNotAllowed(p.Methods...)
			Write(w, resp)
			return
		}
		if p.Auth != nil {
			if err := p.Auth(r.Header); err != nil {
				slog.InfoContext(r.Context(), "refused before reading the body", "method", r.Method, "error", err)
				discard(w, r)
				Write(w, ErrorResponse(err))
				return
			}
		}
		if r.ContentLength > max {
			discard(w, r)
			Write(w, JSON(http.StatusRequestEntityTooLarge, Detail{Detail: "Request body too large."}))
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				Write(w, JSON(http.StatusRequestEntityTooLarge, Detail{Detail: "Request body too large."}))
				return
			}
			Write(w, JSON(http.StatusBadRequest, Detail{Detail: "Could not read request body."}))
			return
		}
		// The path is passed in a header the template's Request has no
		// field for; whatever the client sent under that name is replaced.
		r.Header.Set(PathHeader, r.URL.Path)
		req := handler.Request{
			Body:        body,
			Header:      r.Header,
			QueryString: r.URL.RawQuery,
			Method:      r.Method,
			Host:        r.Host,
		}
		slot := &streamSlot{}
		req.WithContext(context.WithValue(WithPeer(r.Context(), r.RemoteAddr), streamKey{}, slot))
		resp, err := fn(req)
		if err != nil {
			slog.ErrorContext(r.Context(), "function returned an error", "error", err)
			resp = ErrorResponse(err)
		}
		if err == nil && slot.write != nil && resp.StatusCode < 300 {
			writeStream(w, r, resp, slot.write)
			return
		}
		Write(w, resp)
	})
}

// discard answers without reading the body: the connection is closed
// after the answer, so an unread body cannot hold it or be parsed as the
// next request.
func discard(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength != 0 {
		w.Header().Set("Connection", "close")
	}
}
