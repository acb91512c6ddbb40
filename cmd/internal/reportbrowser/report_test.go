//go:build integration

package reportbrowser

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/benchwrap/backend/shared/report"
)

// Colours the page draws with (charts.js): the test looks for them in
// each plot's pixels.
const (
	node1  = "#1f77b4"
	node2  = "#ff7f0e"
	sum    = "#222222"
	energy = "#2e7d32"
	price  = "#8e24aa"
	cost   = "#ef6c00"
)

// The analysed fixtures behind the pages: job 12345 (two steps, one
// node) and 12346 (merged, two nodes) of benchmark stream; 12349 of hpl.
var fixtures = []struct{ file, name, benchmark string }{
	{"12345_0_node01.h5", "stream_12345_0_node01.h5", "stream"},
	{"12345_batch_node01.h5", "stream_12345_batch_node01.h5", "stream"},
	{"12346_job_merged.h5", "stream_12346_job_merged.h5", "stream"},
	{"12349_0_node04.h5", "hpl_12349_0_node04.h5", "hpl"},
}

func TestReport(t *testing.T) {
	s := testStack(t)
	b := newBrowser(t, s.GatewayURL)
	cli := register(t, s.GatewayURL, "reporter", "report-pass-1")
	for _, f := range fixtures {
		cli.upload(t, fixture(f.file), f.name, f.benchmark)
	}
	cli.waitJobs(t, []string{"12345", "12346", "12349"}, 45*time.Second)
	b.requests()
	// The steps share one tab and build on each other: stop at the first
	// that fails.
	step := func(name string, f func(t *testing.T)) {
		if !t.Failed() {
			t.Run(name, f)
		}
	}

	step("headers", func(t *testing.T) {
		for _, p := range []string{"/report", "/api/report", "/function/report", "/report?asset=app.js"} {
			resp, err := http.Get(s.GatewayURL + p)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("Content-Security-Policy") != report.CSP {
				t.Errorf("%s: %d, CSP %q", p, resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
			}
			for _, h := range []string{"X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"} {
				if resp.Header.Get(h) == "" {
					t.Errorf("%s: no %s", p, h)
				}
			}
		}
		for _, want := range []string{"script-src 'self'", "connect-src 'self'", "style-src 'self'", "default-src 'none'"} {
			if !strings.Contains(report.CSP, want) {
				t.Errorf("CSP lacks %s", want)
			}
		}
		if strings.Contains(report.CSP, "unsafe-inline") || strings.Contains(report.CSP, "unsafe-eval") {
			t.Errorf("CSP allows inline code: %s", report.CSP)
		}
	})

	step("sign in", func(t *testing.T) {
		b.signIn(t, s.GatewayURL, "reporter", "wrong-password")
		b.poll(t, "wrong password refused", `document.getElementById("status").textContent.includes("Wrong username or password")`, 10*time.Second)
		b.eval(t, `document.querySelector("#password").value = ""`, new(string))
		b.run(t,
			chromedp.SendKeys(chromedp.CSS("#password"), "report-pass-1"),
			chromedp.Click(chromedp.CSS("form.signin button[type=submit]")))
		b.poll(t, "jobs table", `document.querySelectorAll("#jobs tbody tr[data-job]").length === 3`, 10*time.Second)
		var stored int
		b.eval(t, `localStorage.length + sessionStorage.length + document.cookie.length`, &stored)
		if stored != 0 {
			t.Errorf("tokens must stay in memory; storage holds %d entries", stored)
		}
	})

	step("jobs table sorts", func(t *testing.T) {
		order := func() []string {
			var ids []string
			b.eval(t, `[...document.querySelectorAll("#jobs tbody tr[data-job]")].map((r) => r.dataset.job)`, &ids)
			return ids
		}
		energies := func() []string {
			var e []string
			b.eval(t, `[...document.querySelectorAll("#jobs tbody tr[data-job] td:nth-child(5)")].map((c) => c.textContent)`, &e)
			return e
		}
		b.run(t, chromedp.Click(chromedp.CSS(`button[data-sort="energy"]`)))
		desc := order()
		var sortAttr string
		b.eval(t, `document.querySelector('button[data-sort="energy"]').parentElement.getAttribute("aria-sort")`, &sortAttr)
		b.run(t, chromedp.Click(chromedp.CSS(`button[data-sort="energy"]`)))
		asc := order()
		if sortAttr != "descending" || len(desc) != 3 || fmt.Sprint(desc) != fmt.Sprint(reverse(asc)) {
			t.Fatalf("energy sort: %s %v then %v", sortAttr, desc, asc)
		}
		t.Logf("jobs by energy: %v %v", asc, energies())
		b.run(t, chromedp.Click(chromedp.CSS(`button[data-sort="id"]`)))
		if got := order(); fmt.Sprint(got) != "[12345 12346 12349]" {
			t.Errorf("by job id: %v", got)
		}
		// The filter narrows the rows shown.
		b.run(t, chromedp.SendKeys(chromedp.CSS("#f-text"), "hpl"))
		if got := order(); fmt.Sprint(got) != "[12349]" {
			t.Errorf("filtered: %v", got)
		}
		b.eval(t, `(document.querySelector("#f-text").value = "", document.querySelector("#f-text").dispatchEvent(new Event("input")), 0)`, new(int))
	})

	step("job page plots", func(t *testing.T) {
		b.requests()
		b.run(t, chromedp.Navigate(s.GatewayURL+"/report#/job/12346"))
		b.poll(t, "job page ready", `!!document.body.dataset.ready`, 15*time.Second)
		for plot, colours := range map[string][]string{
			"plot-power":  {node1, node2, sum},
			"plot-energy": {energy},
			"plot-cpu":    {node1},
			"plot-price":  {price, cost},
		} {
			for _, c := range colours {
				b.poll(t, plot+" drawn in "+c, fmt.Sprintf(`(%s)(%q, %q) > 20`, countColour, "#"+plot+" canvas", c), 5*time.Second)
			}
		}
		var ready string
		b.eval(t, `document.body.dataset.ready`, &ready)
		t.Logf("job page of job 12346 interactive in %s ms", ready)
		var text string
		b.eval(t, `document.getElementById("main").innerText`, &text)
		for _, want := range []string{"Per node", "node01", "node02", "Per step", "Export CSV", "Export Parquet"} {
			if !strings.Contains(text, want) {
				t.Errorf("job page lacks %q", want)
			}
		}
		if reqs := matching(b.requests(), "/results/jobs/12346/series"); len(reqs) != 1 {
			t.Errorf("series requests on load: %v", reqs)
		}
	})

	step("zoom re-fetches the range", func(t *testing.T) {
		shot(t, b, "job")
		b.run(t, chromedp.Click(chromedp.CSS("#zoom-in")))
		b.poll(t, "zoomed", `document.getElementById("zoom-range").textContent !== "Whole job" && document.getElementById("status").textContent.startsWith("Zoomed")`, 10*time.Second)
		reqs := matching(b.requests(), "/results/jobs/12346/series")
		if len(reqs) != 1 || !strings.Contains(reqs[0], "from=") || !strings.Contains(reqs[0], "to=") {
			t.Fatalf("zoom requests: %v", reqs)
		}
		// A drag across the power plot zooms too.
		var box []float64
		b.eval(t, `(() => { const r = document.querySelector("#plot-power .u-over").getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()`, &box)
		y := box[1] + box[3]/2
		b.run(t, chromedp.DragAndDropXY(box[0]+box[2]*0.3, y, box[0]+box[2]*0.6, y, 5))
		b.poll(t, "drag zoom", `document.getElementById("status").textContent.startsWith("Zoomed")`, 10*time.Second)
		if reqs := matching(b.requests(), "/series"); len(reqs) != 1 || !strings.Contains(reqs[0], "from=") {
			t.Errorf("drag zoom requests: %v", reqs)
		}
		b.run(t, chromedp.Click(chromedp.CSS("#zoom-reset")))
	})

	step("export", func(t *testing.T) {
		b.requests()
		b.run(t, chromedp.Click(chromedp.CSS("#export-csv")))
		b.poll(t, "export done", `document.getElementById("status").textContent === ""`, 10*time.Second)
		if reqs := matching(b.requests(), "/export?format=csv"); len(reqs) != 1 {
			t.Errorf("export requests: %v", reqs)
		}
	})

	step("compare two jobs", func(t *testing.T) {
		b.run(t, chromedp.Navigate(s.GatewayURL+"/report#/jobs"))
		b.poll(t, "jobs", `document.querySelectorAll("#jobs tbody tr[data-job]").length === 3`, 10*time.Second)
		b.run(t,
			chromedp.Click(chromedp.CSS(`tr[data-job="12345"] input[type=checkbox]`)),
			chromedp.Click(chromedp.CSS(`tr[data-job="12346"] input[type=checkbox]`)),
			chromedp.Click(chromedp.CSS("#compare-selected")))
		b.poll(t, "compare plot", fmt.Sprintf(`(%s)("#plot-compare canvas", %q) > 20 && (%s)("#plot-compare canvas", %q) > 20`, countColour, node1, countColour, node2), 15*time.Second)
		var text string
		b.eval(t, `document.getElementById("main").innerText`, &text)
		shot(t, b, "compare")
		if !strings.Contains(text, "ratio") || !strings.Contains(text, "Job 12345") || !strings.Contains(text, "Job 12346") || !strings.Contains(text, "×") {
			t.Errorf("compare table: %s", text)
		}
	})

	step("benchmark page", func(t *testing.T) {
		b.run(t, chromedp.Navigate(s.GatewayURL+"/report#/benchmark/stream"))
		b.poll(t, "runs plot", fmt.Sprintf(`(%s)("#plot-runs canvas", %q) > 10`, countColour, node1), 15*time.Second)
		b.poll(t, "histogram", fmt.Sprintf(`(%s)("#hist", %q) > 10`, countColour, node1), 5*time.Second)
		shot(t, b, "benchmark")
	})

	step("upload through the page", func(t *testing.T) {
		b.requests()
		b.run(t, chromedp.Navigate(s.GatewayURL+"/report#/upload"))
		b.poll(t, "upload page", `!!document.querySelector("#u-files")`, 10*time.Second)
		b.run(t,
			chromedp.SendKeys(chromedp.CSS("#u-bench"), "real"),
			chromedp.SetUploadFiles(chromedp.CSS("#u-files"), []string{fixture("9646276_batch_c0107.h5")}))
		b.poll(t, "file analysed", `(document.querySelector("#uploads tr[data-file]")||{dataset:{}}).dataset.status === "done"`, 40*time.Second)
		reqs := b.requests()
		if puts := matching(reqs, "PUT "); len(puts) != 1 || !strings.HasPrefix(puts[0], "PUT "+s.GatewayURL+"/storage/objects/") {
			t.Errorf("upload PUTs: %v", puts)
		}
	})

	step("keyboard only", func(t *testing.T) {
		b.run(t, chromedp.Navigate(s.GatewayURL+"/report#/jobs"))
		b.poll(t, "jobs", `document.querySelectorAll("#jobs tbody tr[data-job]").length >= 3`, 10*time.Second)
		// Tab to the first job link and open it with Enter.
		for i := 0; i < 60; i++ {
			var on bool
			b.eval(t, `document.activeElement.matches("a[href^='#/job/']")`, &on)
			if on {
				break
			}
			b.run(t, chromedp.KeyEvent(kb.Tab))
		}
		b.run(t, chromedp.KeyEvent(kb.Enter))
		b.poll(t, "job page by keyboard", `location.hash.startsWith("#/job/") && !!document.querySelector("#zoom-in")`, 15*time.Second)
		// Focus lands on the page heading, and the zoom buttons work from the keyboard.
		var focused string
		b.eval(t, `document.activeElement.tagName`, &focused)
		if focused != "H1" {
			t.Errorf("focus after navigation on %s, want the heading", focused)
		}
		b.run(t, chromedp.Focus(chromedp.CSS("#zoom-in")), chromedp.KeyEvent(kb.Enter))
		b.poll(t, "keyboard zoom", `document.getElementById("zoom-range").textContent !== "Whole job"`, 10*time.Second)
	})

	step("360 px wide", func(t *testing.T) {
		b.run(t, chromedp.EmulateViewport(360, 740))
		defer b.run(t, chromedp.EmulateViewport(1280, 1000))
		for _, p := range []string{"#/jobs", "#/job/12346", "#/compare?jobs=12345,12346", "#/benchmark/stream", "#/upload"} {
			b.run(t, chromedp.Navigate(s.GatewayURL+"/report"+p))
			b.poll(t, p, `document.querySelector("main h1") && !document.getElementById("main").textContent.includes("Loading")`, 10*time.Second)
			time.Sleep(300 * time.Millisecond)
			var w int
			b.eval(t, `document.documentElement.scrollWidth`, &w)
			if w > 360 {
				t.Errorf("%s: page is %d px wide at a 360 px viewport", p, w)
			}
		}
	})

	step("token refreshed before it expires", func(t *testing.T) {
		// The page refreshes a 65 s token 5 s after it got it: wait for
		// that rather than count on the steps above lasting longer.
		deadline := time.Now().Add(20 * time.Second)
		for len(matching(b.all(), "POST "+s.GatewayURL+"/auth/refresh")) == 0 {
			if time.Now().After(deadline) {
				t.Fatal("the page never refreshed its token")
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	step("sign out", func(t *testing.T) {
		b.run(t, chromedp.Navigate(s.GatewayURL+"/report#/jobs"))
		b.poll(t, "jobs", `!!document.querySelector("#jobs")`, 10*time.Second)
		b.run(t, chromedp.Click(chromedp.CSS("#signout")))
		b.poll(t, "signed out", `!!document.querySelector("#username") && document.getElementById("nav").hidden`, 10*time.Second)
		b.run(t, chromedp.Navigate(s.GatewayURL+"/report#/jobs"))
		b.poll(t, "sign-in again", `!!document.querySelector("#username")`, 10*time.Second)
	})

	step("no request leaves the origin", func(t *testing.T) {
		var csp []string
		b.eval(t, `window.__csp`, &csp)
		if len(csp) != 0 {
			t.Errorf("CSP violations: %v", csp)
		}
		all := b.all()
		if len(all) < 20 {
			t.Fatalf("only %d requests recorded", len(all))
		}
		checkOrigin(t, all, s.GatewayURL)
	})
}

// checkOrigin: every request the page made went to the gateway's origin.
func checkOrigin(t *testing.T, reqs []string, origin string) {
	t.Helper()
	for _, r := range reqs {
		_, u, _ := strings.Cut(r, " ")
		if !strings.HasPrefix(u, origin+"/") && !strings.HasPrefix(u, "blob:"+origin) && !strings.HasPrefix(u, "data:") {
			t.Errorf("request left the origin: %s", r)
		}
	}
}

// shot saves a screenshot of the page to $REPORT_SCREENSHOTS/<name>.png
// (make bench-report sets it to docs/img).
func shot(t *testing.T, b *browser, name string) {
	dir := os.Getenv("REPORT_SCREENSHOTS")
	if dir == "" {
		return
	}
	time.Sleep(300 * time.Millisecond) // let the plots settle after a resize
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// countColour is a JavaScript function: how many pixels of the canvases
// matching a selector are close to a colour.
const countColour = `(sel, hex) => {
	const want = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
	let n = 0;
	for (const c of document.querySelectorAll(sel)) {
		if (!c.width || !c.height) continue;
		const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
		for (let i = 0; i < d.length; i += 4) {
			if (d[i + 3] > 200 && Math.abs(d[i] - want[0]) + Math.abs(d[i + 1] - want[1]) + Math.abs(d[i + 2] - want[2]) < 40) n++;
		}
	}
	return n;
}`

func matching(reqs []string, part string) []string {
	var out []string
	for _, r := range reqs {
		if strings.Contains(r, part) {
			out = append(out, r)
		}
	}
	return out
}

func reverse(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}
