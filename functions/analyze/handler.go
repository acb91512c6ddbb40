// Package function is the analyze function: MinIO bucket notifications
// for uploaded .h5 profiles are checked against the object store and
// queued for analysis (package queue); workers do the analysis.
package function

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/benchwrap/backend/shared/app"
	"github.com/benchwrap/backend/shared/app/pipeline"
	"github.com/benchwrap/backend/shared/apperr"
	"github.com/benchwrap/backend/shared/config"
	"github.com/benchwrap/backend/shared/fnhttp"
	"github.com/benchwrap/backend/shared/notification"
	"github.com/benchwrap/backend/shared/queue"
)

// New builds the function on the process's app and its analysis
// pipeline settings. It serves POST with a bucket-notification body (at
// most fnhttp.MaxWebhookBody bytes), authenticated by the webhook token
// MinIO sends as "Authorization: Bearer <token>", which is checked before
// the notification is read.
func New(a *app.App) (fnhttp.Function, error) {
	p, err := pipeline.New(a)
	if err != nil {
		return fnhttp.Function{}, err
	}
	h := api{intake: p.Intake}
	return fnhttp.Function{
		Handle: fnhttp.Handle("analyze", fnhttp.Routes{http.MethodPost: h.analyze}),
		Policy: fnhttp.Policy{
			Methods: []string{http.MethodPost},
			MaxBody: fnhttp.MaxWebhookBody,
			Auth:    func(hdr http.Header) error { return pipeline.CheckWebhook(hdr.Get("Authorization")) },
			Secrets: []string{config.SecretDatabaseURL, config.SecretMinIOSecret, config.SecretWebhookToken},
		},
		Ready: a.Ping,
	}, nil
}

// api holds what the function needs: the webhook's intake (built on
// first use).
type api struct {
	intake func(context.Context) (*queue.Intake, error)
}

// Answer is the original's shape (accepted: the records queued) plus what
// became of each record.
type Answer struct {
	Accepted int              `json:"accepted"`
	Objects  []queue.Decision `json:"objects"`
}

// analyze records and enqueues; it never analyses. Every permanent problem
// of a record (wrong bucket, a hostile key, no such object, a malformed
// record) is answered 200 with the skip recorded, so MinIO's queue moves
// on; only a transient failure (database or object store down) is 503, so
// MinIO delivers the event again, and the enqueue is idempotent.
func (h api) analyze(ctx context.Context, r *fnhttp.Request) (handler.Response, error) {
	if err := pipeline.CheckWebhook(r.HeaderValue("Authorization")); err != nil {
		return handler.Response{}, err
	}
	events, bad, err := notification.Parse(r.Body)
	if err != nil {
		return handler.Response{}, apperr.Wrap(apperr.BadRequest, "Body is not a bucket notification (a JSON object with Records).", err)
	}
	// Only object creations are subscribed; anything else is acknowledged.
	created := events[:0]
	for _, ev := range events {
		if ev.Created() {
			created = append(created, ev)
		}
	}
	events = created
	ans := Answer{Objects: []queue.Decision{}}
	if len(events) == 0 && len(bad) == 0 {
		return fnhttp.JSON(http.StatusOK, ans), nil
	}
	in, err := h.intake(ctx)
	if err != nil {
		return handler.Response{}, err
	}
	unavailable := func(err error) (handler.Response, error) {
		e := apperr.Wrap(apperr.Unavailable, "Analysis queue temporarily unavailable; retry later.", err)
		if !errors.Is(err, queue.ErrTransient) {
			e.Message = "Analysis queue interrupted; retry later."
		}
		return handler.Response{}, e
	}
	for _, b := range bad {
		d, err := in.Reject(ctx, b)
		if err != nil {
			return unavailable(err)
		}
		slog.WarnContext(ctx, "analyze: record refused", "reason", b.Reason, "job", d.JobID)
		ans.Objects = append(ans.Objects, d)
	}
	for _, ev := range events {
		d, err := in.Accept(ctx, ev)
		if err != nil {
			return unavailable(err)
		}
		if d.Status == "queued" && d.Reason == "" {
			ans.Accepted++
		}
		slog.InfoContext(ctx, "analyze: record", "object", d.Object, "status", d.Status, "reason", d.Reason, "job", d.JobID)
		ans.Objects = append(ans.Objects, d)
	}
	return fnhttp.JSON(http.StatusOK, ans), nil
}
