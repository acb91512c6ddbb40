package scenario

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/benchwrap/backend/loadgen/fakeapi"
)

func base(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func endpoint(res *Result, s Step) (int64, int64) {
	for _, e := range res.Endpoints {
		if e.Step == s {
			return e.Stats.Count, e.Stats.Fail()
		}
	}
	return -1, -1
}

func TestScenarios(t *testing.T) {
	tests := []struct {
		name   string
		prefix string // where the fake API is mounted
		cfg    Config
		steps  []Step
	}{
		{name: "auth under /api", prefix: "/api", cfg: Config{Name: Auth, VUs: 8, Users: 3},
			steps: []Step{Register, Login, Refresh, Presign, List}},
		{name: "auth at root, legacy routes", cfg: Config{Name: Auth, VUs: 4, Legacy: true},
			steps: []Step{Register, Login, Refresh, Presign, List}},
		{name: "upload", prefix: "/api/", cfg: Config{Name: Upload, VUs: 6, Users: 2, Objects: 2, UploadSize: 1000},
			steps: []Step{Register, Login, Refresh, Presign, Put, List}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := fakeapi.New(strings.TrimSuffix(tc.prefix, "/"))
			srv := fake.Start()
			defer srv.Close()
			cfg := tc.cfg
			cfg.Base = base(t, srv.URL+tc.prefix)
			cfg.Groups = 2
			cfg.Duration = 700 * time.Millisecond
			cfg.Timeout = 5 * time.Second
			r, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			res, err := r.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			users := cfg.Users
			if users == 0 {
				users = cfg.VUs
			}
			if got := fake.Users(); len(got) != users || res.Users != users {
				t.Fatalf("registered %v, want %d users", got, users)
			}
			for _, u := range fake.Users() {
				if !strings.HasPrefix(u, res.Prefix) || len(u) < 5 || len(u) > 20 {
					t.Errorf("username %q (prefix %q)", u, res.Prefix)
				}
			}
			if len(res.Endpoints) != len(tc.steps) {
				t.Fatalf("endpoints %v, want steps %v", res.Endpoints, tc.steps)
			}
			if res.Iterations < int64(cfg.VUs) || res.Failed != 0 {
				t.Errorf("iterations %d failed %d", res.Iterations, res.Failed)
			}
			for i, e := range res.Endpoints {
				if e.Step != tc.steps[i] {
					t.Errorf("endpoint %d is %v, want %v", i, e.Step, tc.steps[i])
				}
				want := res.Iterations
				if e.Step == Register {
					want = int64(users)
				}
				if e.Stats.Count != want || e.Stats.Fail() != 0 || e.Stats.Latency.Count() != uint64(want) {
					t.Errorf("%v: count %d fail %d (status %v errors %v samples %v), want %d ok",
						e.Step, e.Stats.Count, e.Stats.Fail(), e.Stats.Status, e.Stats.Errors, e.Stats.Samples, want)
				}
			}
			fake.Lock()
			reuses, hits := fake.Reuses, fake.Hits["refresh"]
			fake.Unlock()
			if reuses != 0 || int64(hits) != res.Iterations {
				t.Errorf("refresh tokens reused %d times; %d refreshes for %d iterations", reuses, hits, res.Iterations)
			}
			if cfg.Name == Upload {
				objs := fake.Objects()
				if len(objs) == 0 || len(objs) > cfg.VUs*cfg.Objects {
					t.Errorf("%d objects stored, want 1..%d", len(objs), cfg.VUs*cfg.Objects)
				}
				for k, v := range objs {
					if len(v) != 1000 || !bytes.HasPrefix(v, []byte(HDF5Signature)) || !strings.HasSuffix(k, ".h5") {
						t.Errorf("object %s: %d bytes %q...", k, len(v), v[:8])
					}
				}
			}
		})
	}
}

func TestScenarioReportsFailures(t *testing.T) {
	fake := fakeapi.New("")
	fake.FailEvery["list"] = 3
	srv := fake.Start()
	defer srv.Close()
	r, err := New(Config{Base: base(t, srv.URL), Name: Auth, VUs: 3, Iterations: 30, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Iterations != 30 || res.Failed != 10 {
		t.Errorf("iterations %d failed %d, want 30 and 10", res.Iterations, res.Failed)
	}
	n, fail := endpoint(res, List)
	if n != 30 || fail != 10 {
		t.Errorf("list count %d fail %d", n, fail)
	}
	for _, e := range res.Endpoints {
		if e.Step == List && !strings.Contains(e.Stats.Samples["status 500"], "injected failure") {
			t.Errorf("samples %v", e.Stats.Samples)
		}
	}
	if n, fail := endpoint(res, Login); n != 30 || fail != 0 {
		t.Errorf("login count %d fail %d", n, fail)
	}
}

func TestRegistrationConflict(t *testing.T) {
	fake := fakeapi.New("")
	srv := fake.Start()
	defer srv.Close()
	cfg := Config{Base: base(t, srv.URL), Name: Auth, VUs: 2, Iterations: 4, Timeout: 5 * time.Second,
		Prefix: "fixed_", Password: "a-long-password"}
	for i, reuse := range []bool{false, false, true} {
		cfg.ReuseUsers = reuse
		r, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		res, err := r.Run(context.Background())
		switch {
		case i == 0 && err != nil:
			t.Fatalf("first run: %v", err)
		case i == 1 && !errors.Is(err, ErrRegistration):
			t.Fatalf("second run without reuse: err %v, want ErrRegistration", err)
		case i == 2 && err != nil:
			t.Fatalf("reuse run: %v", err)
		case i == 2:
			if _, fail := endpoint(res, Login); fail != 0 {
				t.Errorf("logins failed with reused users")
			}
		}
	}
}

func TestRedactAndPayload(t *testing.T) {
	u, _ := url.Parse("http://h/api/auth/password?u=x&p=secret")
	if s := redact(u); strings.Contains(s, "secret") {
		t.Errorf("redact kept the query: %s", s)
	}
	for _, size := range []int{8, 9, 4096} {
		p := Payload(size)
		if len(p) != size || !bytes.HasPrefix(p, []byte(HDF5Signature)) {
			t.Errorf("Payload(%d): %d bytes %q", size, len(p), p[:8])
		}
	}
}

func TestConfigValidation(t *testing.T) {
	b := base(t, "http://127.0.0.1:1")
	bad := []Config{
		{Base: b, Name: "browse", VUs: 1, Duration: time.Second, Timeout: time.Second},
		{Base: base(t, "ftp://x"), Name: Auth, VUs: 1, Duration: time.Second, Timeout: time.Second},
		{Base: b, Name: Auth, VUs: 0, Duration: time.Second, Timeout: time.Second},
		{Base: b, Name: Auth, VUs: 1, Timeout: time.Second},
		{Base: b, Name: Auth, VUs: 1, Duration: time.Second, Timeout: time.Second, Prefix: "much_too_long_prefix_"},
		{Base: b, Name: Auth, VUs: 1, Duration: time.Second, Timeout: time.Second, Prefix: "bad/prefix"},
		{Base: b, Name: Auth, VUs: 1, Duration: time.Second, Timeout: time.Second, Password: "short"},
	}
	for i, c := range bad {
		if _, err := New(c); err == nil {
			t.Errorf("case %d: want error", i)
		}
	}
}
