package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/apperr"
)

// Object is one entry of a listing.
type Object struct {
	Key          string
	Size         int64
	LastModified time.Time
	ETag         string
}

// Objects is the object store the service needs.
type Objects interface {
	// PresignPut returns a URL for a PUT of key, signing the given
	// headers into it (the client must send them).
	PresignPut(ctx context.Context, key string, ttl time.Duration, signed http.Header) (string, error)
	// PresignGet returns a URL for a GET of key; query (S3's
	// response-* parameters) is signed into it.
	PresignGet(ctx context.Context, key string, ttl time.Duration, query url.Values) (string, error)
	// Exists reports whether key is stored.
	Exists(ctx context.Context, key string) (bool, error)
	// Usage sums the sizes of the objects under prefix.
	Usage(ctx context.Context, prefix string) (bytes int64, objects int, err error)
	// List returns up to limit objects under prefix with keys after
	// `after` (in key order), and whether more remain.
	List(ctx context.Context, prefix, after string, limit int) ([]Object, bool, error)
}

// MaxPresignTTL is S3's limit for presigned URLs.
const MaxPresignTTL = 7 * 24 * time.Hour

// MaxList is the default and largest page of a listing.
const MaxList = 1000

// BenchmarkMetaHeader stores the client's benchmark name with the object.
const BenchmarkMetaHeader = "x-amz-meta-benchmark-name"

// Service answers the storage functions.
type Service struct {
	objects  Objects
	analyses Analyses
	limits   Limits
	ttl      time.Duration
	now      func() time.Time
}

// Limits bound what a user may store; 0 means no limit.
type Limits struct {
	MaxUpload int64 // bytes in one object (MAX_UPLOAD_BYTES)
	Quota     int64 // bytes under the user's prefix (USER_QUOTA_BYTES)
}

// WithLimits makes presigning enforce the limits and listings show usage.
func (s *Service) WithLimits(l Limits) *Service {
	c := *s
	c.limits = l
	return &c
}

// CheckSize refuses an object larger than max bytes (no limit when max is
// 0) with an error wrapping ErrTooLarge: for presigning (a declared size)
// and for the analysis (the stored size, skip reason too_large).
func CheckSize(size, max int64) error {
	if max > 0 && size > max {
		return fmt.Errorf("%d bytes: %w (%d bytes)", size, ErrTooLarge, max)
	}
	return nil
}

// WithAnalyses makes listings show each profile's analysis outcome.
func (s *Service) WithAnalyses(a Analyses) *Service {
	c := *s
	c.analyses = a
	return &c
}

// NewService returns a Service whose URLs live ttl. now may be nil.
func NewService(objects Objects, ttl time.Duration, now func() time.Time) (*Service, error) {
	if ttl <= 0 || ttl > MaxPresignTTL {
		return nil, fmt.Errorf("presigned URL lifetime %s must be between 1s and %s", ttl, MaxPresignTTL)
	}
	if now == nil {
		now = time.Now
	}
	return &Service{objects: objects, ttl: ttl.Truncate(time.Second), now: now}, nil
}

// Presigned is the answer to a presign request. Headers is never nil: the
// client merges it into its PUT, and null would crash it.
type Presigned struct {
	Key       string            `json:"key"`
	URL       string            `json:"url"`
	ExpiresIn string            `json:"expires_in"` // seconds, a string as in the original
	ExpiresAt string            `json:"expires_at"` // RFC 3339
	Headers   map[string]string `json:"headers"`
}

// UploadOptions are the optional inputs of an upload.
type UploadOptions struct {
	Benchmark string
	// Size is the declared length in bytes, or -1 when the client did not
	// declare one. A declared size is signed into the URL: the store
	// refuses a body of any other length.
	Size int64
}

// Messages of refused uploads.
const (
	MsgTooLarge = "Object is larger than the maximum upload size."
	MsgQuota    = "Upload would exceed your storage quota."
)

// PresignUpload returns a presigned PUT for objectName under the user's
// prefix. A benchmark name is stored as object metadata; the header is
// signed, so it is returned for the client to send. Content-Type is never
// signed: the client sends its own guess. The user's quota is checked
// against what is stored already plus the declared size.
func (s *Service) PresignUpload(ctx context.Context, username, objectName string, opts UploadOptions) (Presigned, error) {
	key, err := s.key(username, objectName)
	if err != nil {
		return Presigned{}, err
	}
	if err := s.checkUpload(ctx, username, opts.Size); err != nil {
		return Presigned{}, err
	}
	headers := map[string]string{}
	signed := http.Header{}
	if b := SanitizeBenchmark(opts.Benchmark); b != "" {
		headers[BenchmarkMetaHeader] = b
		signed.Set(BenchmarkMetaHeader, b)
	}
	if opts.Size >= 0 {
		n := strconv.FormatInt(opts.Size, 10)
		headers["Content-Length"] = n
		signed.Set("Content-Length", n)
	}
	now := s.now()
	url, err := s.objects.PresignPut(ctx, key, s.ttl, signed)
	if err != nil {
		return Presigned{}, apperr.Wrap(apperr.BadRequest, "Failed to create upload URL.", err)
	}
	return s.answer(key, url, now, headers), nil
}

func (s *Service) checkUpload(ctx context.Context, username string, size int64) error {
	if size < -1 {
		return apperr.New(apperr.BadRequest, "size must be a whole number of bytes.")
	}
	if size >= 0 {
		if err := CheckSize(size, s.limits.MaxUpload); err != nil {
			return apperr.Wrap(apperr.TooLarge, MsgTooLarge, err)
		}
	}
	if s.limits.Quota <= 0 {
		return nil
	}
	used, _, err := s.objects.Usage(ctx, Prefix(username))
	if err != nil {
		return apperr.Wrap(apperr.Unavailable, "Storage usage unavailable; retry later.", err)
	}
	if used+max(size, 0) > s.limits.Quota || used >= s.limits.Quota {
		return apperr.Wrap(apperr.TooLarge, MsgQuota, fmt.Errorf("user %s uses %d of %d bytes, declares %d", username, used, s.limits.Quota, size))
	}
	return nil
}

// MsgOtherPrefix refuses a download name under someone else's prefix.
const MsgOtherPrefix = "Object is outside your storage."

// PresignDownload returns a presigned GET. Like the original it does not
// check that the object exists; the key is always inside the user's
// prefix, so it cannot reveal anyone else's data. A name may be given as
// a listing shows it (with the caller's own "<user>/" prefix); a name
// under another prefix is refused (403) unless it is the caller's own
// upload of that name (stored with '_' for '/': only then is the store
// asked). The URL makes the store answer with an attachment of a neutral
// type, whatever type the uploader declared, so a stored page cannot run
// scripts on the store's origin.
func (s *Service) PresignDownload(ctx context.Context, username, objectName string) (Presigned, error) {
	dir, rest, slash := strings.Cut(objectName, "/")
	if slash && dir == username {
		if name, ok := NameOfKey(username, objectName); ok {
			rest = name // a long name's key, as listed
		}
		objectName = rest
	}
	key, err := s.downloadKey(username, objectName)
	if err != nil {
		return Presigned{}, err
	}
	if slash && dir != username {
		// The caller's own upload of a name with a slash (stored with
		// '_') is served; a name under any other prefix is refused,
		// whether or not that user exists.
		ok, err := s.objects.Exists(ctx, key)
		if err != nil {
			return Presigned{}, apperr.Wrap(apperr.Unavailable, "Storage unavailable; retry later.", err)
		}
		if !ok {
			return Presigned{}, apperr.New(apperr.Forbidden, MsgOtherPrefix)
		}
	}
	now := s.now()
	url, err := s.objects.PresignGet(ctx, key, s.ttl, AttachmentQuery(key))
	if err != nil {
		return Presigned{}, apperr.Wrap(apperr.BadRequest, "Failed to create download URL.", err)
	}
	return s.answer(key, url, now, map[string]string{}), nil
}

// AttachmentQuery are the S3 response-* parameters that make a download
// an attachment of type application/octet-stream. Keys use a safe
// alphabet, so the file name needs no escaping.
func AttachmentQuery(key string) url.Values {
	name := key[strings.LastIndexByte(key, '/')+1:]
	return url.Values{
		"response-content-disposition": {`attachment; filename="` + name + `"`},
		"response-content-type":        {"application/octet-stream"},
	}
}

func (s *Service) key(username, objectName string) (string, error) {
	if username == "" {
		return "", apperr.New(apperr.Unauthorized, "Token missing subject.")
	}
	safe, err := SanitizeName(objectName)
	if err != nil {
		return "", err
	}
	k := Key(username, safe)
	if len(k) > MaxKeyBytes {
		return "", apperr.New(apperr.BadRequest, MsgInvalidName)
	}
	return k, nil
}

// ResultsFolder is the folder of a user's prefix where the results
// function writes Parquet copies of the jobs (results/<job>/...). Uploads
// cannot write there (their '/' become '_'); downloads keep the folders.
const ResultsFolder = "results/"

// downloadKey is key, except that names in ResultsFolder keep their '/'
// (every part sanitised on its own).
func (s *Service) downloadKey(username, objectName string) (string, error) {
	if !strings.HasPrefix(objectName, ResultsFolder) || username == "" {
		return s.key(username, objectName)
	}
	parts := strings.Split(objectName, "/")
	for i, p := range parts {
		safe, err := SanitizeName(p)
		if err != nil {
			return "", err
		}
		parts[i] = safe
	}
	k := Key(username, strings.Join(parts, "/"))
	if len(k) > MaxKeyBytes {
		return "", apperr.New(apperr.BadRequest, MsgInvalidName)
	}
	return k, nil
}

func (s *Service) answer(key, url string, now time.Time, headers map[string]string) Presigned {
	return Presigned{
		Key:       key,
		URL:       url,
		ExpiresIn: strconv.Itoa(int(s.ttl / time.Second)),
		ExpiresAt: now.Add(s.ttl).UTC().Format(time.RFC3339),
		Headers:   headers,
	}
}

// ListEntry is one object in a listing answer. Analysis is the outcome of
// the latest analysis of an .h5 profile, when there is one.
type ListEntry struct {
	Key          string               `json:"key"`
	Size         int64                `json:"size"`
	LastModified string               `json:"last_modified"` // ISO 8601 with offset
	Analysis     *analysis.RunSummary `json:"analysis,omitempty"`
}

// Analyses looks up the latest analysis of objects.
type Analyses interface {
	LatestRuns(ctx context.Context, keys []string) (map[string]analysis.RunSummary, error)
}

// Listing is the answer to a list request; Next is the `after` value for
// the following page, present only when more objects remain.
type Listing struct {
	Objects []ListEntry `json:"objects"`
	Next    string      `json:"next,omitempty"`
	Usage   *Usage      `json:"usage,omitempty"`
}

// Usage is what a user stores against the quota (shown when one is set).
type Usage struct {
	Bytes      int64 `json:"bytes"`
	Objects    int   `json:"objects"`
	QuotaBytes int64 `json:"quota_bytes"`
}

// List returns one page of the user's objects, in key order.
func (s *Service) List(ctx context.Context, username string, limit int, after string) (Listing, []Object, error) {
	if username == "" {
		return Listing{}, nil, apperr.New(apperr.Unauthorized, "Token missing subject.")
	}
	if limit <= 0 || limit > MaxList {
		return Listing{}, nil, apperr.New(apperr.BadRequest, fmt.Sprintf("limit must be between 1 and %d.", MaxList))
	}
	prefix := Prefix(username)
	if after != "" && (len(after) < len(prefix) || after[:len(prefix)] != prefix) {
		return Listing{}, nil, apperr.New(apperr.BadRequest, "after must be a key returned by a previous listing.")
	}
	objs, more, err := s.objects.List(ctx, prefix, after, limit)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return Listing{}, nil, err
		}
		return Listing{}, nil, apperr.Wrap(apperr.BadRequest, "Failed to list objects.", err)
	}
	var runs map[string]analysis.RunSummary
	if s.analyses != nil {
		var profiles []string
		for _, o := range objs {
			if strings.HasSuffix(o.Key, ".h5") {
				profiles = append(profiles, o.Key)
			}
		}
		if runs, err = s.analyses.LatestRuns(ctx, profiles); err != nil {
			// The listing is still right without the outcomes.
			slog.WarnContext(ctx, "list: analysis outcomes unavailable", "error", err)
		}
	}
	out := Listing{Objects: make([]ListEntry, 0, len(objs))}
	for _, o := range objs {
		e := ListEntry{Key: o.Key, Size: o.Size, LastModified: isoformat(o.LastModified)}
		if r, ok := runs[o.Key]; ok {
			e.Analysis = &r
		}
		out.Objects = append(out.Objects, e)
	}
	if more && len(objs) > 0 {
		out.Next = objs[len(objs)-1].Key
	}
	if s.limits.Quota > 0 {
		if used, n, err := s.objects.Usage(ctx, prefix); err != nil {
			slog.WarnContext(ctx, "list: usage unavailable", "error", err)
		} else {
			out.Usage = &Usage{Bytes: used, Objects: n, QuotaBytes: s.limits.Quota}
		}
	}
	return out, objs, nil
}

// isoformat writes t as Python's datetime.isoformat does for an aware
// UTC time, which the original returned: microseconds only when non-zero.
func isoformat(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()/1000 == 0 {
		return t.Format("2006-01-02T15:04:05-07:00")
	}
	return t.Format("2006-01-02T15:04:05.000000-07:00")
}

// Errors of object reads.
var (
	ErrGone        = errors.New("object no longer exists")
	ErrChanged     = errors.New("object changed since the event")
	ErrTooLarge    = errors.New("object exceeds the size limit")
	ErrUnavailable = errors.New("object store unavailable")
)
