package devserver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresOptions configures a throwaway cluster.
type PostgresOptions struct {
	Dir      string // cluster directory: data/, sock/, server.log
	Port     int    // 0 picks a free port
	Database string // created if missing; default "benchwrap"
	// Fast trades durability for speed (fsync off): for tests, not for a
	// stack whose data should survive a crash.
	Fast bool
}

// Postgres is a running cluster.
type Postgres struct {
	proc *Proc
	URL  string // postgres://postgres@127.0.0.1:PORT/DB?sslmode=disable
	Port int
}

// PostgresBinDir finds the server binaries: $PG_BIN, else the newest
// /usr/lib/postgresql/*/bin.
func PostgresBinDir() (string, error) {
	if d := os.Getenv("PG_BIN"); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi < vj
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i], nil
		}
	}
	return "", fmt.Errorf("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin; set PG_BIN")
}

// StartPostgres initialises the cluster in opts.Dir if needed and starts it.
func StartPostgres(ctx context.Context, opts PostgresOptions) (*Postgres, error) {
	bin, err := PostgresBinDir()
	if err != nil {
		return nil, err
	}
	as, err := postgresUser()
	if err != nil {
		return nil, err
	}
	if opts.Database == "" {
		opts.Database = "benchwrap"
	}
	if opts.Port == 0 {
		if opts.Port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	data, sock := filepath.Join(opts.Dir, "data"), filepath.Join(opts.Dir, "sock")
	for _, d := range []string{opts.Dir, sock} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
		// The server user must be able to enter every directory it uses.
		if err := os.Chmod(d, 0o755); err != nil {
			return nil, err
		}
	}
	if err := as.chown(opts.Dir, sock); err != nil {
		return nil, fmt.Errorf("hand %s to the postgres user: %w", opts.Dir, err)
	}
	logPath := filepath.Join(opts.Dir, "server.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	if err := as.chown(logPath); err != nil {
		return nil, err
	}
	env := []string{"PATH=" + bin + ":/usr/bin:/bin", "LC_ALL=C.UTF-8"}

	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); err != nil {
		initdb := command(as, logFile, env, filepath.Join(bin, "initdb"),
			"-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
		if err := initdb.Run(); err != nil {
			return nil, fmt.Errorf("initdb %s: %w: %s", data, err, logTail(logPath))
		}
	}
	args := []string{"-D", data, "-c", "listen_addresses=127.0.0.1", "-p", strconv.Itoa(opts.Port), "-k", sock,
		"-c", "max_connections=200", "-c", "shared_buffers=128MB"}
	if opts.Fast {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	proc, err := start(command(as, logFile, env, filepath.Join(bin, "postgres"), args...))
	if err != nil {
		return nil, err
	}
	pg := &Postgres{proc: proc, Port: opts.Port,
		URL: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", opts.Port, opts.Database)}
	admin := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", opts.Port)

	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	err = waitFor(wctx, proc, "postgres", logPath, func(ctx context.Context) error {
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		var exists bool
		if err := c.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", opts.Database).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			_, err = c.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{opts.Database}.Sanitize())
		}
		return err
	})
	if err != nil {
		_ = pg.Stop()
		return nil, err
	}
	return pg, nil
}

// PID is the server's process id.
func (p *Postgres) PID() int { return p.proc.PID() }

// Stop shuts the server down (fast mode: sessions are cut, data is kept).
func (p *Postgres) Stop() error { return p.proc.Stop(syscall.SIGINT, 30*time.Second) }
