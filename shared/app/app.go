// Package app wires the shared library for one process: an App holds the
// settings, read once from the environment, and builds each service from
// them and the mounted secrets on first use, sharing one database pool.
// When a service cannot be built (a secret missing, the database down)
// the request fails with a clear status and the next request tries again.
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
	"github.com/benchwrap/backend/shared/clientaddr"
	"github.com/benchwrap/backend/shared/config"
	"github.com/benchwrap/backend/shared/minio"
	"github.com/benchwrap/backend/shared/postgres"
	"github.com/benchwrap/backend/shared/results"
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

// Lazy builds a value on first success; failures are retried on the next
// call, so fixing a secret or starting the database needs no restart.
type Lazy[T any] struct {
	mu sync.Mutex
	v  T
	ok bool
}

// Get returns the value, building it if needed.
func (o *Lazy[T]) Get(build func() (T, error)) (T, error) {
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

// Built returns the value if it has been built, without building it.
func (o *Lazy[T]) Built() (T, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.v, o.ok
}

// App is one process's wiring: the settings, read once by New, and the
// services built from them and the secrets. Each service is built on first
// use and shared from then on (one database pool per App); a failure (a
// secret missing, the database down) is the request's clear error, and the
// next use tries again. Entry points (the function templates' main, the
// local stack, the CLIs) build one App and pass it down; tests build
// their own.
type App struct {
	Settings Settings
	account  account.Config
	clients  clientaddr.Resolver
	results  results.Config

	pool       Lazy[*pgxpool.Pool]
	keys       Lazy[*token.Keys]
	accounts   Lazy[*account.Service]
	objects    Lazy[*minio.Store]
	store      Lazy[*storage.Service]
	resultsSvc Lazy[*results.Service]
}

// New reads the settings from the environment. It touches no secret and
// no server: a missing secret or a database that is down is reported
// when a request needs it.
func New() (*App, error) {
	s, err := LoadSettings()
	if err != nil {
		return nil, err
	}
	var as AccountSettings
	if err := config.Load(&as); err != nil {
		return nil, err
	}
	a := &App{Settings: s}
	if a.account, err = accountConfig(s, as); err != nil {
		return nil, err
	}
	if a.clients, err = clientaddr.Parse(as.TrustedProxies); err != nil {
		return nil, fmt.Errorf("TRUSTED_PROXIES: %w", err)
	}
	if err := config.Load(&a.results); err != nil {
		return nil, err
	}
	return a, nil
}

// Close closes the database pool, if one was opened.
func (a *App) Close() {
	if p, ok := a.pool.Built(); ok {
		p.Close()
	}
}

// Postgres returns the process's database pool, migrated (by the
// database-owner-url role when that secret is set).
func (a *App) Postgres(ctx context.Context) (*pgxpool.Pool, error) {
	return a.pool.Get(func() (*pgxpool.Pool, error) {
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
func (a *App) Keys() (*token.Keys, error) {
	return a.keys.Get(func() (*token.Keys, error) {
		secret, err := config.StrongSecret(config.SecretJWT)
		if err != nil {
			return nil, misconfigured(err)
		}
		s := a.Settings
		k, err := token.NewKeys([]byte(secret), s.JWTIssuer, s.JWTAudience, s.AccessTTL.D(), nil)
		if err != nil {
			return nil, misconfigured(fmt.Errorf("%s: %w", config.SecretJWT, err))
		}
		return k, nil
	})
}

// Accounts returns the account service.
func (a *App) Accounts(ctx context.Context) (*account.Service, error) {
	return a.accounts.Get(func() (*account.Service, error) {
		k, err := a.Keys()
		if err != nil {
			return nil, err
		}
		p, err := a.Postgres(ctx)
		if err != nil {
			return nil, err
		}
		store := postgres.Accounts{Pool: p}
		svc, err := account.NewService(store, k, a.account, nil)
		if err != nil {
			return nil, misconfigured(err)
		}
		warmAccounts(ctx, store)
		return svc, nil
	})
}

// Objects returns the object store adapter.
func (a *App) Objects() (*minio.Store, error) {
	return a.objects.Get(func() (*minio.Store, error) {
		ak, err1 := config.Secret(config.SecretMinIOAccess)
		sk, err2 := config.StrongSecret(config.SecretMinIOSecret)
		if err := errors.Join(err1, err2); err != nil {
			return nil, misconfigured(err)
		}
		s := a.Settings
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
func (a *App) Storage() (*storage.Service, error) {
	return a.store.Get(func() (*storage.Service, error) {
		m, err := a.Objects()
		if err != nil {
			return nil, err
		}
		s := a.Settings
		svc, err := storage.NewService(m, s.PresignTTL.D(), nil)
		if err != nil {
			return nil, misconfigured(err)
		}
		limits := storage.Limits{MaxUpload: s.MaxUploadBytes, Quota: s.UserQuotaBytes}
		return svc.WithAnalyses(catalog{app: a}).WithLimits(limits), nil
	})
}

// Results returns the results service.
func (a *App) Results(ctx context.Context) (*results.Service, error) {
	return a.resultsSvc.Get(func() (*results.Service, error) {
		p, err := a.Postgres(ctx)
		if err != nil {
			return nil, err
		}
		m, err := a.Objects()
		if err != nil {
			return nil, err
		}
		cfg := a.results
		return &results.Service{Store: postgres.Results{Pool: p}, Meta: m, Config: cfg, Cache: results.NewSeriesCache(cfg.SeriesCacheMB)}, nil
	})
}

// ClientAddress returns the address of the client of a request with TCP
// peer peer and X-Forwarded-For values xff, believing the header only
// from TRUSTED_PROXIES.
func (a *App) ClientAddress(peer string, xff []string) string {
	return a.clients.Client(peer, xff)
}

// Authenticate checks the request's Authorization header and returns the
// username.
func (a *App) Authenticate(header string) (string, error) {
	k, err := a.Keys()
	if err != nil {
		return "", err
	}
	return k.Authenticate(header)
}

// CheckBearer checks a request's bearer token from its headers, for
// fnhttp.Policy.Auth: before the body is read.
func (a *App) CheckBearer(h http.Header) error {
	_, err := a.Authenticate(h.Get("Authorization"))
	return err
}

// Ping checks the dependencies for readiness: nil, or the name of the
// failing component (postgres, migrations, minio) and why. A function
// depends on what it was given secrets for: the auth functions on
// PostgreSQL, presign on MinIO, list and analyze on both.
func (a *App) Ping(ctx context.Context) (component string, err error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if has(config.SecretDatabaseURL) {
		p, err := a.Postgres(ctx)
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
		m, err := a.Objects()
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
type catalog struct{ app *App }

func (c catalog) LatestRuns(ctx context.Context, keys []string) (map[string]analysis.RunSummary, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	p, err := c.app.Postgres(ctx)
	if err != nil {
		return nil, err
	}
	bucket := c.app.Settings.Bucket
	runs, err := postgres.LatestRuns(ctx, p, bucket, keys)
	if err != nil {
		return nil, err
	}
	jobs, err := postgres.LatestJobs(ctx, p, bucket, keys)
	if err != nil {
		return nil, err
	}
	return analysis.WithJobs(runs, jobs), nil
}
