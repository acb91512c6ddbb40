// Package localstack runs the whole backend on one machine: PostgreSQL and
// MinIO as child processes (or existing servers), secrets generated into
// files laid out like OpenFaaS's, and every function behind a local
// gateway. `bin/stack` and the end-to-end tests use it.
package localstack

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	analyzefn "github.com/benchwrap/backend/functions/analyze"
	listfn "github.com/benchwrap/backend/functions/list"
	loginfn "github.com/benchwrap/backend/functions/login"
	logoutfn "github.com/benchwrap/backend/functions/logout"
	presignfn "github.com/benchwrap/backend/functions/presign"
	refreshfn "github.com/benchwrap/backend/functions/refresh"
	registerfn "github.com/benchwrap/backend/functions/register"
	reportfn "github.com/benchwrap/backend/functions/report"
	resultsfn "github.com/benchwrap/backend/functions/results"

	"github.com/benchwrap/backend/cmd/internal/gateway"
	"github.com/benchwrap/backend/shared/app"
	"github.com/benchwrap/backend/shared/app/pipeline"
	"github.com/benchwrap/backend/shared/config"
	"github.com/benchwrap/backend/shared/fnhttp"
	"github.com/benchwrap/backend/shared/metrics"
	"github.com/benchwrap/backend/shared/postgres"
	"github.com/benchwrap/backend/shared/queue"
	"github.com/benchwrap/backend/testkit/devserver"
)

// Constructors build the functions the gateway serves, by name.
var Constructors = map[string]func(*app.App) (fnhttp.Function, error){
	"register": registerfn.New,
	"login":    loginfn.New,
	"refresh":  refreshfn.New,
	"logout":   logoutfn.New,
	"presign":  presignfn.New,
	"list":     listfn.New,
	"analyze":  analyzefn.New,
	"report":   reportfn.New,
	"results":  resultsfn.New,
}

// NewFunctions builds every function on a, as each deployed binary builds
// its own on its app.
func NewFunctions(a *app.App) (map[string]fnhttp.Function, error) {
	fns := make(map[string]fnhttp.Function, len(Constructors))
	for name, newFunction := range Constructors {
		f, err := newFunction(a)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		fns[name] = f
	}
	return fns, nil
}

// Options configure a stack. Empty fields take the defaults of `make run`.
type Options struct {
	Dir         string // state directory (secrets/, pg/, minio/); default .stack
	GatewayAddr string // default 127.0.0.1:8080; port 0 picks one
	MetricsAddr string // /metrics of every function; default 127.0.0.1:9102, "off" for none

	DatabaseURL  string // use this database instead of starting PostgreSQL
	PGPort       int    // port of the started cluster; default 55432, 0 with FastPostgres picks one
	FastPostgres bool   // fsync off: tests
	// PgBouncer puts a PgBouncer in transaction pooling mode in front of
	// the stack's own cluster; the functions connect through it.
	PgBouncer bool

	MinIOEndpoint     string // use this server instead of starting MinIO
	MinIOAddr         string // address of the started server; default 127.0.0.1:9000
	MinIORootUser     string // root credentials of MinIOEndpoint: the stack then provisions the bucket user
	MinIORootPassword string
	MinIOAccessKey    string // or: the bucket user's keys for MinIOEndpoint
	MinIOSecretKey    string
	Bucket            string // default benchwrap

	// NoWorkers leaves the analysis queue to workers started elsewhere
	// (bin/analyze worker); by default the stack runs them in-process.
	NoWorkers bool
}

// Stack is a running local stack.
type Stack struct {
	GatewayURL    string
	MetricsURL    string // empty when off
	DatabaseURL   string // the functions' role (through PgBouncer with Options.PgBouncer)
	OwnerURL      string // the migrations' role, direct; empty with Options.DatabaseURL
	MinIOEndpoint string
	SecretsDir    string

	// Root credentials of the MinIO server the stack started (empty for
	// an existing server).
	MinIORootUser     string
	MinIORootPassword string

	opts      Options
	dir       string
	app       *app.App // the in-process functions' wiring, one for all of them
	functions map[string]fnhttp.Function
	pipeline  *pipeline.Pipeline // the in-process workers'
	workers   *queue.Workers
	wpool     *pgxpool.Pool
	pg        *devserver.Postgres
	bouncer   *devserver.PgBouncer
	minio     *devserver.MinIO
	ln        net.Listener
	server    *http.Server
	metrics   *metrics.Server
	done      chan error
}

func (o *Options) defaults() {
	if o.Dir == "" {
		o.Dir = ".stack"
	}
	if o.GatewayAddr == "" {
		o.GatewayAddr = "127.0.0.1:8080"
	}
	if o.PGPort == 0 && !o.FastPostgres {
		o.PGPort = 55432
	}
	if o.MinIOAddr == "" {
		o.MinIOAddr = "127.0.0.1:9000"
	}
	if o.MetricsAddr == "" {
		o.MetricsAddr = "127.0.0.1:9102"
	}
	if o.Bucket == "" {
		o.Bucket = "benchwrap"
	}
}

// Start brings the stack up; Close takes it down.
func Start(ctx context.Context, o Options) (*Stack, error) {
	o.defaults()
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	s := &Stack{SecretsDir: filepath.Join(dir, "secrets"), done: make(chan error, 1), opts: o, dir: dir}
	if err := s.start(ctx, dir, o); err != nil {
		return nil, errors.Join(err, s.Close())
	}
	return s, nil
}

func (s *Stack) start(ctx context.Context, dir string, o Options) error {
	if err := os.MkdirAll(s.SecretsDir, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o755); err != nil { // the postgres user must enter it
		return err
	}
	if _, err := ensureSecret(s.SecretsDir, config.SecretJWT, randomString(48)); err != nil {
		return err
	}
	webhookToken, err := ensureSecret(s.SecretsDir, config.SecretWebhookToken, randomString(32))
	if err != nil {
		return err
	}
	// The gateway's address must be known before MinIO starts: MinIO's
	// notification target points at it.
	if s.ln, err = net.Listen("tcp", o.GatewayAddr); err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	s.GatewayURL = "http://" + s.ln.Addr().String()

	// PostgreSQL: our own cluster, where the functions connect as a
	// least-privileged role and the migrations run as the owner; or the
	// given database, used for everything.
	s.DatabaseURL = o.DatabaseURL
	if s.DatabaseURL == "" {
		if err := s.StartPostgres(ctx); err != nil {
			return err
		}
		if err := writeSecret(s.SecretsDir, config.SecretDatabaseOwnerURL, s.OwnerURL); err != nil {
			return err
		}
	} else if err := os.Remove(filepath.Join(s.SecretsDir, config.SecretDatabaseOwnerURL)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := writeSecret(s.SecretsDir, config.SecretDatabaseURL, s.DatabaseURL); err != nil {
		return err
	}
	pool, err := postgres.Open(ctx, s.DatabaseURL)
	if err != nil {
		return err
	}
	err = postgres.MigrateAs(ctx, s.OwnerURL, pool)
	pool.Close()
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}

	// MinIO.
	if err := s.startMinIO(ctx, dir, o, webhookToken); err != nil {
		return err
	}

	// The in-process functions read the same settings and secret files as
	// deployed ones.
	for k, v := range map[string]string{
		config.SecretsDirEnv: s.SecretsDir,
		"MINIO_ENDPOINT":     s.MinIOEndpoint,
		"MINIO_BUCKET":       o.Bucket,
	} {
		if err := os.Setenv(k, v); err != nil {
			return err
		}
	}

	// One application for the in-process functions and workers, built
	// once the settings are in place; a bad setting refuses to start.
	if s.app, err = app.New(); err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	if s.functions, err = NewFunctions(s.app); err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	if s.pipeline, err = pipeline.New(s.app); err != nil {
		return fmt.Errorf("settings: %w", err)
	}

	// Refuse placeholder or short secrets, as each function does.
	var names []string
	for _, f := range s.functions {
		for _, n := range f.Policy.Secrets {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	if err := config.CheckSecrets(names...); err != nil {
		return fmt.Errorf("refusing to start: %w", err)
	}

	// The functions' metrics: one process, one registry, off the gateway.
	// A port taken (another stack) costs the metrics, not the stack.
	if s.metrics, err = metrics.Listen(o.MetricsAddr); err != nil {
		slog.Warn("metrics not served", "error", err)
	}
	if s.metrics != nil {
		s.MetricsURL = s.metrics.URL()
	}

	// Analysis workers, on a pool of their own: uploads are analysed
	// from the queue the analyze function fills.
	if s.bouncer != nil {
		// No LISTEN/NOTIFY through PgBouncer in transaction pooling mode.
		if err := os.Setenv("ANALYZE_POLL_ONLY", "true"); err != nil {
			return err
		}
	}
	if !o.NoWorkers {
		if err := s.StartWorkers(ctx); err != nil {
			return err
		}
	}

	// Gateway.
	handlers := map[string]fnhttp.HandleFunc{}
	policies := map[string]fnhttp.Policy{}
	for name, f := range s.functions {
		handlers[name], policies[name] = f.Handle, f.Policy
	}
	gw := gateway.New(handlers, policies, s.app.Ping)
	// Browsers upload through the gateway to the MinIO the presigned URLs
	// name (the stack's own: no MINIO_PUBLIC_ENDPOINT here).
	gw.ProxyStorage(&url.URL{Scheme: "http", Host: s.MinIOEndpoint})
	if s.server, err = fnhttp.NewServer(gw); err != nil {
		return err
	}
	go func() { s.done <- s.server.Serve(s.ln) }()
	return nil
}

// StartWorkers starts the in-process analysis workers (again, after
// StopWorkers).
func (s *Stack) StartWorkers(ctx context.Context) error {
	ws, pool, err := s.pipeline.StartWorkers(ctx, nil)
	if err != nil {
		return fmt.Errorf("analysis workers: %w", err)
	}
	s.workers, s.wpool = ws, pool
	return nil
}

// StopWorkers stops the in-process analysis workers, letting running
// analyses finish for up to 10 s.
func (s *Stack) StopWorkers() error {
	if s.workers == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.workers.Stop(ctx)
	s.wpool.Close()
	s.workers, s.wpool = nil, nil
	return err
}

// StartPostgres starts the stack's own cluster (again, after
// StopPostgres: the same directory and port).
func (s *Stack) StartPostgres(ctx context.Context) error {
	pgDir := filepath.Join(s.dir, "pg")
	pg, err := devserver.StartPostgres(ctx, devserver.PostgresOptions{Dir: pgDir, Port: s.opts.PGPort, Fast: s.opts.FastPostgres})
	if err != nil {
		return fmt.Errorf("start PostgreSQL: %w", err)
	}
	s.pg, s.opts.PGPort = pg, pg.Port
	owner := devserver.Role{Name: OwnerRole}
	app := devserver.Role{Name: AppRole}
	for _, r := range []*devserver.Role{&owner, &app} {
		if r.Password, err = ensureSecret(pgDir, r.Name+"-password", randomHex(20)); err != nil {
			return err
		}
	}
	if err := devserver.ProvisionDatabase(ctx, pg.URL, "benchwrap", owner, app); err != nil {
		return err
	}
	s.OwnerURL = roleURL(owner, pg.Port)
	s.DatabaseURL = roleURL(app, pg.Port)
	if !s.opts.PgBouncer {
		return nil
	}
	if s.bouncer == nil {
		super, superPW, err := devserver.UserFromURL(pg.URL)
		if err != nil {
			return err
		}
		b, err := devserver.StartPgBouncer(ctx, devserver.PgBouncerOptions{
			Dir: filepath.Join(s.dir, "pgbouncer"), ServerPort: pg.Port,
			Users: map[string]string{super: superPW, app.Name: app.Password},
		})
		if err != nil {
			return fmt.Errorf("start PgBouncer: %w", err)
		}
		s.bouncer = b
	}
	if s.DatabaseURL, err = s.bouncer.ThroughPgBouncer(s.DatabaseURL); err != nil {
		return err
	}
	// After a restart PgBouncer answers logins with an error until its
	// next retry (server_login_retry): the stack is up once it connects.
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		p, err := postgres.Open(wctx, s.DatabaseURL)
		if err == nil {
			p.Close()
			return nil
		}
		select {
		case <-wctx.Done():
			return fmt.Errorf("PgBouncer does not reach PostgreSQL: %w", err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// The roles of the stack's own database.
const (
	OwnerRole = "benchwrap_owner" // migrations (DDL)
	AppRole   = "benchwrap_app"   // the functions
)

func roleURL(r devserver.Role, port int) string {
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/benchwrap?sslmode=disable", r.Name, r.Password, port)
}

// StopPostgres stops the stack's own cluster, e.g. to test an outage.
func (s *Stack) StopPostgres() error {
	if s.pg == nil {
		return errors.New("the stack did not start PostgreSQL")
	}
	err := s.pg.Stop()
	s.pg = nil
	return err
}

func (s *Stack) startMinIO(ctx context.Context, dir string, o Options, webhookToken string) error {
	ak, sk := o.MinIOAccessKey, o.MinIOSecretKey
	s.MinIOEndpoint = o.MinIOEndpoint
	root, rootPW := o.MinIORootUser, o.MinIORootPassword
	if s.MinIOEndpoint == "" {
		mdir := filepath.Join(dir, "minio")
		if err := os.MkdirAll(mdir, 0o700); err != nil {
			return err
		}
		var err error
		if root, err = ensureSecret(mdir, "root-user", "root-"+randomHex(6)); err != nil {
			return err
		}
		if rootPW, err = ensureSecret(mdir, "root-password", randomString(32)); err != nil {
			return err
		}
		// Uploads of .h5 profiles notify the analyze function; MinIO keeps
		// undelivered events in its queue and retries them.
		env := devserver.WebhookEnv(s.GatewayURL+"/function/analyze", webhookToken, filepath.Join(mdir, "queue"))
		s.minio, err = devserver.StartMinIO(ctx, devserver.MinIOOptions{Dir: mdir, Addr: o.MinIOAddr, RootUser: root, RootPassword: rootPW, Env: env})
		if err != nil {
			return fmt.Errorf("start MinIO: %w", err)
		}
		s.MinIOEndpoint = s.minio.Endpoint
		s.MinIORootUser, s.MinIORootPassword = root, rootPW
	}
	if root != "" {
		var err error
		if ak, err = ensureSecret(s.SecretsDir, config.SecretMinIOAccess, "bwfn"+randomHex(8)); err != nil {
			return err
		}
		if sk, err = ensureSecret(s.SecretsDir, config.SecretMinIOSecret, randomString(40)); err != nil {
			return err
		}
		if err := devserver.ProvisionBucket(ctx, s.MinIOEndpoint, root, rootPW, o.Bucket, devserver.BucketUser{AccessKey: ak, SecretKey: sk}); err != nil {
			return fmt.Errorf("provision MinIO: %w", err)
		}
		if s.minio != nil {
			return devserver.EnableWebhook(ctx, s.MinIOEndpoint, root, rootPW, o.Bucket)
		}
		slog.Warn("MinIO not started by the stack: configure its webhook target for the analyze function yourself (docs/deploy.md)")
		return nil
	}
	if ak == "" || sk == "" {
		return errors.New("with MINIO_ENDPOINT set, give MINIO_ROOT_USER/MINIO_ROOT_PASSWORD (to create the bucket user) or MINIO_ACCESS_KEY/MINIO_SECRET_KEY")
	}
	if err := writeSecret(s.SecretsDir, config.SecretMinIOAccess, ak); err != nil {
		return err
	}
	return writeSecret(s.SecretsDir, config.SecretMinIOSecret, sk)
}

// Close stops the gateway, then the servers the stack started.
func (s *Stack) Close() error {
	var errs []error
	if s.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		// Workers (fnhttp.OnShutdown) stop taking jobs while the requests
		// in flight finish.
		hooks := make(chan struct{})
		go func() { fnhttp.Shutdown(ctx); close(hooks) }()
		errs = append(errs, s.server.Shutdown(ctx))
		<-hooks
		cancel()
	}
	errs = append(errs, s.StopWorkers())
	if s.app != nil {
		s.app.Close()
	}
	if s.ln != nil && s.server == nil {
		errs = append(errs, s.ln.Close())
	}
	errs = append(errs, s.metrics.Close())
	if s.minio != nil {
		errs = append(errs, s.minio.Stop())
	}
	if s.bouncer != nil {
		errs = append(errs, s.bouncer.Stop())
	}
	if s.pg != nil {
		errs = append(errs, s.pg.Stop())
	}
	return errors.Join(errs...)
}

// Done delivers the gateway's error if it stops serving on its own.
func (s *Stack) Done() <-chan error { return s.done }

// Log describes the stack without secrets.
func (s *Stack) Log() []any {
	return []any{"gateway", s.GatewayURL, "metrics", s.MetricsURL, "postgres", postgres.Redact(s.DatabaseURL), "minio", s.MinIOEndpoint, "secrets", s.SecretsDir}
}

func ensureSecret(dir, name, fresh string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err == nil && strings.TrimSpace(string(b)) != "" {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if err := writeSecret(dir, name, fresh); err != nil {
		return "", err
	}
	slog.Info("generated secret", "name", name, "dir", dir)
	return fresh, nil
}

func writeSecret(dir, name, value string) error {
	p := filepath.Join(dir, name)
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, []byte(value), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
