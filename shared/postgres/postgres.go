// Package postgres is the PostgreSQL adapter: connection pool, versioned
// schema migrations, and the stores the domain packages define.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

// Open connects a pool to url and checks it answers.
func Open(ctx context.Context, url string) (*pgxpool.Pool, error) {
	return OpenSized(ctx, url, 10)
}

// OpenSized is Open with at least maxConns connections (the analysis
// workers size their own pool from their count); a URL's own
// pool_max_conns wins.
func OpenSized(ctx context.Context, url string, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The parse error can quote the URL, password included.
		return nil, errors.New("database URL is not valid")
	}
	cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	// pgxpool's default (the CPU count, at least 4) is too few for the
	// functions sharing a process in the local stack.
	if !strings.Contains(url, "pool_max_conns") && cfg.MaxConns < maxConns {
		cfg.MaxConns = maxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database pool: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database %s: %w", Redact(url), err)
	}
	return pool, nil
}

// Redact returns url without its password, for logs.
func Redact(url string) string {
	cfg, err := pgconn.ParseConfig(url)
	if err != nil {
		return "(unparsable database URL)"
	}
	return fmt.Sprintf("postgres://%s@%s/%s", cfg.User, net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), cfg.Database)
}

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLock is the advisory lock key that serialises migrations when
// several functions start at once.
const migrationLock = 0x62656e6368 // "bench"

type migration struct {
	version int
	name    string // path in the embedded FS
}

// embedded lists the embedded migrations in version order.
func embedded() ([]migration, error) {
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, f := range files {
		base := strings.TrimPrefix(f, "migrations/")
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a version number", base)
		}
		ms = append(ms, migration{v, f})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// Migrate applies the embedded migrations not yet applied, in version
// order, each in its own transaction. It is safe to run concurrently and
// repeatedly. The lock is transaction-scoped (pg_advisory_xact_lock), taken
// again by each migration's transaction: no session state, so it works
// through PgBouncer in transaction pooling mode.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	ms, err := embedded()
	if err != nil {
		return err
	}
	migrator, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return fmt.Errorf("migrate queue: %w", err)
	}
	// Every process migrates when it starts: when nothing is pending (the
	// usual case), two reads say so, instead of a locked transaction per
	// migration.
	if pending, err := Pending(ctx, pool); err == nil && len(pending) == 0 {
		if have, err := migrator.ExistingVersions(ctx); err == nil && len(have) >= len(migrator.AllVersions()) {
			return nil
		}
	}
	locked := func(f func(tx pgx.Tx) error) error {
		return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLock); err != nil {
				return fmt.Errorf("lock: %w", err)
			}
			return f(tx)
		})
	}
	err = locked(func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`)
		return err
	})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, m := range ms {
		err := locked(func(tx pgx.Tx) error {
			var done bool
			if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)", m.version).Scan(&done); err != nil {
				return err
			}
			if done {
				return nil
			}
			sql, err := migrations.ReadFile(m.name)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, string(sql)); err != nil {
				return err
			}
			_, err = tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version, strings.TrimPrefix(m.name, "migrations/"))
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	// River's tables (the analysis queue), one version per transaction
	// (some must be: an enum value added, then used) under the same
	// transaction-scoped lock, so it holds through PgBouncer too.
	for {
		applied := 0
		err := locked(func(tx pgx.Tx) error {
			res, err := migrator.MigrateTx(ctx, tx, rivermigrate.DirectionUp, &rivermigrate.MigrateOpts{MaxSteps: 1})
			if res != nil {
				applied = len(res.Versions)
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate queue: %w", err)
		}
		if applied == 0 {
			break
		}
	}
	return nil
}

// Pending returns the embedded migrations the database has not applied
// (by file name), for readiness checks.
func Pending(ctx context.Context, q queryer) ([]string, error) {
	ms, err := embedded()
	if err != nil {
		return nil, err
	}
	rows, err := q.Query(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("applied migrations: %w", err)
	}
	applied, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return nil, fmt.Errorf("applied migrations: %w", err)
	}
	var pending []string
	for _, m := range ms {
		if !slices.Contains(applied, m.version) {
			pending = append(pending, strings.TrimPrefix(m.name, "migrations/"))
		}
	}
	return pending, nil
}

// isUniqueViolation reports a unique-constraint error.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
