// Command stack runs the whole backend on this machine (`make run`),
// imports the original backend's users.txt, and gives the test suite its
// servers (`make test`).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/benchwrap/backend/cmd/internal/localstack"
	"github.com/benchwrap/backend/shared/account"
	"github.com/benchwrap/backend/shared/config"
	"github.com/benchwrap/backend/shared/logging"
	"github.com/benchwrap/backend/shared/postgres"
	"github.com/benchwrap/backend/testkit/devserver"
)

const usage = `usage:
  stack                       run the local stack in the foreground (Ctrl-C stops it)
  stack import-users FILE     import the original backend's users.txt (username:hash per line)
  stack exec [--pgbouncer] -- CMD [ARG...]
                              start throwaway PostgreSQL and MinIO, run CMD with their
                              addresses in BENCHWRAP_TEST_* variables, stop them; with
                              --pgbouncer the database URL goes through a PgBouncer in
                              transaction pooling mode and STACK_PGBOUNCER=1 is set

environment (run): STACK_DIR (.stack), GATEWAY_ADDR (127.0.0.1:8080), DATABASE_URL (else a
cluster under STACK_DIR on PG_PORT, 55432; STACK_PGBOUNCER=1 puts PgBouncer in front of it),
METRICS_ADDR (127.0.0.1:9102, "off": where /metrics of every function is served), MINIO_ENDPOINT (else a server on MINIO_ADDR,
127.0.0.1:9000) with MINIO_ROOT_USER/MINIO_ROOT_PASSWORD or MINIO_ACCESS_KEY/MINIO_SECRET_KEY,
MINIO_BUCKET (benchwrap).
`

// env is the stack's configuration.
type env struct {
	Dir               string `envconfig:"STACK_DIR" default:".stack"`
	GatewayAddr       string `envconfig:"GATEWAY_ADDR" default:"127.0.0.1:8080"`
	MetricsAddr       string `envconfig:"METRICS_ADDR" default:"127.0.0.1:9102"`
	PgBouncer         bool   `envconfig:"STACK_PGBOUNCER"`
	DatabaseURL       string `envconfig:"DATABASE_URL"`
	PGPort            int    `envconfig:"PG_PORT" default:"55432"`
	MinIOEndpoint     string `envconfig:"MINIO_ENDPOINT"`
	MinIOAddr         string `envconfig:"MINIO_ADDR" default:"127.0.0.1:9000"`
	MinIORootUser     string `envconfig:"MINIO_ROOT_USER"`
	MinIORootPassword string `envconfig:"MINIO_ROOT_PASSWORD"`
	MinIOAccessKey    string `envconfig:"MINIO_ACCESS_KEY"`
	MinIOSecretKey    string `envconfig:"MINIO_SECRET_KEY"`
	Bucket            string `envconfig:"MINIO_BUCKET" default:"benchwrap"`
}

func main() {
	logging.Setup()
	flag.Usage = func() { fmt.Fprint(os.Stderr, usage) }
	flag.Parse()
	var e env
	if err := config.Load(&e); err != nil {
		fail(2, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	args := flag.Args()
	var err error
	switch {
	case len(args) == 0 || args[0] == "run":
		err = run(ctx, e)
	case args[0] == "import-users" && len(args) == 2:
		err = importUsers(ctx, e, args[1])
	case args[0] == "exec" && len(args) >= 2:
		cmd := args[1:]
		bouncer := cmd[0] == "--pgbouncer"
		if bouncer {
			cmd = cmd[1:]
		}
		if len(cmd) > 0 && cmd[0] == "--" {
			cmd = cmd[1:]
		}
		if len(cmd) == 0 {
			fail(2, errors.New(usage))
		}
		var code int
		code, err = execWithServers(ctx, cmd, bouncer)
		if err == nil {
			os.Exit(code)
		}
	default:
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fail(1, err)
	}
}

func fail(code int, err error) {
	slog.Error("stack", "error", err)
	os.Exit(code)
}

func run(ctx context.Context, e env) error {
	s, err := localstack.Start(ctx, localstack.Options{
		Dir: e.Dir, GatewayAddr: e.GatewayAddr, MetricsAddr: e.MetricsAddr,
		DatabaseURL: e.DatabaseURL, PGPort: e.PGPort, PgBouncer: e.PgBouncer,
		MinIOEndpoint: e.MinIOEndpoint, MinIOAddr: e.MinIOAddr,
		MinIORootUser: e.MinIORootUser, MinIORootPassword: e.MinIORootPassword,
		MinIOAccessKey: e.MinIOAccessKey, MinIOSecretKey: e.MinIOSecretKey,
		Bucket: e.Bucket,
	})
	if err != nil {
		return err
	}
	slog.Info("stack started", s.Log()...)
	fmt.Printf("ready: gateway=%s postgres=%s minio=http://%s\n", s.GatewayURL, postgres.Redact(s.DatabaseURL), s.MinIOEndpoint)
	if s.MetricsURL != "" {
		fmt.Printf("metrics: scrape %s (every function; not routed through the gateway)\n", s.MetricsURL)
	}
	select {
	case <-ctx.Done():
		slog.Info("stopping")
	case err := <-s.Done():
		slog.Error("gateway stopped", "error", err)
	}
	return s.Close()
}

// importUsers loads a users.txt into the stack's database: the one in
// DATABASE_URL, else the stack's own cluster (started for the import if it
// is not running).
func importUsers(ctx context.Context, e env, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	// The stack's roles (written by its first run): the functions' for
	// the rows, the owner's for the migrations.
	url, ownerURL := e.DatabaseURL, ""
	if url == "" {
		secret := func(name string) string {
			b, _ := os.ReadFile(filepath.Join(e.Dir, "secrets", name))
			return strings.TrimSpace(string(b))
		}
		url, ownerURL = secret(config.SecretDatabaseURL), secret(config.SecretDatabaseOwnerURL)
		if url == "" {
			return errors.New("no database: run the stack once first (it creates the database and its roles), or set DATABASE_URL")
		}
	}
	pool, err := postgres.Open(ctx, url)
	if err == nil {
		err = pool.Ping(ctx)
	}
	if err != nil && e.DatabaseURL == "" {
		// The stack is not running: start its cluster for the import.
		pg, perr := devserver.StartPostgres(ctx, devserver.PostgresOptions{Dir: filepath.Join(e.Dir, "pg"), Port: e.PGPort})
		if perr != nil {
			return errors.Join(err, perr)
		}
		defer pg.Stop()
		pool, err = postgres.Open(ctx, url)
	}
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := postgres.MigrateAs(ctx, ownerURL, pool); err != nil {
		return err
	}
	results, err := account.Import(ctx, postgres.Accounts{Pool: pool}, f)
	counts := map[string]int{}
	for _, r := range results {
		counts[r.Status]++
		if r.Status == "skipped" {
			fmt.Printf("line %d: skipped: %s\n", r.Line, r.Reason)
		} else {
			fmt.Printf("line %d: %s: %s\n", r.Line, r.Username, r.Status)
		}
	}
	fmt.Printf("imported=%d exists=%d skipped=%d\n", counts["imported"], counts["exists"], counts["skipped"])
	return err
}

// execWithServers runs cmd with throwaway servers, for `make test`.
func execWithServers(ctx context.Context, cmd []string, bouncer bool) (int, error) {
	dir, err := os.MkdirTemp("", "benchwrap-test-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil { // the postgres user must enter it
		return 0, err
	}
	pg, err := devserver.StartPostgres(ctx, devserver.PostgresOptions{Dir: filepath.Join(dir, "pg"), Fast: true})
	if err != nil {
		return 0, err
	}
	defer pg.Stop()
	dbURL, extra := pg.URL, []string{}
	if bouncer {
		user, pw, err := devserver.UserFromURL(pg.URL)
		if err != nil {
			return 0, err
		}
		b, err := devserver.StartPgBouncer(ctx, devserver.PgBouncerOptions{Dir: filepath.Join(dir, "pgbouncer"), ServerPort: pg.Port, Users: map[string]string{user: pw}})
		if err != nil {
			return 0, err
		}
		defer b.Stop()
		if dbURL, err = b.ThroughPgBouncer(pg.URL); err != nil {
			return 0, err
		}
		extra = append(extra, "STACK_PGBOUNCER=1")
		slog.Info("pgbouncer", "pid", b.PID(), "port", b.Port)
	}
	root, pass := "testroot", "testroot-"+filepath.Base(dir)
	m, err := devserver.StartMinIO(ctx, devserver.MinIOOptions{Dir: filepath.Join(dir, "minio"), RootUser: root, RootPassword: pass})
	if err != nil {
		return 0, err
	}
	defer m.Stop()
	slog.Info("test servers", "postgres_pid", pg.PID(), "minio_pid", m.PID(), "minio", m.Endpoint)

	c := exec.CommandContext(ctx, cmd[0], cmd[1:]...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	c.Env = append(append(os.Environ(), extra...),
		devserver.EnvTestDatabaseURL+"="+dbURL,
		devserver.EnvTestMinIOEndpoint+"="+m.Endpoint,
		devserver.EnvTestMinIORoot+"="+root,
		devserver.EnvTestMinIORootPass+"="+pass,
	)
	err = c.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return 0, err
	}
	return 0, nil
}
