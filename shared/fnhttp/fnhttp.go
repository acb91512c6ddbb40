// Package fnhttp adapts OpenFaaS function requests to the shared library:
// it decodes inputs, turns coded errors into stable statuses with a
// {"detail": ...} body, and logs one line per request. Handlers stay a
// short paragraph: parse, call the library, reply.
package fnhttp

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/benchwrap/backend/shared/apperr"
	"github.com/benchwrap/backend/shared/metrics"
)

// RequestIDHeader carries the request id; the gateway or ingress may set it.
const RequestIDHeader = "X-Request-Id"

// Request wraps a function request with helpers for its inputs.
type Request struct {
	handler.Request
	query url.Values
}

// Query returns the parsed query string.
func (r *Request) Query() url.Values {
	if r.query == nil {
		q, err := url.ParseQuery(r.QueryString)
		if err != nil {
			q = url.Values{}
		}
		r.query = q
	}
	return r.query
}

// Header returns a request header value.
func (r *Request) HeaderValue(name string) string {
	if r.Header == nil {
		return ""
	}
	return r.Header.Get(name)
}

// IsJSON reports whether the body is declared (or looks) like JSON.
func (r *Request) IsJSON() bool {
	ct, _, _ := mime.ParseMediaType(r.HeaderValue("Content-Type"))
	if ct == "application/json" || strings.HasSuffix(ct, "+json") {
		return true
	}
	b := bytes.TrimSpace(r.Body)
	return ct == "" && len(b) > 0 && b[0] == '{'
}

// IsForm reports whether the body is an urlencoded form.
func (r *Request) IsForm() bool {
	ct, _, _ := mime.ParseMediaType(r.HeaderValue("Content-Type"))
	return ct == "application/x-www-form-urlencoded"
}

// Form parses an urlencoded body.
func (r *Request) Form() (url.Values, error) {
	v, err := url.ParseQuery(string(r.Body))
	if err != nil {
		return nil, apperr.Wrap(apperr.BadRequest, "Malformed form body.", err)
	}
	return v, nil
}

// DecodeJSON decodes a JSON object body into v.
func (r *Request) DecodeJSON(v any) error {
	if len(bytes.TrimSpace(r.Body)) == 0 {
		return apperr.New(apperr.Invalid, "Request body must be a JSON object.")
	}
	if err := json.Unmarshal(r.Body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return apperr.Wrap(apperr.Invalid, fmt.Sprintf("Field %q must be a %s.", te.Field, te.Type.Kind()), err)
		}
		return apperr.Wrap(apperr.Invalid, "Request body must be a JSON object.", err)
	}
	return nil
}

// JSON makes a response with a JSON body.
func JSON(status int, v any) handler.Response {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // presigned URLs keep their '&'
	if err := enc.Encode(v); err != nil {
		// Only our own types are marshalled; this is a programming error.
		panic(fmt.Sprintf("fnhttp: marshal %T: %v", v, err))
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return handler.Response{StatusCode: status, Body: bytes.TrimRight(buf.Bytes(), "\n"), Header: h}
}

// Detail is the error body the original backend's clients expect.
type Detail struct {
	Detail string `json:"detail"`
}

// ErrorResponse turns err into the response the client sees. The cause of
// an error stays out of the body.
func ErrorResponse(err error) handler.Response {
	e, ok := apperr.As(err)
	if !ok {
		e = apperr.Wrap(apperr.Internal, "Internal server error.", err)
	}
	status := Status(e.Code)
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(status)
	}
	resp := JSON(status, Detail{Detail: msg})
	if e.RetryAfter > 0 {
		secs := int((e.RetryAfter + time.Second - 1) / time.Second)
		resp.Header.Set("Retry-After", strconv.Itoa(secs))
	}
	return resp
}

// statuses maps each error code to its HTTP status.
var statuses = map[apperr.Code]int{
	apperr.Invalid:        http.StatusUnprocessableEntity,
	apperr.BadRequest:     http.StatusBadRequest,
	apperr.Unauthorized:   http.StatusUnauthorized,
	apperr.Forbidden:      http.StatusForbidden,
	apperr.NotFound:       http.StatusNotFound,
	apperr.Conflict:       http.StatusConflict,
	apperr.TooLarge:       http.StatusRequestEntityTooLarge,
	apperr.TooMany:        http.StatusTooManyRequests,
	apperr.Unavailable:    http.StatusServiceUnavailable,
	apperr.NotImplemented: http.StatusNotImplemented,
}

// Status maps an error code to its HTTP status: 500 for Internal and any
// code without one.
func Status(c apperr.Code) int {
	if s, ok := statuses[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// MethodNotAllowed is the original's 405 body.
func MethodNotAllowed(allowed ...string) handler.Response {
	r := JSON(http.StatusMethodNotAllowed, Detail{Detail: "Method Not Allowed"})
	r.Header.Set("Allow", strings.Join(allowed, ", "))
	return r
}

// Func handles one request of a function.
type Func func(ctx context.Context, r *Request) (handler.Response, error)

// Routes maps HTTP methods to the code handling them.
type Routes map[string]Func

// Handle is the HandleFunc serving routes as the named function (Serve).
func Handle(function string, routes Routes) HandleFunc {
	return func(req handler.Request) (handler.Response, error) { return Serve(function, req, routes) }
}

// Serve runs the route for req.Method, converts errors to responses, and
// logs one line: function, method, status, duration, request id, and the
// internal cause of an error. Never the query string or body: they can
// hold passwords and tokens.
func Serve(function string, req handler.Request, routes Routes) (handler.Response, error) {
	start := time.Now()
	observed := metrics.StartRequest(function, methodLabel(routes, req.Method))
	ctx := req.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	rid := req.Header.Get(RequestIDHeader)
	if req.Header == nil {
		req.Header = http.Header{}
	}
	if rid == "" || len(rid) > 128 {
		rid = newRequestID()
	}
	r := &Request{Request: req}

	var resp handler.Response
	var err error
	if fn, ok := routes[req.Method]; ok {
		resp, err = run(ctx, fn, r)
	} else {
		allowed := make([]string, 0, len(routes))
		for m := range routes {
			allowed = append(allowed, m)
		}
		slices.Sort(allowed)
		resp = MethodNotAllowed(allowed...)
	}
	if err != nil {
		resp = ErrorResponse(err)
	}
	if resp.Header == nil {
		resp.Header = http.Header{}
	}
	resp.Header.Set(RequestIDHeader, rid)
	observed(resp.StatusCode)

	attrs := []slog.Attr{
		slog.String("function", function),
		slog.String("method", req.Method),
		slog.Int("status", resp.StatusCode),
		slog.Float64("ms", float64(time.Since(start).Microseconds())/1000),
		slog.String("request_id", rid),
	}
	level := slog.LevelInfo
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
		if resp.StatusCode >= 500 {
			level = slog.LevelError
		}
	}
	slog.LogAttrs(ctx, level, "request", attrs...)
	return resp, nil
}

// run calls fn and turns a panic into an internal error, so one bad
// request cannot take the function down.
func run(ctx context.Context, fn Func, r *Request) (resp handler.Response, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = apperr.Wrap(apperr.Internal, "Internal server error.", fmt.Errorf("panic: %v", p))
		}
	}()
	return fn(ctx, r)
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Path is the request path as the function binary received it (see
// PathHeader); "" when Handle is called without one.
func (r *Request) Path() string { return r.HeaderValue(PathHeader) }
