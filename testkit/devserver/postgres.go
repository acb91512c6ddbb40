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
	server
	URL  string // postgres://postgres:PASSWORD@127.0.0.1:PORT/DB?sslmode=disable
	Port int
	// Cluster is the directory of data/ and sock/: PostgresOptions.Dir,
	// or ClusterDir's place when the server's user cannot reach that.
	Cluster  string
	password string
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
	bin, as, err := prepare(PostgresBinDir, &opts.Port)
	if err != nil {
		return nil, err
	}
	if opts.Database == "" {
		opts.Database = "benchwrap"
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, err
	}
	// The superuser's password: generated once, kept 0600 beside the
	// cluster; TCP connections must give it (scram-sha-256).
	pwPath := filepath.Join(opts.Dir, PasswordFile)
	password, fresh, err := ensurePassword(pwPath)
	if err != nil {
		return nil, err
	}
	cluster, err := clusterDir(as, opts.Dir)
	if err != nil {
		return nil, err
	}
	data, sock := filepath.Join(cluster, "data"), filepath.Join(cluster, "sock")
	// Only the server's user enters the cluster and the socket directory.
	for _, d := range []string{cluster, sock} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
		if err := os.Chmod(d, 0o700); err != nil {
			return nil, err
		}
	}
	if err := as.chown(cluster, sock); err != nil {
		return nil, fmt.Errorf("hand %s to the postgres user: %w", cluster, err)
	}
	logPath := filepath.Join(opts.Dir, "server.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	env := []string{"PATH=" + bin + ":/usr/bin:/bin", "LC_ALL=C.UTF-8"}

	upgrade := false // a cluster made before passwords: set one, then close trust
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); err != nil {
		if err := initCluster(as, logFile, env, bin, cluster, data, password); err != nil {
			return nil, fmt.Errorf("initdb %s: %w: %s", data, err, logTail(logPath))
		}
	} else if fresh {
		upgrade = true
		if err := writeHBA(as, data, "local all postgres trust\n"); err != nil {
			return nil, err
		}
	} else if err := writeHBA(as, data, hba); err != nil { // whatever was there before
		return nil, err
	}
	args := []string{"-D", data, "-c", "listen_addresses=127.0.0.1", "-p", strconv.Itoa(opts.Port), "-k", sock,
		"-c", "unix_socket_permissions=0700", "-c", "password_encryption=scram-sha-256",
		"-c", "max_connections=200", "-c", "shared_buffers=128MB"}
	if opts.Fast {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	proc, err := start(command(as, logFile, env, filepath.Join(bin, "postgres"), args...))
	if err != nil {
		return nil, err
	}
	// SIGINT: fast shut-down, sessions are cut, data is kept.
	pg := &Postgres{server: server{proc: proc, sig: syscall.SIGINT, grace: 30 * time.Second}, Port: opts.Port, Cluster: cluster, password: password,
		URL: fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/%s?sslmode=disable", password, opts.Port, opts.Database)}
	admin := fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/postgres?sslmode=disable", password, opts.Port)
	if upgrade {
		if err := pg.closeTrust(ctx, as, data, sock, logPath); err != nil {
			return nil, err
		}
	}

	err = pg.await(ctx, "postgres", logPath, 60*time.Second, func(ctx context.Context) error {
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
		return nil, err
	}
	return pg, nil
}
