package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/benchwrap/backend/shared/account"
	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/analyzer"
	"github.com/benchwrap/backend/shared/notification"
	"github.com/benchwrap/backend/shared/postgres"
	"github.com/benchwrap/backend/shared/storage"
)

// ErrTransient marks a failure of a dependency (database, object store):
// the webhook answers 5xx so MinIO delivers the event again.
var ErrTransient = analyzer.ErrTransient

// Stater reads an object's current version from the object store.
type Stater interface {
	Stat(ctx context.Context, key string) (storage.Object, error)
}

// Owners finds registered accounts.
type Owners interface {
	UserByName(ctx context.Context, username string) (account.User, error)
}

// Intake turns notification records into jobs. Nothing an event claims is
// trusted: the bucket must be the configured one, the key a profile under
// a registered user's prefix, and the version the object store holds now
// (its ETag and modification time, read with a stat) is what is queued.
type Intake struct {
	Queue    *Queue
	Objects  Stater
	Owners   Owners
	Bucket   string
	MaxBytes int64 // larger objects are recorded as skipped (too_large)
}

// Decision is what became of one record.
type Decision struct {
	Object string `json:"object"`
	Status string `json:"status"` // queued, skipped, superseded, or the settled status of a replay
	Reason string `json:"reason,omitempty"`
	JobID  int64  `json:"job_id,omitempty"`
}

// Accept validates one event and records it: queued, or refused with a
// reason. The error is only for transient failures (wrapping ErrTransient).
func (in *Intake) Accept(ctx context.Context, ev notification.Event) (Decision, error) {
	if !ev.Created() {
		return Decision{Object: ev.Key, Status: analysis.JobSkipped, Reason: "not an object-created event"}, nil
	}
	skip := func(reason string) (Decision, error) {
		return in.Reject(ctx, notification.Rejected{Bucket: ev.Bucket, Key: ev.Key, ETag: ev.ETag, Reason: reason})
	}
	if ev.Bucket != in.Bucket {
		return skip("not the configured bucket")
	}
	if p := notification.KeyProblem(ev.Key); p != "" {
		return skip(p)
	}
	owner, rest, ok := strings.Cut(ev.Key, "/")
	if !ok || rest == "" || account.ValidateUsername(owner) != nil {
		return skip(analysis.SkipNoOwner.Reason())
	}
	u, err := in.Owners.UserByName(ctx, owner)
	switch {
	case errors.Is(err, account.ErrNotFound):
		return skip(analysis.SkipNoOwner.Reason())
	case err != nil:
		return Decision{}, fmt.Errorf("%w: find owner: %w", ErrTransient, err)
	}
	if u.Username != owner {
		// Another case of a registered name is not that user's prefix.
		return skip(analysis.SkipNoOwner.Reason())
	}
	obj, err := in.Objects.Stat(ctx, ev.Key)
	switch {
	case errors.Is(err, storage.ErrGone):
		return skip("object does not exist")
	case err != nil:
		return Decision{}, fmt.Errorf("%w: stat object: %w", ErrTransient, err)
	}
	if ev.ETag != "" && !strings.EqualFold(ev.ETag, obj.ETag) {
		// Not the version the store holds: overwritten since (its own
		// event brings the new one), or a forged event.
		return in.record(ctx, analysis.Job{Bucket: ev.Bucket, Key: ev.Key, ETag: ev.ETag, Owner: owner,
			Status: analysis.JobSuperseded, Reason: "the object's ETag differs from the event's"})
	}
	if in.MaxBytes > 0 && obj.Size > in.MaxBytes {
		return in.record(ctx, analysis.Job{Bucket: ev.Bucket, Key: ev.Key, ETag: obj.ETag, Size: obj.Size, Owner: owner,
			Status: analysis.JobSkipped, Reason: analysis.SkipTooLarge.Reason()})
	}
	j, created, err := in.Queue.Enqueue(ctx, analysis.Job{Bucket: ev.Bucket, Key: ev.Key, ETag: obj.ETag, Size: obj.Size,
		MTime: obj.LastModified, Owner: owner})
	if err != nil {
		return Decision{}, fmt.Errorf("%w: %w", ErrTransient, err)
	}
	d := Decision{Object: ev.Key, Status: j.Status, Reason: j.Reason, JobID: j.ID}
	if !created {
		d.Reason = "already recorded"
	}
	return d, nil
}

// Reject records a refused record with its reason.
func (in *Intake) Reject(ctx context.Context, r notification.Rejected) (Decision, error) {
	return in.record(ctx, analysis.Job{Bucket: r.Bucket, Key: r.Key, ETag: r.ETag, Status: analysis.JobSkipped, Reason: r.Reason})
}

func (in *Intake) record(ctx context.Context, j analysis.Job) (Decision, error) {
	j.Bucket, j.Key = postgres.StorableKey(j.Bucket), postgres.StorableKey(j.Key)
	j.ETag = postgres.StorableKey(j.ETag)
	status := j.Status
	j, err := in.Queue.RecordSkip(ctx, j)
	if err != nil {
		return Decision{}, fmt.Errorf("%w: record skip: %w", ErrTransient, err)
	}
	return Decision{Object: j.Key, Status: status, Reason: j.Reason, JobID: j.ID}, nil
}
