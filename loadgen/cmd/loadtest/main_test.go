package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benchwrap/backend/loadgen/fakeapi"
	"github.com/benchwrap/backend/loadgen/report"
)

func noEnv(string) string { return "" }

func TestParseArgs(t *testing.T) {
	dir := t.TempDir()
	bodyFile := filepath.Join(dir, "body.json")
	os.WriteFile(bodyFile, []byte(`{"x":1}`), 0o644)

	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(t *testing.T, c *config)
	}{
		{"original defaults", []string{"http://h:8000"}, nil, func(t *testing.T, c *config) {
			if c.requests != 1_000_000 || c.concurrency != 1000 || c.processes != 4 || c.workersPerG != 250 ||
				c.timeout != 2*time.Second || c.method != "GET" || c.http2 || c.url.String() != "http://h:8000" ||
				!c.ok.Has(200) || c.ok.Has(201) {
				t.Errorf("%+v", c)
			}
		}},
		{"all positionals, flag last", []string{"http://h/x?y=1", "10000", "200", "3", "0.5", "--http2"}, nil, func(t *testing.T, c *config) {
			if c.requests != 10000 || c.concurrency != 200 || c.processes != 3 || c.workersPerG != 66 ||
				c.timeout != 500*time.Millisecond || !c.http2 {
				t.Errorf("%+v", c)
			}
		}},
		{"conc below procs gives one worker", []string{"http://h", "10", "1", "4"}, nil, func(t *testing.T, c *config) {
			if c.workersPerG != 1 {
				t.Errorf("conc/proc %d", c.workersPerG)
			}
		}},
		{"HTTP2 env", []string{"http://h"}, map[string]string{"HTTP2": "1"}, func(t *testing.T, c *config) {
			if !c.http2 {
				t.Error("HTTP2=1 ignored")
			}
		}},
		{"flags mixed in", []string{"-H", "X-A: 1", "http://h", "--ok", "200,201", "-H", "X-B:2", "-c", "8", "-t", "750ms"}, nil, func(t *testing.T, c *config) {
			if c.header.Get("X-A") != "1" || c.header.Get("X-B") != "2" || !c.ok.Has(201) || c.concurrency != 8 ||
				c.timeout != 750*time.Millisecond {
				t.Errorf("%+v", c)
			}
		}},
		{"data from file implies POST", []string{"http://h", "-d", "@" + bodyFile}, nil, func(t *testing.T, c *config) {
			if c.method != "POST" || string(c.body) != `{"x":1}` {
				t.Errorf("method %s body %q", c.method, c.body)
			}
		}},
		{"explicit method wins", []string{"http://h", "-m", "put", "--data", "abc"}, nil, func(t *testing.T, c *config) {
			if c.method != "PUT" || string(c.body) != "abc" {
				t.Errorf("method %s body %q", c.method, c.body)
			}
		}},
		{"duration without REQUESTS has no request limit", []string{"http://h", "--duration", "5s"}, nil, func(t *testing.T, c *config) {
			if c.requests != 0 || c.duration != 5*time.Second {
				t.Errorf("requests %d duration %v", c.requests, c.duration)
			}
		}},
		{"duration with REQUESTS keeps both", []string{"http://h", "500", "--duration", "5s"}, nil, func(t *testing.T, c *config) {
			if c.requests != 500 {
				t.Errorf("requests %d", c.requests)
			}
		}},
		{"double dash", []string{"--rate", "100", "--", "http://h", "20"}, nil, func(t *testing.T, c *config) {
			if c.rate != 100 || c.requests != 20 {
				t.Errorf("rate %v requests %d", c.rate, c.requests)
			}
		}},
		{"scenario defaults", []string{"--scenario", "auth", "http://h/api"}, nil, func(t *testing.T, c *config) {
			if c.concurrency != 10 || c.duration != time.Minute || c.timeout != 30*time.Second || c.requests != 0 {
				t.Errorf("%+v", c)
			}
		}},
		{"scenario with VUs and iterations", []string{"--scenario", "upload", "http://h", "100", "7", "--users", "3"}, nil, func(t *testing.T, c *config) {
			if c.concurrency != 7 || c.requests != 100 || c.duration != 0 || c.users != 3 {
				t.Errorf("%+v", c)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) string { return tc.env[k] }
			c, err := parseArgs(tc.args, getenv, 4, strings.NewReader(""))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestParseArgsErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"not a url"},
		{"ftp://h/"},
		{"http://h", "1", "2", "3", "4", "5"},
		{"http://h", "abc"},
		{"http://h", "10", "0"},
		{"http://h", "10", "5", "0"},
		{"http://h", "10", "5", "1", "-2"},
		{"http://h", "0"},
		{"http://h", "10", "-n", "20"},
		{"http://h", "--ok", "abc"},
		{"http://h", "--engine", "curl"},
		{"http://h", "--engine", "fast", "--http2"},
		{"http://h", "-H", "novalue"},
		{"http://h", "--bogus"},
		{"http://h", "--scenario", "browse"},
		{"http://h", "--scenario", "auth", "--rate", "5"},
	} {
		_, err := parseArgs(args, noEnv, 2, strings.NewReader(""))
		var u errUsage
		if !errors.As(err, &u) {
			t.Errorf("%q: err %v, want a usage error", args, err)
		}
	}
	if _, err := parseArgs([]string{"--help"}, noEnv, 2, nil); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help: %v", err)
	}
}

func runCLI(t *testing.T, args []string, tty bool) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, env{stdout: &out, stderr: &errb, stdin: strings.NewReader(""),
		getenv: noEnv, numCPU: 2, tty: tty})
	return out.String(), errb.String(), code
}

var doneRE = regexp.MustCompile(`^done: (\d+) in \d+\.\d\ds, rps=\d+\.\d, ok=(\d+), fail=(\d+), procs=(\d+), conc/proc=(\d+)$`)

func TestCompatibleOutput(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1)%10 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()

	stdout, stderr, code := runCLI(t, []string{srv.URL, "200", "6", "3"}, false)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d stderr %q", code, stderr)
	}
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	m := doneRE.FindStringSubmatch(lines[len(lines)-1])
	if m == nil {
		t.Fatalf("last line %q does not match the original's format", lines[len(lines)-1])
	}
	if m[1] != "200" || m[2] != "180" || m[3] != "20" || m[4] != "3" || m[5] != "2" {
		t.Errorf("done line %q", m[0])
	}
	if hits.Load() != 200 {
		t.Errorf("server saw %d requests", hits.Load())
	}

	// -q prints the done line alone.
	stdout, _, _ = runCLI(t, []string{srv.URL, "20", "2", "-q"}, false)
	if !doneRE.MatchString(strings.TrimSpace(stdout)) || strings.Count(stdout, "\n") != 1 {
		t.Errorf("quiet output %q", stdout)
	}

	// --json is one JSON document that also carries the done line.
	stdout, _, _ = runCLI(t, []string{srv.URL, "20", "2", "--json", "--ok", "2xx,503"}, false)
	var rep report.Run
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("JSON: %v\n%s", err, stdout)
	}
	if rep.Requests != 20 || rep.OK != 20 || !doneRE.MatchString(rep.Done) || rep.Protocol != "HTTP/1.1" {
		t.Errorf("JSON report %+v", rep)
	}
}

func TestRequestShapeFromFlags(t *testing.T) {
	type seen struct{ method, uri, ctype, body string }
	got := make(chan seen, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.RequestURI, r.Header.Get("Content-Type"), string(b)}
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	_, _, code := runCLI(t, []string{srv.URL + "/p%2Fq?a=1&b", "3", "1", "1", "-d", `{"k":"v"}`,
		"-H", "Content-Type: application/json", "--ok", "201", "-q"}, false)
	if code != 0 {
		t.Fatal(code)
	}
	for i := 0; i < 3; i++ {
		s := <-got
		if s != (seen{"POST", "/p%2Fq?a=1&b", "application/json", `{"k":"v"}`}) {
			t.Errorf("request %d: %+v", i, s)
		}
	}
}

func TestProgressOnTerminalOnly(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	args := []string{srv.URL, "0", "--duration", "1200ms", "-q", "--rate", "50"}
	_, stderr, _ := runCLI(t, args, true)
	if !strings.Contains(stderr, "\r") || !strings.Contains(stderr, "req/s") {
		t.Errorf("no progress line on a terminal: %q", stderr)
	}
	_, stderr, _ = runCLI(t, args, false)
	if stderr != "" {
		t.Errorf("progress written to a non-terminal: %q", stderr)
	}
	_, stderr, _ = runCLI(t, append(args, "--no-progress"), true)
	if stderr != "" {
		t.Errorf("--no-progress ignored: %q", stderr)
	}
}

func TestScenarioCLI(t *testing.T) {
	fake := fakeapi.New("/api")
	srv := fake.Start()
	defer srv.Close()
	stdout, stderr, code := runCLI(t, []string{"--scenario", "upload", srv.URL + "/api", "--duration", "500ms",
		"-c", "4", "--users", "2"}, false)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"scenario upload", "register", "login", "refresh", "presign", "put", "list", "p99 ms"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if m := doneRE.FindStringSubmatch(lines[len(lines)-1]); m == nil || m[3] != "0" {
		t.Errorf("last line %q", lines[len(lines)-1])
	}

	// A failing endpoint makes the exit status 1.
	fake.FailEvery["presign"] = 2
	stdout, _, code = runCLI(t, []string{"--scenario", "auth", srv.URL + "/api", "8", "2", "--json"}, false)
	var rep report.Scenario
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if code != 1 || rep.Iterations != 8 || rep.Fail != 4 || rep.FailedIters != 4 {
		t.Errorf("exit %d, report %+v", code, rep)
	}
}

func TestServeSubcommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"serve", "-addr", "127.0.0.1:0", "-status", "202", "-body", "hello"},
			env{stdout: pw, stderr: io.Discard, getenv: noEnv, numCPU: 1})
	}()
	url, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(strings.TrimSpace(url))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 202 || string(b) != "hello" {
		t.Errorf("status %d body %q", resp.StatusCode, b)
	}
	// h2c with prior knowledge, through the tool itself.
	stdout, _, _ := runCLI(t, []string{strings.TrimSpace(url), "20", "4", "--http2", "--ok", "202", "--json"}, false)
	var rep report.Run
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || rep.OK != 20 || rep.Protocol != "HTTP/2.0" {
		t.Errorf("h2c run: %v %+v", err, rep)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exit %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func TestHelp(t *testing.T) {
	stdout, _, code := runCLI(t, []string{"--help"}, false)
	if code != 0 || !strings.Contains(stdout, "goroutine groups") || !strings.Contains(stdout, "--scenario auth") ||
		strings.Contains(stdout, "%!") {
		t.Errorf("exit %d help:\n%s", code, stdout)
	}
	_, stderr, code := runCLI(t, []string{"http://h", "x"}, false)
	if code != 2 || !strings.Contains(stderr, "REQUESTS") {
		t.Errorf("usage error: exit %d %q", code, stderr)
	}
}

func TestInterruptExitStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var out bytes.Buffer
	code := run(ctx, []string{srv.URL, "0", "4", "--duration", "30s"},
		env{stdout: &out, stderr: io.Discard, getenv: noEnv, numCPU: 2})
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if code != exitInterrupted || !strings.Contains(out.String(), "interrupted") || !doneRE.MatchString(lines[len(lines)-1]) {
		t.Errorf("exit %d, output:\n%s", code, out.String())
	}
}
