// Package function is the results function: a user's analysed files as
// jobs and benchmarks to browse, compare and export, and the API's
// OpenAPI document.
package function

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/benchwrap/backend/shared/app"
	"github.com/benchwrap/backend/shared/apperr"
	"github.com/benchwrap/backend/shared/config"
	"github.com/benchwrap/backend/shared/fnhttp"
	"github.com/benchwrap/backend/shared/results"
	"github.com/benchwrap/backend/shared/routes"
)

// New builds the function on the process's app. It serves GET on the
// paths below /results (see docs/results.md), authenticated by a Bearer
// access token, and GET /openapi.json; GET only, no body. The handler
// checks the token itself, because /openapi.json is public.
func New(a *app.App) (fnhttp.Function, error) {
	h := api{authenticate: a.Authenticate, results: a.Results}
	return fnhttp.Function{
		Handle: fnhttp.Handle("results", fnhttp.Routes{http.MethodGet: h.serve}),
		Policy: fnhttp.Policy{
			Methods: []string{http.MethodGet},
			MaxBody: fnhttp.MaxJSONBody,
			Secrets: []string{config.SecretJWT, config.SecretMinIOSecret, config.SecretDatabaseURL},
		},
		Ready: a.Ping,
	}, nil
}

// api holds what the function needs: the caller's authentication and
// the results service (built on first use).
type api struct {
	authenticate func(header string) (string, error)
	results      func(context.Context) (*results.Service, error)
}

// subPath is the path below the function: the local gateway passes the
// whole path (/api/results/jobs), the OpenFaaS gateway the part after
// /function/results (/results/jobs, as the Ingress rewrites it, or /jobs).
func subPath(p string) string {
	for _, prefix := range []string{routes.APIPrefix, "/function/results", "/results"} {
		if rest, ok := strings.CutPrefix(p, prefix); ok && (rest == "" || rest[0] == '/') {
			p = rest
		}
	}
	return strings.TrimSuffix(p, "/")
}

var notFound = apperr.New(apperr.NotFound, "Not Found")

func (h api) serve(ctx context.Context, r *fnhttp.Request) (handler.Response, error) {
	path := subPath(r.Path())
	if path == "/openapi.json" {
		resp := handler.Response{StatusCode: http.StatusOK, Body: routes.OpenAPI, Header: http.Header{}}
		resp.Header.Set("Content-Type", "application/json")
		return resp, nil
	}
	user, err := h.authenticate(r.HeaderValue("Authorization"))
	if err != nil {
		return handler.Response{}, err
	}
	svc, err := h.results(ctx)
	if err != nil {
		return handler.Response{}, err
	}
	seg := strings.Split(strings.TrimPrefix(path, "/"), "/")
	q := r.Query()
	switch {
	case len(seg) == 1 && seg[0] == "jobs":
		return jobs(ctx, svc, user, q)
	case len(seg) == 2 && seg[0] == "jobs":
		d, err := svc.Job(ctx, user, seg[1])
		return reply(d, err)
	case len(seg) == 3 && seg[0] == "jobs" && seg[2] == "series":
		return series(ctx, svc, user, seg[1], q)
	case len(seg) == 3 && seg[0] == "jobs" && seg[2] == "export":
		return export(ctx, svc, user, seg[1], q.Get("format"))
	case len(seg) == 1 && seg[0] == "benchmarks":
		b, err := svc.Benchmarks(ctx, user)
		return reply(map[string]any{"benchmarks": b}, err)
	case len(seg) == 2 && seg[0] == "benchmarks":
		b, err := svc.Benchmark(ctx, user, seg[1])
		return reply(b, err)
	case len(seg) == 1 && seg[0] == "compare":
		c, err := svc.Compare(ctx, user, splitList(q.Get("jobs")))
		return reply(c, err)
	}
	return handler.Response{}, notFound
}

func reply(v any, err error) (handler.Response, error) {
	if err != nil {
		return handler.Response{}, err
	}
	return fnhttp.JSON(http.StatusOK, v), nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func jobs(ctx context.Context, svc *results.Service, user string, q map[string][]string) (handler.Response, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	jq := results.JobQuery{Username: user, Benchmark: get("benchmark"), Limit: 50, Sort: results.Sort{Field: "start", Desc: true}}
	var err error
	if v := get("limit"); v != "" {
		if jq.Limit, err = strconv.Atoi(v); err != nil || jq.Limit < 1 || jq.Limit > results.MaxJobsPage {
			return handler.Response{}, apperr.New(apperr.BadRequest, fmt.Sprintf("limit must be a whole number from 1 to %d.", results.MaxJobsPage))
		}
	}
	if v := get("sort"); v != "" {
		jq.Sort = results.Sort{Field: strings.TrimPrefix(v, "-"), Desc: strings.HasPrefix(v, "-")}
		if !results.Sortable(jq.Sort.Field) {
			return handler.Response{}, apperr.New(apperr.BadRequest, "sort must be one of "+strings.Join(results.SortFields, ", ")+", with - for descending.")
		}
	}
	if jq.Since, err = parseTime("since", get("since")); err != nil {
		return handler.Response{}, err
	}
	if jq.Until, err = parseTime("until", get("until")); err != nil {
		return handler.Response{}, err
	}
	if v := get("cursor"); v != "" {
		if jq.After, err = results.DecodeCursor(v); err != nil {
			return handler.Response{}, err
		}
	}
	p, err := svc.Jobs(ctx, jq)
	return reply(p, err)
}

// parseTime reads epoch seconds or an RFC 3339 time.
func parseTime(name, v string) (*float64, error) {
	if v == "" {
		return nil, nil
	}
	// An unescaped '+' (1.7e+09, +01:00) arrives as a space.
	v = strings.ReplaceAll(v, " ", "+")
	if f, err := strconv.ParseFloat(v, 64); err == nil && !isBad(f) {
		return &f, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		f := float64(t.UnixNano()) / 1e9
		return &f, nil
	}
	return nil, apperr.New(apperr.BadRequest, name+" must be epoch seconds or an RFC 3339 time.")
}

func isBad(f float64) bool { return f != f || f > 1e15 || f < -1e15 }

func series(ctx context.Context, svc *results.Service, user, job string, q map[string][]string) (handler.Response, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	sq := results.SeriesQuery{Username: user, Job: job, Node: get("node"), Step: get("step"), Points: 2000}
	var err error
	if sq.Fields, err = results.ParseFields(get("fields")); err != nil {
		return handler.Response{}, err
	}
	if v := get("points"); v != "" {
		if sq.Points, err = strconv.Atoi(v); err != nil {
			return handler.Response{}, apperr.New(apperr.BadRequest, "points must be a whole number.")
		}
	}
	if sq.From, err = parseTime("from", get("from")); err != nil {
		return handler.Response{}, err
	}
	if sq.To, err = parseTime("to", get("to")); err != nil {
		return handler.Response{}, err
	}
	s, err := svc.Series(ctx, sq)
	return reply(s, err)
}

func export(ctx context.Context, svc *results.Service, user, job, format string) (handler.Response, error) {
	format, err := results.ParseFormat(format)
	if err != nil {
		return handler.Response{}, err
	}
	e, err := svc.Export(ctx, user, job)
	if err != nil {
		return handler.Response{}, err
	}
	h := http.Header{}
	h.Set("Content-Type", map[string]string{results.FormatCSV: "text/csv; charset=utf-8", results.FormatParquet: results.ParquetContentType}[format])
	h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", "job-"+safeName(job)+"."+format))
	return fnhttp.Stream(ctx, http.StatusOK, h, func(w io.Writer) error { return e.Write(ctx, format, w) })
}

// safeName keeps a file name to letters, digits, '-', '_' and '.'.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 128 && (r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return r
		}
		return '_'
	}, s)
}
