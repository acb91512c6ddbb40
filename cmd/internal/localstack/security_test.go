package localstack

// The attacks of the hostile review (issue 15), each run against the
// local stack as the attacker would; `make test-security` runs them all
// (go test -run Security). docs/security.md describes each control.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/app"
	"github.com/benchwrap/backend/shared/config"
	"github.com/benchwrap/backend/shared/storage"
	"github.com/benchwrap/backend/testkit/devserver"
	"github.com/benchwrap/backend/testkit/testenv"
)

// stackLimits are the test stack's limits: small, so the attacks reach
// them within a second or two.
var stackLimits = map[string]string{
	"HTTP_READ_HEADER_TIMEOUT": "1s",
	"HTTP_READ_TIMEOUT":        "3s",
	"HTTP_MAX_HEADER_BYTES":    "16384",
	"MAX_UPLOAD_BYTES":         "1048576",
	"USER_QUOTA_BYTES":         "4194304",
}

const (
	testMaxUpload = 1 << 20
	testQuota     = 4 << 20
)

// envRunFunction makes the test binary serve one function (TestMain).
const envRunFunction = "BENCHWRAP_TEST_RUN_FUNCTION"

func gatewayAddr(s *Stack) string { return strings.TrimPrefix(s.GatewayURL, "http://") }

// sendPartial declares a body of declared bytes and sends only sent of
// them, then reads the answer: a server that reads the body before
// answering never answers.
func sendPartial(t *testing.T, addr, path, headers string, declared, sent int) int {
	t.Helper()
	st, err := trySendPartial(addr, path, headers, declared, sent)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func trySendPartial(addr, path, headers string, declared, sent int) (int, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n", path, addr, declared, headers)
	if _, err := c.Write(bytes.Repeat([]byte{'{'}, sent)); err != nil {
		return 0, err
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, fmt.Errorf("%s: no answer before the body was sent: %w", path, err)
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func stackSecret(t *testing.T, s *Stack, name string) string {
	t.Helper()
	return strings.TrimSpace(string(readFile(t, filepath.Join(s.SecretsDir, name))))
}

// Item 7: 24 unauthenticated 16 MB notifications took 531 MiB. The token
// is now checked before the body is read, and bodies are capped.
func TestSecurityAuthBeforeBody(t *testing.T) {
	s := testStack(t)
	addr := gatewayAddr(s)
	for _, path := range []string{"/minio-event", "/api/minio-event", "/function/analyze"} {
		if st := sendPartial(t, addr, path, "", 16<<20, 1024); st != 401 {
			t.Errorf("anonymous 16 MB notification to %s: %d, want 401 before the body", path, st)
		}
		if st := sendPartial(t, addr, path, "Authorization: Bearer wrong-token\r\n", 16<<20, 1024); st != 401 {
			t.Errorf("wrong token to %s: %d", path, st)
		}
	}
	// The review's attack: 24 anonymous 16 MB notifications at once. The
	// gateway runs in this process: its heap must not grow by their size.
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var wg sync.WaitGroup
	statuses, errs := make([]int, 24), make([]error, 24)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i], errs[i] = trySendPartial(addr, "/minio-event", "", 16<<20, 64<<10)
		}()
	}
	wg.Wait()
	runtime.ReadMemStats(&after)
	for i, st := range statuses {
		if errs[i] != nil || st != 401 {
			t.Errorf("anonymous notification: %d %v", st, errs[i])
		}
	}
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("24 anonymous 16 MB notifications: heap %+.1f MiB (the review measured 531 MiB)", float64(grew)/(1<<20))
	if grew > 32<<20 {
		t.Errorf("heap grew %d MiB", grew>>20)
	}
	for _, path := range []string{"/storage/presign/upload?object_name=x", "/function/list"} {
		if st := sendPartial(t, addr, path, "", 16<<20, 1024); st != 401 && st != 405 {
			t.Errorf("anonymous 16 MB body to %s: %d", path, st)
		}
	}
	token := "Authorization: Bearer " + stackSecret(t, s, config.SecretWebhookToken) + "\r\n"
	if st := sendPartial(t, addr, "/minio-event", token, 2<<20, 1024); st != 413 {
		t.Errorf("a 2 MiB notification with the token: %d, want 413", st)
	}
	// Without a declared length (chunked) the cap holds as the body is read.
	big := io.MultiReader(strings.NewReader(`{"Records":[`), strings.NewReader(strings.Repeat(" ", 2<<20)))
	req, _ := http.NewRequest("POST", s.GatewayURL+"/minio-event", big)
	req.Header.Set("Authorization", "Bearer "+stackSecret(t, s, config.SecretWebhookToken))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Errorf("chunked 2 MiB notification: %d, want 413", resp.StatusCode)
	}
	// JSON endpoints take 64 KiB.
	pad := strings.Repeat(" ", 65<<10)
	for _, path := range []string{"/auth/register", "/auth/login", "/auth/refresh"} {
		expect(t, call(t, "POST", s.GatewayURL+path, pad+`{"username":"x","password":"y"}`, "Content-Type", "application/json"), 413, "Request body too large.")
	}
}

// Item 8: a slow client held a connection for 70 s or more.
func TestSecuritySlowClients(t *testing.T) {
	s := testStack(t)
	addr := gatewayAddr(s)
	heldFor := func(c net.Conn) time.Duration {
		start := time.Now()
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		_, err := io.Copy(io.Discard, c)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("connection still open after 20 s")
		}
		return time.Since(start)
	}
	// Headers that never end (slowloris): HTTP_READ_HEADER_TIMEOUT is 1 s.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /auth/login HTTP/1.1\r\nHost: %s\r\nX-Slow: ", addr)
	d := heldFor(c)
	t.Logf("unfinished headers: closed after %s (HTTP_READ_HEADER_TIMEOUT 1s)", d.Round(10*time.Millisecond))
	if d > 4*time.Second {
		t.Errorf("unfinished headers held the connection %s", d)
	}
	// A body trickled a byte at a time: HTTP_READ_TIMEOUT is 3 s.
	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	fmt.Fprintf(c2, "POST /auth/login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n", addr)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
				if _, err := c2.Write([]byte{' '}); err != nil {
					return
				}
			}
		}
	}()
	d = heldFor(c2)
	t.Logf("trickled body: closed after %s (HTTP_READ_TIMEOUT 3s; the review: 70 s or more)", d.Round(10*time.Millisecond))
	if d > 7*time.Second {
		t.Errorf("a trickled body held the connection %s", d)
	}
	// Headers beyond HTTP_MAX_HEADER_BYTES are refused.
	r := call(t, "GET", s.GatewayURL+"/", nil, "X-Big", strings.Repeat("a", 64<<10))
	if r.Status != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("64 KiB of headers: %d", r.Status)
	}
}

// Item 9: an uploaded page was served inline with its own type: stored
// XSS on the storage origin.
func TestSecurityDownloadIsAttachment(t *testing.T) {
	s := testStack(t)
	access, _ := register(t, s.GatewayURL, testenv.Name("xs")[:12], "password-123")
	auth := []string{"Authorization", "Bearer " + access}
	p := call(t, "POST", s.GatewayURL+"/storage/presign/upload?object_name=page.html", nil, auth...)
	expect(t, p, 200, "")
	page := []byte("<html><script>alert(document.cookie)</script></html>")
	if resp := put(t, p, page, "text/html"); resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	d := call(t, "GET", s.GatewayURL+"/storage/presign/download?object_name=page.html", nil, auth...)
	expect(t, d, 200, "")
	resp, err := http.Get(d.Str(t, "url"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(body, page) {
		t.Fatalf("download: %s", resp.Status)
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename="page.html"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/octet-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	if v := resp.Header.Get("X-Content-Type-Options"); v != "nosniff" {
		t.Errorf("X-Content-Type-Options %q", v)
	}
	// The signature covers the parameters: asking for inline fails.
	u, _ := url.Parse(d.Str(t, "url"))
	q := u.Query()
	q.Set("response-content-type", "text/html")
	q.Set("response-content-disposition", "inline")
	u.RawQuery = q.Encode()
	if status, _ := get(t, u.String()); status != 403 {
		t.Errorf("URL changed to inline answered %d", status)
	}
}

// Item 10: uploads were unbounded.
func TestSecurityUploadLimits(t *testing.T) {
	s := testStack(t)
	_, access := newUser(t, s, "qt")
	auth := []string{"Authorization", "Bearer " + access}
	up := func(name string, size int) reply {
		return call(t, "POST", s.GatewayURL+"/storage/presign/upload?"+url.Values{"object_name": {name}, "size": {fmt.Sprint(size)}}.Encode(), nil, auth...)
	}
	// A declared size is signed: the store refuses any other length.
	p := up("a.bin", 10)
	expect(t, p, 200, "")
	if h := p.JSON(t)["headers"].(map[string]any); h["Content-Length"] != "10" {
		t.Errorf("headers %v", h)
	}
	if resp := put(t, p, bytes.Repeat([]byte("x"), 11<<10), ""); resp.StatusCode != 403 {
		t.Errorf("PUT of more than declared: %s", resp.Status)
	}
	if resp := put(t, p, []byte("0123456789"), ""); resp.StatusCode != 200 {
		t.Fatalf("PUT of the declared size: %s", resp.Status)
	}
	// MAX_UPLOAD_BYTES and USER_QUOTA_BYTES at presign.
	expect(t, up("big.bin", testMaxUpload+1), 413, storage.MsgTooLarge)
	expect(t, up("b.bin", testMaxUpload), 200, "")
	expect(t, call(t, "POST", s.GatewayURL+"/storage/presign/upload?object_name=c&size=-1", nil, auth...), 400, "")
	for i := 0; i < 3; i++ { // fill to 3 MiB + 10 bytes
		p := up(fmt.Sprintf("fill%d.bin", i), testMaxUpload)
		if resp := put(t, p, bytes.Repeat([]byte{byte(i)}, testMaxUpload), ""); resp.StatusCode != 200 {
			t.Fatal(resp.Status)
		}
	}
	expect(t, up("over.bin", testMaxUpload), 413, storage.MsgQuota)
	expect(t, up("fits.bin", testQuota-3*testMaxUpload-10), 200, "")
	// The listing shows the usage.
	l := call(t, "GET", s.GatewayURL+"/storage/list", nil, auth...)
	expect(t, l, 200, "")
	u, ok := l.JSON(t)["usage"].(map[string]any)
	if !ok || u["bytes"] != float64(3*testMaxUpload+10) || u["objects"] != 4.0 || u["quota_bytes"] != float64(testQuota) {
		t.Errorf("usage %v", l.JSON(t)["usage"])
	}
	// Full: even an undeclared upload (the real client's) is refused.
	p = up("last.bin", testQuota-3*testMaxUpload-10)
	if resp := put(t, p, bytes.Repeat([]byte{9}, testQuota-3*testMaxUpload-10), ""); resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	expect(t, call(t, "POST", s.GatewayURL+"/storage/presign/upload?object_name=more", nil, auth...), 413, storage.MsgQuota)

	// A profile over MAX_UPLOAD_BYTES uploaded without a declared size
	// (the real client's plain PUT) is not analysed: the queue's intake
	// records it as skipped, too_large, and queues nothing.
	other, _ := register(t, s.GatewayURL, testenv.Name("tl")[:12], "password-123")
	key := upload(t, s, other, "huge.h5", bytes.Repeat([]byte{0x89}, testMaxUpload+1))
	if j := waitJob(t, key, time.Minute); j.Status != "skipped" || j.Reason != analysis.SkipTooLarge.Reason() {
		t.Errorf("oversized profile: %+v", j)
	}
	if r := runs(t, key); len(r) != 0 {
		t.Errorf("oversized profile was analysed: %+v", r)
	}
}

// Item 11: gaps the real client found.
func TestSecurityClientCompat(t *testing.T) {
	s := testStack(t)
	user, other := testenv.Name("cc")[:12], testenv.Name("co")[:12]
	access, _ := register(t, s.GatewayURL, user, "password-123")
	otherAccess, _ := register(t, s.GatewayURL, other, "password-123")
	auth := []string{"Authorization", "Bearer " + access}
	p := call(t, "POST", s.GatewayURL+"/storage/presign/upload?object_name=data.bin", nil, "Authorization", "Bearer "+otherAccess)
	if resp := put(t, p, []byte("other's"), ""); resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	// Names as long as S3 allows: the key is at most 1024 bytes (a name
	// over 255 bytes is stored in parts of 255, MinIO's longest).
	longest := 1020 - len(user) // "<user>/" + 4 parts and 3 slashes
	for _, n := range []int{256, longest} {
		name := strings.Repeat("n", n)
		p := call(t, "POST", s.GatewayURL+"/storage/presign/upload?object_name="+name, nil, auth...)
		expect(t, p, 200, "")
		if resp := put(t, p, []byte("long"), ""); resp.StatusCode != 200 {
			t.Fatalf("PUT of a %d-byte name: %s", n, resp.Status)
		}
	}
	expect(t, call(t, "POST", s.GatewayURL+"/storage/presign/upload?object_name="+strings.Repeat("n", longest+1), nil, auth...), 400, storage.MsgInvalidName)
	// download takes a key as list returns it; another prefix is 403.
	l := call(t, "GET", s.GatewayURL+"/storage/list", nil, auth...)
	expect(t, l, 200, "")
	for _, o := range l.JSON(t)["objects"].([]any) {
		key := o.(map[string]any)["key"].(string)
		d := call(t, "GET", s.GatewayURL+"/storage/presign/download?object_name="+url.QueryEscape(key), nil, auth...)
		expect(t, d, 200, "")
		if d.Str(t, "key") != key {
			t.Errorf("download of %q signed %q", key, d.Str(t, "key"))
		}
		if status, body := get(t, d.Str(t, "url")); status != 200 || string(body) != "long" {
			t.Errorf("download of %q: %d %q", key, status, body)
		}
	}
	expect(t, call(t, "GET", s.GatewayURL+"/storage/presign/download?object_name="+other+"/data.bin", nil, auth...), 403, storage.MsgOtherPrefix)
	expect(t, call(t, "GET", s.GatewayURL+"/storage/presign/download?object_name=nobody-at-all/data.bin", nil, auth...), 403, storage.MsgOtherPrefix)

	// list shows an analysis in progress (here: a re-analysis started
	// after the first one finished).
	key := upload(t, s, access, "inprogress.h5", fixture(t, "12345_0_node01.h5"))
	waitRuns(t, key, 1, time.Minute)
	_, err := catalogPool(t).Exec(context.Background(), `INSERT INTO analysis_runs (source, bucket, object_key, schema_name, mode, status)
		VALUES ('minio', 'benchwrap', $1, $2, 'compat', 'running')`, key, user)
	if err != nil {
		t.Fatal(err)
	}
	l = call(t, "GET", s.GatewayURL+"/storage/list", nil, auth...)
	found := false
	for _, o := range l.JSON(t)["objects"].([]any) {
		o := o.(map[string]any)
		if o["key"] == key {
			a, _ := o["analysis"].(map[string]any)
			found = a != nil && a["status"] == "running"
		}
	}
	if !found {
		t.Errorf("list does not show the running analysis: %s", l.Body)
	}
}

// Item 12: placeholder secrets were accepted. Each function's binary (the
// test binary serving it, as fnhttp.Main does in the image) refuses to
// start with the values of deploy/secrets.example.yaml or short ones.
func TestSecurityWeakSecretsRefuseStart(t *testing.T) {
	examples := exampleSecrets(t)
	good := map[string]string{}
	for name := range examples {
		good[name] = testenv.Name("s") + testenv.Name("") + testenv.Name("")
	}
	good[config.SecretDatabaseURL] = "postgres://app:" + good[config.SecretJWT] + "@127.0.0.1:1/x"
	run := func(function string, secrets map[string]string) (int, string) {
		dir := t.TempDir()
		for k, v := range secrets {
			if err := os.WriteFile(filepath.Join(dir, k), []byte(v), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		port, _ := devserver.FreePort()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, os.Args[0], "-listen", fmt.Sprintf("127.0.0.1:%d", port))
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), envRunFunction + "=" + function, config.SecretsDirEnv + "=" + dir}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		for {
			select {
			case <-done:
				return cmd.ProcessState.ExitCode(), out.String()
			case <-time.After(100 * time.Millisecond):
				if listening(fmt.Sprintf("127.0.0.1:%d", port)) {
					_ = cmd.Process.Kill()
					<-done
					return 0, out.String()
				}
			}
		}
	}
	a, err := app.New()
	if err != nil {
		t.Fatal(err)
	}
	fns, err := NewFunctions(a)
	if err != nil {
		t.Fatal(err)
	}
	for function, f := range fns {
		policy := f.Policy
		if len(policy.Secrets) == 0 {
			continue // a public page (report) has no secret to refuse
		}
		code, out := run(function, examples)
		if code != 1 || !strings.Contains(out, "refusing to start") {
			t.Errorf("%s with the example secrets: exit %d: %s", function, code, out)
		}
		for _, name := range policy.Secrets {
			if !strings.Contains(out, "secret "+name) {
				t.Errorf("%s: the message does not name %s: %s", function, name, out)
			}
		}
		short := map[string]string{}
		for k, v := range good {
			short[k] = v
		}
		short[policy.Secrets[0]] = "0123456789abcdef" // 16 bytes
		if policy.Secrets[0] == config.SecretDatabaseURL {
			short[policy.Secrets[0]] = "postgres://app:0123456789abcdef@127.0.0.1:1/x"
		}
		if code, out := run(function, short); code != 1 || !strings.Contains(out, "shorter than 32") {
			t.Errorf("%s with a short %s: exit %d: %s", function, policy.Secrets[0], code, out)
		}
		if code, out := run(function, good); code != 0 {
			t.Errorf("%s with good secrets did not start: exit %d: %s", function, code, out)
		}
	}
}

func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// exampleSecrets reads the values of deploy/secrets.example.yaml.
func exampleSecrets(t *testing.T) map[string]string {
	t.Helper()
	b := readFile(t, "../../../deploy/secrets.example.yaml")
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ": ")
		if ok && strings.HasPrefix(v, `"`) && strings.Contains(k, "-") {
			out[k] = strings.Trim(v, `"`)
		}
	}
	if out[config.SecretJWT] == "" || out[config.SecretWebhookToken] == "" {
		t.Fatalf("no example secrets parsed: %v", out)
	}
	return out
}

// Item 13: the local cluster trusted every local user.
func TestSecurityLocalPostgresNeedsPassword(t *testing.T) {
	s := testStack(t)
	ctx := context.Background()
	pgDir := filepath.Join(s.dir, "pg")
	if fi, err := os.Stat(filepath.Join(pgDir, devserver.PasswordFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("password file: %v %v", fi.Mode(), err)
	}
	if fi, err := os.Stat(filepath.Join(s.pg.Cluster, "sock")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("socket directory: %v %v", fi.Mode(), err)
	}
	port := s.pg.Port
	for _, u := range []string{
		fmt.Sprintf("postgres://postgres@127.0.0.1:%d/benchwrap?sslmode=disable", port),
		fmt.Sprintf("postgres://postgres:wrong@127.0.0.1:%d/benchwrap?sslmode=disable", port),
		fmt.Sprintf("postgres://%s@127.0.0.1:%d/benchwrap?sslmode=disable", AppRole, port),
	} {
		if c, err := pgx.Connect(ctx, u); err == nil {
			c.Close(ctx)
			t.Errorf("connected without the password: %s", u)
		}
	}
	pw, _ := os.ReadFile(filepath.Join(pgDir, devserver.PasswordFile))
	c, err := pgx.Connect(ctx, fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/benchwrap?sslmode=disable", strings.TrimSpace(string(pw)), port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var listen string
	var trust int
	if err := c.QueryRow(ctx, "SELECT current_setting('listen_addresses'), (SELECT count(*) FROM pg_hba_file_rules WHERE auth_method NOT IN ('scram-sha-256'))").Scan(&listen, &trust); err != nil {
		t.Fatal(err)
	}
	if listen != "127.0.0.1" || trust != 0 {
		t.Errorf("listen_addresses %q, %d rules without scram-sha-256", listen, trust)
	}
}

// Item 14: the functions connected as a superuser.
func TestSecurityFunctionsRoleIsLeastPrivileged(t *testing.T) {
	s := testStack(t)
	ctx := context.Background()
	c, err := pgx.Connect(ctx, s.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var user string
	var super, createRole, createDB bool
	if err := c.QueryRow(ctx, "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user").Scan(&user, &super, &createRole, &createDB); err != nil {
		t.Fatal(err)
	}
	if user != AppRole || super || createRole || createDB {
		t.Errorf("functions' role %s: superuser %v, createrole %v, createdb %v", user, super, createRole, createDB)
	}
	denied := func(sql string) {
		t.Helper()
		_, err := c.Exec(ctx, sql)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "42501" && pe.Code != "42939" && pe.Code != "42P06" {
			t.Errorf("%s: %v", sql, err)
		}
	}
	denied("SELECT rolpassword FROM pg_authid")
	for _, schema := range []string{"pg_evil", "pg_toast", "information_schema", "public", "pg_catalog"} {
		denied("CREATE SCHEMA " + pgx.Identifier{schema}.Sanitize())
	}
	denied("CREATE ROLE evil SUPERUSER")
	denied("DROP TABLE users")
	denied("ALTER TABLE users ADD COLUMN evil text")
	denied("CREATE TABLE public.evil (x int)")
	// What the functions do still works: rows in the owner's tables, and
	// a schema of the application's own (a user's).
	var n int
	if err := c.QueryRow(ctx, "SELECT count(*) FROM users").Scan(&n); err != nil {
		t.Error(err)
	}
	schema := testenv.Name("sec_")
	if _, err := c.Exec(ctx, "CREATE SCHEMA "+schema+"; CREATE TABLE "+schema+".t (x int); DROP SCHEMA "+schema+" CASCADE"); err != nil {
		t.Error(err)
	}
	// The migrations' role is another one, not a superuser either.
	o, err := pgx.Connect(ctx, s.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close(ctx)
	if err := o.QueryRow(ctx, "SELECT rolname, rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user").Scan(&user, &super, &createRole); err != nil || user != OwnerRole || super || createRole {
		t.Errorf("owner role %s: superuser %v, createrole %v (%v)", user, super, createRole, err)
	}
}

// Issue 15 item 3 over HTTP: NUL and other control characters in a
// username or password are a 400 with a reason, at register and at login
// in each of its three input forms, never a 503.
func TestSecurityControlCharactersOverHTTP(t *testing.T) {
	s := testStack(t)
	for _, c := range []struct {
		name, url string
		body      any
		header    []string
		field     string
	}{
		{"register NUL", "/auth/register", map[string]string{"username": "nul\x00user", "password": "password-123"}, nil, "username"},
		{"login json NUL", "/auth/login", map[string]string{"username": "nul\x00user", "password": "password-123"}, nil, "username"},
		{"login json password", "/auth/login", map[string]string{"username": "someuser", "password": "pass\x00word-123"}, nil, "password"},
		{"legacy login NUL", "/auth/password?u=nul%00user&p=password-123", nil, nil, "username"},
		{"legacy login invalid UTF-8", "/auth/password?u=bad%FFname&p=password-123", nil, nil, "username"},
		{"form login escape", "/auth/login", "username=esc%1Bape&password=password-123", []string{"Content-Type", "application/x-www-form-urlencoded"}, "username"},
	} {
		r := call(t, "POST", s.GatewayURL+c.url, c.body, c.header...)
		expect(t, r, 400, "")
		if d := r.Str(t, "detail"); !strings.HasPrefix(d, c.field+":") {
			t.Errorf("%s: detail %q does not name %s", c.name, d, c.field)
		}
	}
}
