//go:build integration

package reportbrowser

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/benchwrap/backend/cmd/internal/localstack"
	"github.com/benchwrap/backend/testkit/devserver"
	"github.com/benchwrap/backend/testkit/testenv"
)

var (
	stackOnce sync.Once
	stack     *localstack.Stack
	stackDir  string
	stackErr  error
)

func TestMain(m *testing.M) {
	testenv.Main(m, func() {
		if stack != nil {
			_ = stack.Close()
		}
		if stackDir != "" {
			_ = os.RemoveAll(stackDir)
		}
	})
}

// testStack starts one local stack for the package (corrected analysis
// mode, fixed price so the price plot has data) on free ports.
func testStack(t testing.TB) *localstack.Stack {
	t.Helper()
	stackOnce.Do(func() {
		if stackDir, stackErr = os.MkdirTemp("", "benchwrap-report-"); stackErr != nil {
			return
		}
		var port int
		if port, stackErr = devserver.FreePort(); stackErr != nil {
			return
		}
		// Access tokens of 65 s: the page refreshes them 5 s after each
		// sign-in or refresh (a minute before expiry), during the test.
		for k, v := range map[string]string{"ANALYZE_MODE": "corrected", "ANALYZE_PRICE": "fixed:0.30", "ACCESS_TOKEN_TTL": "65"} {
			if stackErr = os.Setenv(k, v); stackErr != nil {
				return
			}
		}
		stack, stackErr = localstack.Start(context.Background(), localstack.Options{
			Dir: stackDir, GatewayAddr: "127.0.0.1:0", FastPostgres: true,
			MinIOAddr: fmt.Sprintf("127.0.0.1:%d", port),
		})
	})
	if stackErr != nil {
		t.Fatalf("start stack: %v", stackErr)
	}
	return stack
}

// chromiumPath finds Debian's chromium (cmd/scripts/deps.sh installs it).
func chromiumPath() string {
	for _, p := range []string{os.Getenv("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	return ""
}

// browser is one headless Chromium tab with every request it makes
// recorded.
type browser struct {
	ctx  context.Context
	base string

	mu   sync.Mutex
	reqs []string // since the last requests()
	log  []string // the whole session
}

func (b *browser) all() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.log...)
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		t.Skip("chromium is not installed (cmd/scripts/deps.sh installs Debian's chromium); skipping the browser tests")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox, // root in CI containers
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelC(); cancelA() })
	b := &browser{ctx: ctx, base: base}
	// The first call starts the browser: no timeout on its context.
	err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			r := e.Request.Method + " " + e.Request.URL
			b.mu.Lock()
			b.reqs, b.log = append(b.reqs, r), append(b.log, r)
			b.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	// Record CSP violations from the first script on: the page must cause none.
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI));`}); err != nil {
		t.Fatal(err)
	}
	return b
}

// signIn opens the report page at base and submits its sign-in form.
func (b *browser) signIn(t testing.TB, base, user, password string) {
	t.Helper()
	b.run(t, chromedp.Navigate(base+"/report"))
	b.poll(t, "sign-in form", `!!document.querySelector("#username")`, 10*time.Second)
	b.run(t,
		chromedp.SendKeys(chromedp.CSS("#username"), user),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("form.signin button[type=submit]")))
}

func (b *browser) run(t testing.TB, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %v (page at %s)", err, b.location())
	}
}

func (b *browser) location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + " status: " + (document.getElementById("status")||{}).textContent`))
	return loc
}

// requests returns the requests since the last call.
func (b *browser) requests() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.reqs
	b.reqs = nil
	return r
}

// poll evaluates a JavaScript condition until it is true.
func (b *browser) poll(t testing.TB, what, cond string, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout+5*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		t.Fatalf("%s: %v (page at %s)", what, err, b.location())
	}
}

// eval evaluates a JavaScript expression and decodes its JSON into out.
func (b *browser) eval(t testing.TB, js string, out any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string]("JSON.stringify("+js+")"))
	if err == nil {
		err = json.Unmarshal([]byte(v), out)
	}
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
}

// api is the test's own client of the backend, playing the benchwrap CLI.
type api struct {
	base, user, password string
	access               string
}

// call sends a request; an expired access token (the tests' stack issues
// short-lived ones) is renewed by signing in again.
func (a *api) call(t testing.TB, method, path string, body any, out any) int {
	t.Helper()
	status := a.do(t, method, path, body, out)
	if status == http.StatusUnauthorized && a.user != "" && !strings.HasPrefix(path, "/auth/") {
		var tok struct{ Access string }
		if s := a.do(t, "POST", "/auth/login", map[string]string{"username": a.user, "password": a.password}, &tok); s != 200 {
			t.Fatalf("login again: %d", s)
		}
		a.access = tok.Access
		status = a.do(t, method, path, body, out)
	}
	return status
}

func (a *api) do(t testing.TB, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		js, _ := json.Marshal(body)
		rd = bytes.NewReader(js)
	}
	req, _ := http.NewRequest(method, a.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if a.access != "" {
		req.Header.Set("Authorization", "Bearer "+a.access)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

func register(t testing.TB, base, user, password string) *api {
	t.Helper()
	a := &api{base: base, user: user, password: password}
	var tok struct{ Access string }
	if s := a.call(t, "POST", "/auth/register", map[string]string{"username": user, "password": password}, &tok); s != 201 {
		t.Fatalf("register: %d", s)
	}
	a.access = tok.Access
	return a
}

// upload sends a file the way the CLI does: presign, then PUT.
func (a *api) upload(t testing.TB, file, name, benchmark string) {
	t.Helper()
	var p struct {
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers"`
	}
	q := url.Values{"object_name": {name}, "benchmark_name": {benchmark}}
	if s := a.call(t, "POST", "/storage/presign/upload?"+q.Encode(), nil, &p); s != 200 {
		t.Fatalf("presign %s: %d", name, s)
	}
	body, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("PUT", p.URL, bytes.NewReader(body))
	for k, v := range p.Headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		t.Fatalf("PUT %s: %d", name, resp.StatusCode)
	}
}

type jobRow = map[string]any

// waitJobs polls the results API until every job is listed with all its
// files analysed, and returns the rows.
func (a *api) waitJobs(t testing.TB, ids []string, timeout time.Duration) map[string]jobRow {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var page struct {
			Jobs []jobRow `json:"jobs"`
		}
		got := map[string]jobRow{}
		if a.call(t, "GET", "/results/jobs?limit=200", nil, &page) == 200 {
			for _, j := range page.Jobs {
				if j["files"] != nil && fmt.Sprint(j["files"]) == fmt.Sprint(j["files_done"]) {
					got[fmt.Sprint(j["job"])] = j
				}
			}
		}
		done := true
		for _, id := range ids {
			if got[id] == nil {
				done = false
			}
		}
		if done {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("jobs %v not analysed within %s; have %v", ids, timeout, page.Jobs)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func fixture(name string) string { return filepath.Join(testenv.FixtureDir(), name) }
