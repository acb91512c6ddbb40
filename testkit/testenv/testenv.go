// Package testenv gives integration tests real servers: a PostgreSQL
// database and a MinIO bucket of their own. `make test` starts one server
// of each for the whole run (bin/stack exec) and passes them in
// BENCHWRAP_TEST_* variables; without those, the first test that asks
// starts throwaway servers for its test binary, stopped by Main.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/benchwrap/backend/shared/postgres"
	"github.com/benchwrap/backend/testkit/devserver"
)

var (
	mu      sync.Mutex
	started []interface{ Stop() error }
	dirs    []string
	pgURL   string
	minioS  *MinIOServer
	drops   []func()
)

// Main runs the tests of a package, then the given clean-ups, then stops
// the servers its binary started. Use it from TestMain:
// func TestMain(m *testing.M) { testenv.Main(m) }.
func Main(m *testing.M, cleanups ...func()) {
	code := m.Run()
	for _, c := range cleanups {
		c()
	}
	mu.Lock()
	for _, d := range drops {
		d()
	}
	for i := len(started) - 1; i >= 0; i-- {
		_ = started[i].Stop()
	}
	for _, d := range dirs {
		_ = os.RemoveAll(d)
	}
	mu.Unlock()
	os.Exit(code)
}

func tempDir(tb testing.TB, prefix string) string {
	d, err := os.MkdirTemp("", prefix)
	if err != nil {
		tb.Fatal(err)
	}
	dirs = append(dirs, d)
	return d
}

// serverURL returns the URL of the shared PostgreSQL server's default
// database.
func serverURL(tb testing.TB) string {
	tb.Helper()
	mu.Lock()
	defer mu.Unlock()
	if pgURL != "" {
		return pgURL
	}
	if u := os.Getenv(devserver.EnvTestDatabaseURL); u != "" {
		pgURL = u
		return pgURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pg, err := devserver.StartPostgres(ctx, devserver.PostgresOptions{Dir: tempDir(tb, "benchwrap-pg-"), Fast: true})
	if err != nil {
		tb.Fatalf("start PostgreSQL for tests: %v", err)
	}
	started = append(started, pg)
	pgURL = pg.URL
	return pgURL
}

// Name returns a fresh lower-case identifier with the given prefix.
func Name(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// PostgresURL creates an empty, migrated database for the test and
// returns its URL. The database is dropped when the test ends.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	url, drop := newDatabase(tb)
	tb.Cleanup(drop)
	return url
}

// PackagePostgresURL is PostgresURL for a database that lives until Main
// returns, for fixtures shared by the tests of a package.
func PackagePostgresURL(tb testing.TB) string {
	tb.Helper()
	url, drop := newDatabase(tb)
	mu.Lock()
	drops = append(drops, drop)
	mu.Unlock()
	return url
}

func newDatabase(tb testing.TB) (string, func()) {
	tb.Helper()
	base := serverURL(tb)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("connect to test PostgreSQL: %v", err)
	}
	defer admin.Close(ctx)
	name := Name("test_")
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("create database: %v", err)
	}
	drop := func() {
		c, err := pgx.Connect(ctx, base)
		if err == nil {
			_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(ctx)
		}
	}
	url := replaceDatabase(base, name)
	pool, err := postgres.Open(ctx, url)
	if err != nil {
		tb.Fatal(err)
	}
	defer pool.Close()
	if err := postgres.Migrate(ctx, pool); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	return url, drop
}

// replaceDatabase swaps the database name in a postgres:// URL.
func replaceDatabase(url, db string) string {
	q := ""
	if i := strings.IndexByte(url, '?'); i >= 0 {
		url, q = url[:i], url[i:]
	}
	return url[:strings.LastIndexByte(url, '/')+1] + db + q
}

// MinIOServer is the shared test MinIO server.
type MinIOServer struct {
	Endpoint     string
	RootUser     string
	RootPassword string
}

// MinIO returns the shared MinIO server, starting it if needed.
func MinIO(tb testing.TB) MinIOServer {
	tb.Helper()
	mu.Lock()
	defer mu.Unlock()
	if minioS != nil {
		return *minioS
	}
	if ep := os.Getenv(devserver.EnvTestMinIOEndpoint); ep != "" {
		minioS = &MinIOServer{Endpoint: ep, RootUser: os.Getenv(devserver.EnvTestMinIORoot), RootPassword: os.Getenv(devserver.EnvTestMinIORootPass)}
		return *minioS
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := MinIOServer{RootUser: "testroot", RootPassword: Name("pw")}
	m, err := devserver.StartMinIO(ctx, devserver.MinIOOptions{Dir: tempDir(tb, "benchwrap-minio-"), RootUser: s.RootUser, RootPassword: s.RootPassword})
	if err != nil {
		tb.Fatalf("start MinIO for tests: %v", err)
	}
	started = append(started, m)
	s.Endpoint = m.Endpoint
	minioS = &s
	return s
}

// Bucket is a bucket of the test's own, with a user limited to it.
type Bucket struct {
	MinIOServer
	Name      string
	AccessKey string
	SecretKey string
}

// NewBucket creates a bucket and a user whose policy allows only it.
func NewBucket(tb testing.TB) Bucket {
	tb.Helper()
	s := MinIO(tb)
	b := Bucket{MinIOServer: s, Name: Name("test-"), AccessKey: Name("u"), SecretKey: Name("secret-") + Name("") + Name("")}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := devserver.ProvisionBucket(ctx, s.Endpoint, s.RootUser, s.RootPassword, b.Name, devserver.BucketUser{AccessKey: b.AccessKey, SecretKey: b.SecretKey}); err != nil {
		tb.Fatalf("provision bucket: %v", err)
	}
	return b
}

// Root returns a client with root credentials (for checks the functions'
// user must not be able to do).
func (s MinIOServer) Root(tb testing.TB) *minio.Client {
	tb.Helper()
	return s.client(tb, s.RootUser, s.RootPassword)
}

// Client returns a client with the bucket user's credentials.
func (b Bucket) Client(tb testing.TB) *minio.Client {
	tb.Helper()
	return b.client(tb, b.AccessKey, b.SecretKey)
}

func (s MinIOServer) client(tb testing.TB, accessKey, secretKey string) *minio.Client {
	tb.Helper()
	c, err := minio.New(s.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(accessKey, secretKey, ""), Region: "us-east-1"})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// String avoids printing credentials in test logs.
func (s MinIOServer) String() string { return fmt.Sprintf("minio(%s)", s.Endpoint) }

// FunctionEnv points the functions' configuration (package app) at test
// servers: a fresh database, a fresh bucket with its own user, a JWT
// secret, and an empty secrets directory so only the environment counts.
// The variables are process-wide: call it once per test binary, before
// building the app (app.New, fnhttptest.App) the tests use.
func FunctionEnv(tb testing.TB) Bucket {
	tb.Helper()
	b := NewBucket(tb)
	mu.Lock()
	empty := tempDir(tb, "benchwrap-secrets-")
	mu.Unlock()
	for k, v := range map[string]string{
		"SECRETS_DIR":      empty,
		"DATABASE_URL":     PackagePostgresURL(tb),
		"JWT_SECRET":       Name("jwt-secret-for-tests-") + Name(""),
		"WEBHOOK_TOKEN":    Name("webhook-") + Name("") + Name(""),
		"MINIO_ENDPOINT":   b.Endpoint,
		"MINIO_BUCKET":     b.Name,
		"MINIO_ACCESS_KEY": b.AccessKey,
		"MINIO_SECRET_KEY": b.SecretKey,
	} {
		if err := os.Setenv(k, v); err != nil {
			tb.Fatal(err)
		}
	}
	return b
}
