package localstack

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/benchwrap/backend/shared/testenv"
)

var (
	stackOnce sync.Once
	stack     *Stack
	stackErr  error
	bucket    testenv.Bucket
)

func TestMain(m *testing.M) {
	testenv.Main(m, func() {
		if stack != nil {
			_ = stack.Close()
		}
	})
}

// testStack starts one stack for the package on the shared test servers:
// a fresh database, and a bucket with its own limited user. The functions'
// settings are process-wide, so there is one stack per test binary.
func testStack(t testing.TB) *Stack {
	t.Helper()
	stackOnce.Do(func() {
		bucket = testenv.NewBucket(t)
		dir, err := os.MkdirTemp("", "benchwrap-stack-")
		if err != nil {
			stackErr = err
			return
		}
		stack, stackErr = Start(context.Background(), Options{
			Dir: dir, GatewayAddr: "127.0.0.1:0",
			DatabaseURL:   testenv.PackagePostgresURL(t),
			MinIOEndpoint: bucket.Endpoint, MinIOAccessKey: bucket.AccessKey, MinIOSecretKey: bucket.SecretKey,
			Bucket: bucket.Name,
		})
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
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: b}
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
