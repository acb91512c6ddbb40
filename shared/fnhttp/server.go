package fnhttp

import (
	"bufio"
	"bytes"
	"context"
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

// PathHeader carries the request path to a function's Handle (the
// template's Request has no path). Functions that route on the path read
// it with Request.Path.
const PathHeader = "X-Benchwrap-Path"

type streamKey struct{}

type streamSlot struct{ write func(io.Writer) error }

// Stream answers with a body written by write straight to the client,
// for bodies too large to hold in memory (exports). Behind Handler the
// body is streamed after the handler returns; called any other way
// (tests calling Handle directly) it is buffered into the response.
func Stream(ctx context.Context, status int, header http.Header, write func(io.Writer) error) (handler.Response, error) {
	resp := handler.Response{StatusCode: status, Header: header}
	if slot, ok := ctx.Value(streamKey{}).(*streamSlot); ok {
		slot.write = write
		return resp, nil
	}
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return handler.Response{}, err
	}
	resp.Body = buf.Bytes()
	return resp, nil
}

// writeStream writes the head of resp, then the body. A failure after
// the head is sent cannot change the status: the connection is cut, so
// the client sees a truncated transfer, not a complete-looking file.
func writeStream(w http.ResponseWriter, r *http.Request, resp handler.Response, write func(io.Writer) error) {
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	bw := bufio.NewWriterSize(w, 64<<10)
	err := write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		slog.ErrorContext(r.Context(), "streamed response failed", "error", err)
		panic(http.ErrAbortHandler)
	}
}
