package localstack

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/benchwrap/backend/shared/app"
	"github.com/benchwrap/backend/shared/fnhttp"
	"github.com/benchwrap/backend/shared/hdf5/gen"
	"github.com/benchwrap/backend/testkit/devserver"
	"github.com/benchwrap/backend/testkit/testenv"
)

var (
	stackOnce sync.Once
	stack     *Stack
	stackDir  string
	stackErr  error
	bucket    testenv.Bucket
)

func TestMain(m *testing.M) {
	// The test binary doubles as a deployed function's binary (see
	// TestSecurityWeakSecretsRefuseStart).
	if name := os.Getenv(envRunFunction); name != "" {
		fnhttp.Main(func() (fnhttp.Function, error) {
			a, err := app.New()
			if err != nil {
				return fnhttp.Function{}, err
			}
			return Constructors[name](a)
		})
		return
	}
	testenv.Main(m, func() {
		if stack != nil {
			_ = stack.Close()
		}
		if stackDir != "" {
			_ = os.RemoveAll(stackDir)
		}
	})
}

// testStack starts one stack for the package, as `make run` does but on
// free ports: its own PostgreSQL (so tests can stop it) and its own MinIO
// (whose notifications call this stack's analyze function). The
// functions' settings are process-wide, so there is one stack per binary.
func testStack(t testing.TB) *Stack {
	t.Helper()
	stackOnce.Do(func() {
		var dir string
		dir, stackErr = os.MkdirTemp("", "benchwrap-stack-")
		if stackErr != nil {
			return
		}
		stackDir = dir
		var port int
		if port, stackErr = devserver.FreePort(); stackErr != nil {
			return
		}
		// The end-to-end tests compare tables with the original pipeline's
		// output; the default (corrected) mode is tested end to end by
		// cmd/stack's test of the real binary.
		if stackErr = os.Setenv("ANALYZE_MODE", "compat"); stackErr != nil {
			return
		}
		// Limits small enough for the attack tests (security_test.go) to
		// hit them quickly; every other test stays far below them. The
		// benchmarks upload large profiles: they keep the defaults.
		for k, v := range stackLimits {
			if benchmarking() && (k == "MAX_UPLOAD_BYTES" || k == "USER_QUOTA_BYTES") {
				continue
			}
			if stackErr = os.Setenv(k, v); stackErr != nil {
				return
			}
		}
		// The gateway's own loopback address is the trusted proxy; tests
		// reach it from other loopback addresses as distinct clients.
		if stackErr = os.Setenv("TRUSTED_PROXIES", trustedProxy+"/32"); stackErr != nil {
			return
		}
		// Benchmarks get a durable PostgreSQL (fsync and synchronous_commit
		// on, as deployed): a rotation's figure includes its commit.
		// BENCH_POSTGRES=fast takes the tests' fsync-off cluster instead,
		// to see what the disk costs (not a figure to compare).
		durable := benchmarking() && os.Getenv("BENCH_POSTGRES") != "fast"
		var pgPort int
		if durable {
			if pgPort, stackErr = devserver.FreePort(); stackErr != nil {
				return
			}
		}
		// STACK_PGBOUNCER=1 (make test's second, focused pass) runs the
		// same tests with the functions behind PgBouncer.
		stack, stackErr = Start(context.Background(), Options{
			Dir: dir, GatewayAddr: "127.0.0.1:0", MetricsAddr: "127.0.0.1:0", FastPostgres: !durable, PGPort: pgPort,
			PgBouncer: os.Getenv("STACK_PGBOUNCER") == "1",
			MinIOAddr: fmt.Sprintf("127.0.0.1:%d", port),
		})
		if stackErr != nil {
			return
		}
		secret := func(name string) string {
			b, _ := os.ReadFile(filepath.Join(stack.SecretsDir, name))
			return string(b)
		}
		bucket = testenv.Bucket{
			MinIOServer: testenv.MinIOServer{Endpoint: stack.MinIOEndpoint, RootUser: stack.MinIORootUser, RootPassword: stack.MinIORootPassword},
			Name:        "benchwrap", AccessKey: secret("minio-access-key"), SecretKey: secret("minio-secret-key"),
		}
	})
	if stackErr != nil {
		t.Fatalf("start stack: %v", stackErr)
	}
	return stack
}

type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r reply) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.Body, err)
	}
	return m
}

func (r reply) Str(t testing.TB, field string) string {
	t.Helper()
	s, _ := r.JSON(t)[field].(string)
	return s
}

// call sends a request; body may be nil, a string, or a value to marshal.
func call(t testing.TB, method, url string, body any, header ...string) reply {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		js, _ := json.Marshal(b)
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := body.(map[string]string); ok {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	// Every exchange with the gateway is checked against openapi.json.
	if strings.HasPrefix(url, stack.GatewayURL) {
		resp, b := apiValidator(t).Do(t, http.DefaultClient, req)
		return reply{Status: resp.StatusCode, Header: resp.Header, Body: b}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

var (
	apiOnce sync.Once
	api     *testenv.APIValidator
)

func apiValidator(t testing.TB) *testenv.APIValidator {
	apiOnce.Do(func() { api = testenv.NewAPIValidator(t) })
	return api
}

func expect(t testing.TB, r reply, status int, detail string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body %s", r.Status, status, r.Body)
	}
	if detail != "" {
		if got := r.Str(t, "detail"); got != detail {
			t.Fatalf("detail %q, want %q", got, detail)
		}
	}
	if status >= 400 {
		if _, ok := r.JSON(t)["detail"]; !ok {
			t.Fatalf("error without a detail: %s", r.Body)
		}
	}
}

// register creates a user and returns its tokens.
func register(t testing.TB, base, user, password string) (access, refresh string) {
	t.Helper()
	r := call(t, "POST", base+"/auth/register", map[string]string{"username": user, "password": password})
	expect(t, r, 201, "")
	return r.Str(t, "access"), r.Str(t, "refresh")
}

// newUser registers a new user on the stack, named by prefix and a
// random part, and returns the name and its access token.
func newUser(t testing.TB, s *Stack, prefix string) (user, access string) {
	t.Helper()
	user = testenv.Name(prefix)[:12]
	access, _ = register(t, s.GatewayURL, user, "password-123")
	return user, access
}

// generated is the content of the first file gen writes for spec.
func generated(t testing.TB, spec gen.Spec) []byte {
	t.Helper()
	paths, err := gen.Write(t.TempDir(), spec)
	if err != nil {
		t.Fatal(err)
	}
	return readFile(t, paths[0])
}

// benchmarking reports whether this run was asked for benchmarks.
func benchmarking() bool {
	f := flag.Lookup("test.bench")
	return f != nil && f.Value.String() != ""
}
