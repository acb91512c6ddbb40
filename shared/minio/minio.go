// Package minio is the object-store adapter over minio-go: presigned URLs
// for the public endpoint, listings and object reads for the internal one.
package minio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/benchwrap/backend/shared/storage"
)

// Config locates the store. Two endpoints, as in the original: URLs are
// signed for the one clients reach, the functions talk to the other.
type Config struct {
	Endpoint       string // host:port the functions use
	Secure         bool
	PublicEndpoint string // host:port in presigned URLs; Endpoint when empty
	PublicSecure   bool
	Region         string // set, so presigning needs no bucket-location lookup
	Bucket         string
	AccessKey      string
	SecretKey      string
}

// Store implements storage.Objects.
type Store struct {
	internal *minio.Client
	public   *minio.Client
	bucket   string
}

var _ storage.Objects = (*Store)(nil)

// New returns a Store. It does not contact the server.
func New(c Config) (*Store, error) {
	if c.Endpoint == "" || c.Bucket == "" || c.AccessKey == "" || c.SecretKey == "" {
		return nil, errors.New("minio: endpoint, bucket and keys are required")
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.PublicEndpoint == "" {
		c.PublicEndpoint, c.PublicSecure = c.Endpoint, c.Secure
	}
	creds := credentials.NewStaticV4(c.AccessKey, c.SecretKey, "")
	internal, err := minio.New(c.Endpoint, &minio.Options{Creds: creds, Secure: c.Secure, Region: c.Region})
	if err != nil {
		return nil, fmt.Errorf("minio client for %s: %w", c.Endpoint, err)
	}
	public, err := minio.New(c.PublicEndpoint, &minio.Options{Creds: creds, Secure: c.PublicSecure, Region: c.Region})
	if err != nil {
		return nil, fmt.Errorf("minio client for %s: %w", c.PublicEndpoint, err)
	}
	return &Store{internal: internal, public: public, bucket: c.Bucket}, nil
}

// Bucket is the bucket every key lives in.
func (s *Store) Bucket() string { return s.bucket }

// Client is the internal client, for the programs that need more (the
// analyzer downloads objects).
func (s *Store) Client() *minio.Client { return s.internal }

func (s *Store) PresignPut(ctx context.Context, key string, ttl time.Duration, signed http.Header) (string, error) {
	u, err := s.public.PresignHeader(ctx, http.MethodPut, s.bucket, key, ttl, url.Values{}, signed)
	if err != nil {
		return "", fmt.Errorf("presign PUT %s: %w", key, err)
	}
	return u.String(), nil
}

func (s *Store) PresignGet(ctx context.Context, key string, ttl time.Duration, query url.Values) (string, error) {
	u, err := s.public.PresignedGetObject(ctx, s.bucket, key, ttl, query)
	if err != nil {
		return "", fmt.Errorf("presign GET %s: %w", key, err)
	}
	return u.String(), nil
}

func (s *Store) List(ctx context.Context, prefix, after string, limit int) ([]storage.Object, bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the listing goroutine once we have enough
	opts := minio.ListObjectsOptions{Prefix: prefix, Recursive: true, StartAfter: after, MaxKeys: min(limit+1, 1000)}
	var out []storage.Object
	for o := range s.internal.ListObjects(ctx, s.bucket, opts) {
		if o.Err != nil {
			return nil, false, fmt.Errorf("list %s: %w", prefix, o.Err)
		}
		if len(out) == limit {
			return out, true, nil
		}
		out = append(out, storage.Object{Key: o.Key, Size: o.Size, LastModified: o.LastModified, ETag: o.ETag})
	}
	return out, false, nil
}

func (s *Store) Exists(ctx context.Context, key string) (bool, error) {
	_, err := s.internal.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err == nil {
		return true, nil
	}
	if errors.Is(objectErr(key, err), storage.ErrGone) {
		return false, nil
	}
	return false, fmt.Errorf("stat %s: %w", key, err)
}

func (s *Store) Usage(ctx context.Context, prefix string) (int64, int, error) {
	var bytes int64
	n := 0
	err := s.Objects(ctx, prefix, func(o storage.Object) error {
		bytes += o.Size
		n++
		return nil
	})
	return bytes, n, err
}

// Ping checks the server answers (for health checks).
func (s *Store) Ping(ctx context.Context) error {
	if _, err := s.internal.BucketExists(ctx, s.bucket); err != nil {
		return fmt.Errorf("minio %s: %w", s.internal.EndpointURL().Host, err)
	}
	return nil
}

// Download copies the object version with the given ETag (any version
// when etag is empty) to dst, reading at most max bytes. It returns
// storage.ErrGone, storage.ErrChanged or storage.ErrTooLarge for those
// cases, and wraps storage.ErrUnavailable when the server cannot be
// reached.
func (s *Store) Download(ctx context.Context, key, etag string, dst io.Writer, max int64) (int64, error) {
	opts := minio.GetObjectOptions{}
	if etag != "" {
		if err := opts.SetMatchETag(etag); err != nil {
			return 0, err
		}
	}
	obj, err := s.internal.GetObject(ctx, s.bucket, key, opts)
	if err != nil {
		return 0, objectErr(key, err)
	}
	defer obj.Close()
	n, err := io.Copy(dst, io.LimitReader(obj, max+1))
	if err != nil {
		return n, objectErr(key, err)
	}
	if n > max {
		return n, fmt.Errorf("%s: %w (%d bytes)", key, storage.ErrTooLarge, max)
	}
	return n, nil
}

// Stat returns an object's current ETag, size and modification time, or
// storage.ErrGone.
func (s *Store) Stat(ctx context.Context, key string) (storage.Object, error) {
	info, err := s.internal.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return storage.Object{}, objectErr(key, err)
	}
	return storage.Object{Key: key, Size: info.Size, LastModified: info.LastModified, ETag: strings.Trim(info.ETag, `"`)}, nil
}

// Objects lists every object under prefix with its ETag, for re-scans.
func (s *Store) Objects(ctx context.Context, prefix string, fn func(storage.Object) error) error {
	for o := range s.internal.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			return objectErr(prefix, o.Err)
		}
		if err := fn(storage.Object{Key: o.Key, Size: o.Size, LastModified: o.LastModified, ETag: strings.Trim(o.ETag, `"`)}); err != nil {
			return err
		}
	}
	return nil
}

func objectErr(key string, err error) error {
	switch minio.ToErrorResponse(err).Code {
	case "NoSuchKey", "NoSuchBucket":
		return fmt.Errorf("%s: %w", key, storage.ErrGone)
	case "PreconditionFailed":
		return fmt.Errorf("%s: %w", key, storage.ErrChanged)
	case "":
		// No S3 error document: the request did not get an answer.
		return fmt.Errorf("%s: %w: %w", key, storage.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", key, err)
}

// BenchmarkName returns the benchmark name the client stored with an
// object at upload (storage.BenchmarkMetaHeader); "" when none.
func (s *Store) BenchmarkName(ctx context.Context, key string) (string, error) {
	info, err := s.internal.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return "", objectErr(key, err)
	}
	const meta = "x-amz-meta-"
	want := strings.TrimPrefix(storage.BenchmarkMetaHeader, meta)
	for k, v := range info.UserMetadata {
		if strings.EqualFold(strings.TrimPrefix(strings.ToLower(k), meta), want) {
			return v, nil
		}
	}
	return "", nil
}

// Put stores an object of the given size (-1: unknown) from r.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if _, err := s.internal.PutObject(ctx, s.bucket, key, r, size, minio.PutObjectOptions{ContentType: contentType}); err != nil {
		return objectErr(key, err)
	}
	return nil
}
