// Package function is the analyze function: MinIO bucket notifications
// for uploaded .h5 profiles run the energy analysis into the uploader's
// schema.
package function

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/benchwrap/backend/shared/analyzer"
	"github.com/benchwrap/backend/shared/app/pipeline"
	"github.com/benchwrap/backend/shared/apperr"
	"github.com/benchwrap/backend/shared/config"
	"github.com/benchwrap/backend/shared/fnhttp"
	"github.com/benchwrap/backend/shared/notification"
	"github.com/benchwrap/backend/shared/postgres"
	"github.com/benchwrap/backend/shared/results"
)

// Policy: MinIO's token is checked before the notification is read, and
// a notification is at most fnhttp.MaxWebhookBody bytes.
var Policy = fnhttp.Policy{
	Methods: []string{http.MethodPost},
	MaxBody: fnhttp.MaxWebhookBody,
	Auth:    func(h http.Header) error { return pipeline.CheckWebhook(h.Get("Authorization")) },
	Secrets: []string{config.SecretDatabaseURL, config.SecretMinIOSecret, config.SecretWebhookToken},
}

// Handle serves POST with a bucket-notification body, authenticated by the
// webhook token MinIO sends as "Authorization: Bearer <token>".
func Handle(req handler.Request) (handler.Response, error) {
	return fnhttp.Serve("analyze", req, fnhttp.Routes{http.MethodPost: analyze})
}

// Answer is the original's shape plus each object's outcome.
type Answer struct {
	Accepted int                `json:"accepted"`
	Objects  []analyzer.Outcome `json:"objects"`
}

func analyze(ctx context.Context, r *fnhttp.Request) (handler.Response, error) {
	if err := pipeline.CheckWebhook(r.HeaderValue("Authorization")); err != nil {
		return handler.Response{}, err
	}
	events, bad, err := notification.Parse(r.Body)
	if err != nil {
		return handler.Response{}, apperr.Wrap(apperr.BadRequest, "Body is not a bucket notification (a JSON object with Records).", err)
	}
	for _, b := range bad {
		slog.WarnContext(ctx, "analyze: unusable record acknowledged", "reason", b)
	}
	ans := Answer{Objects: []analyzer.Outcome{}}
	var proc *analyzer.Processor
	for _, ev := range events {
		// Only uploads of profiles are analysed; anything else is
		// acknowledged so MinIO's queue moves on.
		if !ev.Created() || !ev.IsProfile() {
			continue
		}
		if proc == nil {
			if proc, err = pipeline.Processor(ctx); err != nil {
				return handler.Response{}, err
			}
		}
		ans.Accepted++
		out, err := proc.Process(ctx, analyzer.Object{Bucket: ev.Bucket, Key: ev.Key, ETag: ev.ETag, Sequencer: ev.Sequencer, Size: ev.Size}, analyzer.ProcessOptions{})
		if err != nil {
			// The database or the object store is down: 503, so MinIO
			// keeps the event in its queue and delivers it again.
			e := apperr.Wrap(apperr.Unavailable, "Analysis temporarily unavailable; retry later.", err)
			if !errors.Is(err, analyzer.ErrTransient) {
				e.Message = "Analysis interrupted; retry later."
			}
			return handler.Response{}, e
		}
		// results (issue 16): file the object under its Slurm job, update
		// the job's aggregate, write its Parquet copies. Failures are
		// logged; the results function files what is left when read.
		results.AfterAnalysis(ctx, postgres.Results{Pool: proc.Pool}, proc.Objects, out.Bucket, out.Object)
		slog.InfoContext(ctx, "analyze: object", "bucket", out.Bucket, "object", out.Object, "status", out.Status, "table", out.Table, "reason", out.Reason)
		ans.Objects = append(ans.Objects, out)
	}
	return fnhttp.JSON(http.StatusOK, ans), nil
}
