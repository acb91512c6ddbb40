// Package app wires the shared library for the functions: it builds each
// service once per process from the environment and the mounted secrets,
// sharing one database pool. When a service cannot be built (a secret
// missing, the database down) the request fails with a clear status and
// the next request tries again.
package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/benchwrap/backend/shared/account"
	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/apperr"
	"github.com/benchwrap/backend/shared/config"
	"github.com/benchwrap/backend/shared/minio"
	"github.com/benchwrap/backend/shared/postgres"
	"github.com/benchwrap/backend/shared/storage"
	"github.com/benchwrap/backend/shared/token"
)

// Settings are the non-secret settings of every function.
type Settings struct {
	JWTIssuer   string          `envconfig:"JWT_ISSUER" default:"benchwrap"`
	JWTAudience string          `envconfig:"JWT_AUDIENCE" default:"benchwrap-api"`
	AccessTTL   config.Duration `envconfig:"ACCESS_TOKEN_TTL" default:"600"`
	RefreshTTL  config.Duration `envconfig:"REFRESH_TOKEN_TTL" default:"720h"`
	MaxFailures int             `envconfig:"LOGIN_MAX_FAILURES" default:"10"`
	LockWindow  config.Duration `envconfig:"LOGIN_WINDOW" default:"15m"`

	MinIOEndpoint       string          `envconfig:"MINIO_ENDPOINT" default:"127.0.0.1:9000"`
	MinIOSecure         bool            `envconfig:"MINIO_SECURE"`
	MinIOPublicEndpoint string          `envconfig:"MINIO_PUBLIC_ENDPOINT"`
	MinIOPublicSecure   bool            `envconfig:"MINIO_PUBLIC_SECURE"`
	MinIORegion         string          `envconfig:"MINIO_REGION" default:"us-east-1"`
	Bucket              string          `envconfig:"MINIO_BUCKET" default:"benchwrap"`
	PresignTTL          config.Duration `envconfig:"PRESIGN_TTL" default:"600"`
	MaxUploadBytes      int64           `envconfig:"MAX_UPLOAD_BYTES" default:"2147483648"`  // 2 GiB; 0: no limit
	UserQuotaBytes      int64           `envconfig:"USER_QUOTA_BYTES" default:"21474836480"` // 20 GiB; 0: no quota
}

// LoadSettings reads Settings from the environment.
func LoadSettings() (Settings, error) {
	var s Settings
	err := config.Load(&s)
	return s, err
}

// MsgMisconfigured is what clients see when a secret or setting is wrong;
// the log says which.
const MsgMisconfigured = "Server misconfigured."

// Misconfigured is the error for a missing or wrong setting or secret.
func Misconfigured(err error) error { return misconfigured(err) }

func misconfigured(err error) error {
	return apperr.Wrap(apperr.Internal, MsgMisconfigured, err)
}

func unavailable(err error) error {
	return apperr.Wrap(apperr.Unavailable, "Service temporarily unavailable.", err)
}

// Once builds a value on first success; failures are retried on the next
// call, so fixing a secret or starting the database needs no restart.
type Once[T any] struct {
	mu sync.Mutex
	v  T
	ok bool
}

// Get returns the value, building it if needed.
func (o *Once[T]) Get(build func() (T, error)) (T, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.ok {
		return o.v, nil
	}
	v, err := build()
	if err != nil {
		var zero T
		return zero, err
	}
	o.v, o.ok = v, true
	return v, nil
}

var (
	pool     Once[*pgxpool.Pool]
	keys     Once[*token.Keys]
	accounts Once[*account.Service]
	objects  Once[*minio.Store]
	store    Once[*storage.Service]
)

// Postgres returns the process's database pool, migrated (by the
// database-owner-url role when that secret is set).
func Postgres(ctx context.Context) (*pgxpool.Pool, error) {
	return pool.Get(func() (*pgxpool.Pool, error) {
		url, err := config.StrongSecret(config.SecretDatabaseURL)
		if err != nil {
			return nil, misconfigured(err)
		}
		// The migrations run as the owner role when there is one; the
		// pool is the functions' (less privileged) role.
		ownerURL, err := config.StrongSecret(config.SecretDatabaseOwnerURL)
		if errors.Is(err, config.ErrNoSecret) {
			ownerURL, err = "", nil
		}
		if err != nil {
			return nil, misconfigured(err)
		}
		p, err := postgres.Open(ctx, url)
		if err != nil {
			return nil, unavailable(err)
		}
		if err := postgres.MigrateAs(ctx, ownerURL, p); err != nil {
			p.Close()
			return nil, unavailable(fmt.Errorf("migrate: %w", err))
		}
		postgres.ExportPoolStats("main", p)
		return p, nil
	})
}

// Keys returns the JWT keys. The secret must be at least 32 bytes; there
// is no default.
func Keys() (*token.Keys, error) {
	return keys.Get(func() (*token.Keys, error) {
		s, err := LoadSettings()
		if err != nil {
			return nil, misconfigured(err)
		}
		secret, err := config.StrongSecret(config.SecretJWT)
		if err != nil {
			return nil, misconfigured(err)
		}
		k, err := token.NewKeys([]byte(secret), s.JWTIssuer, s.JWTAudience, s.AccessTTL.D(), nil)
		if err != nil {
			return nil, misconfigured(fmt.Errorf("%s: %w", config.SecretJWT, err))
		}
		return k, nil
	})
}

// Accounts returns the account service.
func Accounts(ctx context.Context) (*account.Service, error) {
	return accounts.Get(func() (*account.Service, error) {
		s, err := LoadSettings()
		if err != nil {
			return nil, misconfigured(err)
		}
		k, err := Keys()
		if err != nil {
			return nil, err
		}
		p, err := Postgres(ctx)
		if err != nil {
			return nil, err
		}
		cfg, err := accountConfig(s)
		if err != nil {
			return nil, misconfigured(err)
		}
		store := postgres.Accounts{Pool: p}
		svc, err := account.NewService(store, k, cfg, nil)
		if err != nil {
			return nil, misconfigured(err)
		}
		warmAccounts(ctx, store)
		return svc, nil
	})
}

// Objects returns the object store adapter.
func Objects() (*minio.Store, error) {
	return objects.Get(func() (*minio.Store, error) {
		s, err := LoadSettings()
		if err != nil {
			return nil, misconfigured(err)
		}
		ak, err1 := config.Secret(config.SecretMinIOAccess)
		sk, err2 := config.StrongSecret(config.SecretMinIOSecret)
		if err := errors.Join(err1, err2); err != nil {
			return nil, misconfigured(err)
		}
		m, err := minio.New(minio.Config{
			Endpoint: s.MinIOEndpoint, Secure: s.MinIOSecure,
			PublicEndpoint: s.MinIOPublicEndpoint, PublicSecure: s.MinIOPublicSecure,
			Region: s.MinIORegion, Bucket: s.Bucket, AccessKey: ak, SecretKey: sk,
		})
		if err != nil {
			return nil, misconfigured(err)
		}
		return m, nil
	})
}

// Storage returns the storage service.
func Storage() (*storage.Service, error) {
	return store.Get(func() (*storage.Service, error) {
		s, err := LoadSettings()
		if err != nil {
			return nil, misconfigured(err)
		}
		m, err := Objects()
		if err != nil {
			return nil, err
		}
		svc, err := storage.NewService(m, s.PresignTTL.D(), nil)
		if err != nil {
			return nil, misconfigured(err)
		}
		limits := storage.Limits{MaxUpload: s.MaxUploadBytes, Quota: s.UserQuotaBytes}
		return svc.WithAnalyses(catalog{bucket: s.Bucket}).WithLimits(limits), nil
	})
}

// Authenticate checks the request's Authorization header and returns the
// username.
func Authenticate(header string) (string, error) {
	k, err := Keys()
	if err != nil {
		return "", err
	}
	return k.Authenticate(header)
}

// CheckBearer checks a request's bearer token from its headers, for
// fnhttp.Policy.Auth: before the body is read.
func CheckBearer(h http.Header) error {
	_, err := Authenticate(h.Get("Authorization"))
	return err
}

// Ping checks the dependencies for readiness: nil, or the name of the
// failing component (postgres, migrations, minio) and why. A function
// depends on what it was given secrets for: the auth functions on
// PostgreSQL, presign on MinIO, list and analyze on both.
func Ping(ctx context.Context) (component string, err error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if has(config.SecretDatabaseURL) {
		p, err := Postgres(ctx)
		if err != nil {
			return "postgres", err
		}
		// One query answers both: the server is up and the schema is ours.
		pending, err := postgres.Pending(ctx, p)
		if err != nil {
			return "postgres", err
		}
		if len(pending) > 0 {
			return "migrations", fmt.Errorf("not applied: %v", pending)
		}
	}
	if has(config.SecretMinIOAccess) || has(config.SecretMinIOSecret) {
		m, err := Objects()
		if err == nil {
			err = m.Ping(ctx)
		}
		if err != nil {
			return "minio", err
		}
	}
	return "", nil
}

// has reports whether a secret is given at all (a file, even an empty
// one, or its variable), so that a wrong one still fails readiness.
func has(secret string) bool {
	if _, err := os.Stat(filepath.Join(config.SecretsDir(), secret)); err == nil {
		return true
	}
	return os.Getenv(config.EnvName(secret)) != ""
}

// catalog answers listings' analysis lookups from analysis_runs; the
// database is only contacted when a listing asks.
type catalog struct{ bucket string }

func (c catalog) LatestRuns(ctx context.Context, keys []string) (map[string]analysis.RunSummary, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	p, err := Postgres(ctx)
	if err != nil {
		return nil, err
	}
	runs, err := postgres.LatestRuns(ctx, p, c.bucket, keys)
	if err != nil {
		return nil, err
	}
	jobs, err := postgres.LatestJobs(ctx, p, c.bucket, keys)
	if err != nil {
		return nil, err
	}
	return analysis.WithJobs(runs, jobs), nil
}
