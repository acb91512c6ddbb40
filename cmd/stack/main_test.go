package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/benchwrap/backend/testkit/devserver"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
	buildDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// buildStack compiles this command, as `make build` does, once for the
// package's tests.
func buildStack(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "benchwrap-stackbin-"); buildErr != nil {
			return
		}
		// Others (the normal-user test) must be able to run it.
		if buildErr = os.Chmod(buildDir, 0o755); buildErr != nil {
			return
		}
		builtBin = filepath.Join(buildDir, "stack")
		out, err := exec.Command("go", "build", "-o", builtBin, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

type proc struct {
	cmd   *exec.Cmd
	ready string
}

// startStack runs the binary and waits for its "ready:" line.
func startStack(t *testing.T, bin string, env []string) *proc {
	t.Helper()
	return startStackCmd(t, exec.Command(bin), env, "", nil)
}

// startStackCmd starts cmd in dir (when set), as the given user (when
// set), and waits for its "ready:" line.
func startStackCmd(t *testing.T, cmd *exec.Cmd, env []string, dir string, as *syscall.Credential) *proc {
	t.Helper()
	cmd.Env = env
	cmd.Dir = dir
	if as != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: as}
	}
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	timeout := time.After(2 * time.Minute)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("stack exited before ready: %s", stderr.String())
			}
			if strings.HasPrefix(l, "ready: ") {
				// The stack's log explains a later failure of the test.
				t.Cleanup(func() {
					if t.Failed() {
						log := stderr.String()
						t.Logf("stack log (last 8 KiB): %s", log[max(0, len(log)-8192):])
					}
				})
				go func() {
					for range lines {
					}
				}()
				return &proc{cmd: cmd, ready: l}
			}
		case <-timeout:
			_ = cmd.Process.Kill()
			t.Fatalf("no ready line within 2 minutes: %s", stderr.String())
		}
	}
}

func (p *proc) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("stack exit: %v", err)
		}
	case <-time.After(time.Minute):
		_ = p.cmd.Process.Kill()
		t.Fatal("stack did not stop on SIGTERM")
	}
}

func post(t *testing.T, url string, body any) (int, map[string]string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	resp, err := http.Post(url, "application/json", rd)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// authed sends a request without a body as the holder of access.
func authed(t *testing.T, method, url, access string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// TestRestartKeepsAccounts runs `stack` as `make run` does, stops it with
// SIGTERM, imports a users.txt, starts it again: users and refresh tokens
// survive (the original kept refresh tokens in memory only).
func TestRestartKeepsAccounts(t *testing.T) {
	if _, err := devserver.MinIOBinary(); err != nil {
		t.Fatal(err)
	}
	bin := buildStack(t)
	dir, err := os.MkdirTemp("", "benchwrap-stackdir-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ports := make([]int, 4)
	for i := range ports {
		if ports[i], err = devserver.FreePort(); err != nil {
			t.Fatal(err)
		}
	}
	gw, pg, mn := fmt.Sprintf("127.0.0.1:%d", ports[0]), fmt.Sprintf("127.0.0.1:%d", ports[1]), fmt.Sprintf("127.0.0.1:%d", ports[2])
	ms := fmt.Sprintf("127.0.0.1:%d", ports[3])
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "STACK_DIR=" + dir,
		"GATEWAY_ADDR=" + gw, fmt.Sprintf("PG_PORT=%d", ports[1]), "MINIO_ADDR=" + mn, "METRICS_ADDR=" + ms}
	if b := os.Getenv("MINIO_BIN"); b != "" {
		env = append(env, "MINIO_BIN="+b)
	}

	p := startStack(t, bin, env)
	if !strings.Contains(p.ready, "gateway=http://"+gw) || !strings.Contains(p.ready, "postgres=postgres://") {
		t.Errorf("ready line %q", p.ready)
	}
	if !listening(ms) {
		t.Errorf("no metrics on METRICS_ADDR %s", ms)
	}
	base := "http://" + gw
	status, tokens := post(t, base+"/auth/register", map[string]string{"username": "survivor", "password": "password-123"})
	if status != 201 {
		t.Fatalf("register: %d", status)
	}
	for _, name := range []string{"jwt-secret", "database-url", "minio-access-key", "minio-secret-key", "webhook-token"} {
		if fi, err := os.Stat(filepath.Join(dir, "secrets", name)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("secret file %s: %v", name, err)
		}
	}
	p.stop(t)
	for _, addr := range []string{gw, pg, mn, ms} {
		if listening(addr) {
			t.Errorf("%s still listening after the stack stopped", addr)
		}
	}

	users := filepath.Join(dir, "users.txt")
	content := "olduser:$argon2id$v=19$m=65536,t=3,p=4$ufceAyDkHMN4z3kvxTiH0A$4hJvimFx5VS9rSJjerJUbw\nb:x\nalice\n"
	if err := os.WriteFile(users, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	imp := exec.Command(bin, "import-users", users)
	imp.Env = env
	out, err := imp.Output()
	if err != nil || !strings.Contains(string(out), "imported=1 exists=0 skipped=2") {
		t.Fatalf("import-users: %v\n%s", err, out)
	}

	p = startStack(t, bin, env)
	defer p.stop(t)
	if status, _ := post(t, base+"/auth/refresh", map[string]string{"refresh": tokens["refresh"]}); status != 200 {
		t.Errorf("refresh token lost across restart: %d", status)
	}
	if status, _ := post(t, base+"/auth/login", map[string]string{"username": "olduser", "password": "original-pass-42"}); status != 200 {
		t.Errorf("imported user cannot log in: %d", status)
	}
	status, tokens = post(t, base+"/auth/login", map[string]string{"username": "survivor", "password": "password-123"})
	if status != 200 {
		t.Fatalf("user lost across restart: %d", status)
	}
	uploadIsAnalysed(t, base, tokens["access"])
}

// uploadIsAnalysed uploads a profile through a presigned URL and waits for
// its analysis in the default (corrected) mode to show in the listing.
func uploadIsAnalysed(t *testing.T, base, access string) {
	t.Helper()
	resp := authed(t, "POST", base+"/api/storage/presign/upload?object_name=12345_0_node01.h5", access)
	var p struct {
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers"`
	}
	json.NewDecoder(resp.Body).Decode(&p)
	resp.Body.Close()
	data, err := os.ReadFile("../../shared/hdf5/testdata/fixtures/12345_0_node01.h5")
	if err != nil {
		t.Fatal(err)
	}
	put, _ := http.NewRequest("PUT", p.URL, bytes.NewReader(data))
	for k, v := range p.Headers {
		put.Header.Set(k, v)
	}
	if resp, err := http.DefaultClient.Do(put); err != nil || resp.StatusCode != 200 {
		t.Fatalf("PUT: %v %v", resp, err)
	}
	// A liveness bound, not a speed target: the queue's worker may be
	// sharing two cores with the rest of the test run.
	deadline := time.Now().Add(2 * time.Minute)
	var last []byte
	for {
		resp := authed(t, "GET", base+"/storage/list", access)
		var l struct {
			Objects []struct {
				Key      string `json:"key"`
				Analysis *struct {
					Status string   `json:"status"`
					Table  string   `json:"table"`
					Energy *float64 `json:"energy_to_solution_j"`
				} `json:"analysis"`
			} `json:"objects"`
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		_ = json.Unmarshal(body, &l)
		last = body
		// The listing also holds the job's Parquet results once the
		// analysis is done (<user>/results/...): look for the upload.
		for _, o := range l.Objects {
			if o.Key != "survivor/12345_0_node01.h5" || o.Analysis == nil || o.Analysis.Status == "queued" || o.Analysis.Status == "running" {
				continue
			}
			a := o.Analysis
			// Corrected mode integrates the trapezoid over the 300 samples.
			if a.Status != "done" || a.Table != "survivor.job_12345_0_node01" || a.Energy == nil || *a.Energy <= 100000 {
				t.Fatalf("analysis %+v", a)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("upload not analysed within two minutes; last listing: %s", last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
