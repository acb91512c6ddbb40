package testenv

import (
	"context"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/benchwrap/backend/testkit/devserver"
)

var bouncer *devserver.PgBouncer

// PgBouncerURL creates an empty, migrated database like PostgresURL and
// returns its URL through a PgBouncer in transaction pooling mode in front
// of the test server (started once per test binary, with poolSize server
// connections per database).
func PgBouncerURL(tb testing.TB, poolSize int) string {
	tb.Helper()
	direct := PostgresURL(tb)
	u, err := url.Parse(direct)
	if err != nil {
		tb.Fatal(err)
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		tb.Fatalf("test database URL has no port: %v", err)
	}
	user, pw, err := devserver.UserFromURL(direct)
	if err != nil {
		tb.Fatal(err)
	}
	mu.Lock()
	if bouncer == nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		b, err := devserver.StartPgBouncer(ctx, devserver.PgBouncerOptions{Dir: tempDir(tb, "benchwrap-pgbouncer-"), ServerPort: port, PoolSize: poolSize, Users: map[string]string{user: pw}})
		cancel()
		if err != nil {
			mu.Unlock()
			tb.Fatalf("start PgBouncer: %v", err)
		}
		bouncer = b
		started = append(started, b)
	}
	b := bouncer
	mu.Unlock()
	through, err := b.ThroughPgBouncer(direct)
	if err != nil {
		tb.Fatal(err)
	}
	return through
}
