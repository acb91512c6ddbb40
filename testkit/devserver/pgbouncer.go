package devserver

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// PgBouncerOptions configures a PgBouncer in front of a cluster.
type PgBouncerOptions struct {
	Dir        string // pgbouncer.ini, userlist.txt, pgbouncer.log
	Port       int    // 0 picks a free port
	ServerPort int    // the PostgreSQL cluster's port on 127.0.0.1
	// PoolSize is default_pool_size: server connections per database and
	// user; default 20.
	PoolSize int
	// Users are the roles clients may log in as, with their passwords:
	// clients authenticate to PgBouncer with SCRAM, and PgBouncer logs in
	// to the cluster (scram-sha-256 only) with the same password. The
	// readiness probe logs in as "postgres", which must be present.
	Users map[string]string
}

// PgBouncer is a running PgBouncer in transaction pooling mode.
type PgBouncer struct {
	server
	Port int
}

// PgBouncerQueryMode is the pgx statement mode for PgBouncer 1.18 in
// transaction pooling mode: PgBouncer before 1.21 cannot keep named
// prepared statements across transactions; cache_describe uses unnamed
// statements only and still caches their descriptions.
const PgBouncerQueryMode = "cache_describe"

// ThroughPgBouncer rewrites a database URL of the cluster behind b to go
// through b, with the statement mode PgBouncer accepts.
func (b *PgBouncer) ThroughPgBouncer(dbURL string) (string, error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return "", fmt.Errorf("database URL is not valid")
	}
	u.Host = "127.0.0.1:" + strconv.Itoa(b.Port)
	q := u.Query()
	q.Set("default_query_exec_mode", PgBouncerQueryMode)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// PgBouncerBinary finds pgbouncer: $PGBOUNCER_BIN, else on PATH or in
// /usr/sbin (Debian's package).
func PgBouncerBinary() (string, error) {
	if b := os.Getenv("PGBOUNCER_BIN"); b != "" {
		return b, nil
	}
	if b, err := exec.LookPath("pgbouncer"); err == nil {
		return b, nil
	}
	if _, err := os.Stat("/usr/sbin/pgbouncer"); err == nil {
		return "/usr/sbin/pgbouncer", nil
	}
	return "", fmt.Errorf("pgbouncer not found: apt-get install pgbouncer (cmd/scripts/deps.sh), or set PGBOUNCER_BIN")
}

// StartPgBouncer starts PgBouncer in transaction pooling mode in front of
// the cluster on 127.0.0.1:opts.ServerPort, for every database and the
// roles in opts.Users, with password (SCRAM) logins only, as the cluster
// has. It runs as the cluster's user: PgBouncer refuses to run as root.
func StartPgBouncer(ctx context.Context, opts PgBouncerOptions) (*PgBouncer, error) {
	bin, as, err := prepare(PgBouncerBinary, &opts.Port)
	if err != nil {
		return nil, err
	}
	superPW, ok := opts.Users["postgres"]
	if !ok {
		return nil, fmt.Errorf("pgbouncer: Users must include postgres (the readiness probe's role)")
	}
	if opts.PoolSize == 0 {
		opts.PoolSize = 20
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.Chmod(opts.Dir, 0o755); err != nil {
		return nil, err
	}
	logPath := filepath.Join(opts.Dir, "pgbouncer.log")
	ini := fmt.Sprintf(`; written by devserver.StartPgBouncer
[databases]
* = host=127.0.0.1 port=%d

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
pidfile =
auth_type = scram-sha-256
auth_file = %s
admin_users = postgres
pool_mode = transaction
default_pool_size = %d
max_client_conn = 1000
server_reset_query =
; the tests restart PostgreSQL under it: retry logins soon
server_login_retry = 1
ignore_startup_parameters = extra_float_digits
`, opts.ServerPort, opts.Port, filepath.Join(opts.Dir, "userlist.txt"), opts.PoolSize)
	var users strings.Builder
	for _, name := range slices.Sorted(maps.Keys(opts.Users)) {
		fmt.Fprintf(&users, "%s %s\n", pgbQuote(name), pgbQuote(opts.Users[name]))
	}
	// Both hold passwords: readable by PgBouncer's user only.
	files := map[string]string{"pgbouncer.ini": ini, "userlist.txt": users.String()}
	for name, body := range files {
		p := filepath.Join(opts.Dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			return nil, err
		}
		if err := as.chown(p); err != nil {
			return nil, err
		}
	}
	proc, err := launch(as, logPath, 0o644, []string{"PATH=/usr/sbin:/usr/bin:/bin"}, bin, filepath.Join(opts.Dir, "pgbouncer.ini"))
	if err != nil {
		return nil, err
	}
	b := &PgBouncer{server: server{proc: proc, sig: syscall.SIGINT, grace: 10 * time.Second}, Port: opts.Port}
	probe := fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/postgres?sslmode=disable&default_query_exec_mode=%s", url.QueryEscape(superPW), opts.Port, PgBouncerQueryMode)
	err = b.await(ctx, "pgbouncer", logPath, 30*time.Second, func(ctx context.Context) error {
		c, err := pgx.Connect(ctx, probe)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		_, err = c.Exec(ctx, "SELECT 1")
		return err
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// pgbQuote quotes a userlist.txt field: double quotes, doubled inside.
func pgbQuote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// UserFromURL returns the role and password a database URL logs in with,
// for PgBouncerOptions.Users.
func UserFromURL(dbURL string) (name, password string, err error) {
	u, err := url.Parse(dbURL)
	if err != nil || u.User == nil {
		return "", "", fmt.Errorf("database URL has no user")
	}
	pw, _ := u.User.Password()
	return u.User.Username(), pw, nil
}
