// Command loadtest is benchwrap's HTTP load generator: a drop-in for the
// original backend's performance_test/requests.py (same arguments, same
// closing line) that also offers an open-model constant rate, latency
// percentiles, JSON output, HTTP/2 and h2c, and scenarios that exercise the
// benchwrap API's login, refresh, presign, upload and list flows. Run it
// with --help for the details.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/benchwrap/backend/loadgen"
	"github.com/benchwrap/backend/loadgen/report"
	"github.com/benchwrap/backend/loadgen/scenario"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if os.Getenv("GOGC") == "" {
		// The request path barely allocates; collect garbage rarely so the
		// collector does not compete with the server under test for CPU.
		debug.SetGCPercent(400)
	}
	os.Exit(run(ctx, os.Args[1:], env{
		stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin,
		getenv: os.Getenv, numCPU: runtime.NumCPU(), tty: isTerminal(os.Stderr),
	}))
}

// env is the outside world of a run, replaceable in tests.
type env struct {
	stdout, stderr io.Writer
	stdin          io.Reader
	getenv         func(string) string
	numCPU         int
	tty            bool // stderr is a terminal: show progress
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func run(ctx context.Context, args []string, e env) int {
	if len(args) > 0 && args[0] == "serve" {
		return serve(ctx, args[1:], e)
	}
	cfg, err := parseArgs(args, e.getenv, e.numCPU, e.stdin)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(e.stdout, usage, max(1, e.numCPU), defaultScenarioVUs, defaultScenarioDuration, defaultScenarioTimeout)
		return 0
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "loadtest: %v\n(see loadtest --help)\n", err)
		var u errUsage
		if errors.As(err, &u) {
			return 2
		}
		return 1
	}
	if cfg.scenario != "" {
		return runScenario(ctx, cfg, e)
	}
	return runPlain(ctx, cfg, e)
}

func runPlain(ctx context.Context, cfg *config, e env) int {
	r, err := loadgen.New(loadgen.Options{
		URL: cfg.url, Method: cfg.method, Header: cfg.header, Body: cfg.body, OK: cfg.ok,
		Requests: cfg.requests, Duration: cfg.duration, Rate: cfg.rate,
		Groups: cfg.processes, Workers: cfg.workersPerG, Timeout: cfg.timeout,
		HTTP2: cfg.http2, Insecure: cfg.insecure, Engine: cfg.engine,
	})
	if err != nil {
		fmt.Fprintf(e.stderr, "loadtest: %v\n", err)
		return 1
	}
	stopProgress := startProgress(e, cfg, r.Progress)
	res := r.Run(ctx)
	stopProgress()

	info := report.RunInfo{
		URL: cfg.url.String(), Method: cfg.method, Rate: cfg.rate,
		Procs: cfg.processes, ConcPerProc: cfg.workersPerG, Timeout: cfg.timeout,
	}
	switch {
	case cfg.json:
		report.WriteJSON(e.stdout, report.NewRun(info, res))
	case cfg.quiet:
		fmt.Fprintln(e.stdout, report.DoneLine(res.Count, res.Elapsed, res.OK, res.Fail(), cfg.processes, cfg.workersPerG))
	default:
		report.WriteText(e.stdout, info, res)
	}
	if res.Interrupted {
		return exitInterrupted
	}
	return 0
}

// exitInterrupted is the status after Ctrl-C or SIGTERM (as a shell
// reports a process killed by SIGINT); the report is printed all the same.
const exitInterrupted = 130

func runScenario(ctx context.Context, cfg *config, e env) int {
	r, err := scenario.New(scenario.Config{
		Base: cfg.url, Name: cfg.scenario, VUs: cfg.concurrency, Groups: cfg.processes,
		Users: cfg.users, Prefix: cfg.userPrefix, Password: cfg.password, ReuseUsers: cfg.reuseUsers,
		Duration: cfg.duration, Iterations: cfg.requests, Timeout: cfg.timeout,
		Legacy: cfg.legacyAuth, UploadSize: cfg.uploadSize, Objects: cfg.objects,
		Header: cfg.header, HTTP2: cfg.http2, Insecure: cfg.insecure,
	})
	if err != nil {
		fmt.Fprintf(e.stderr, "loadtest: %v\n", err)
		return 1
	}
	stopProgress := startProgress(e, cfg, r.Progress)
	res, runErr := r.Run(ctx)
	stopProgress()
	s := report.NewScenario(report.ScenarioInfo{
		Name: cfg.scenario, BaseURL: cfg.url.String(), VUs: cfg.concurrency, Procs: cfg.processes,
	}, res)
	switch {
	case cfg.json:
		report.WriteJSON(e.stdout, s)
	case cfg.quiet:
		fmt.Fprintln(e.stdout, s.Done)
	default:
		report.WriteScenarioText(e.stdout, s)
	}
	if runErr != nil {
		fmt.Fprintf(e.stderr, "loadtest: %v\n", runErr)
		return 1
	}
	if res.Interrupted {
		return exitInterrupted
	}
	for _, ep := range s.Endpoints {
		if ep.Fail > 0 {
			return 1
		}
	}
	return 0
}

// startProgress shows a live status line on stderr, refreshed twice a
// second, when stderr is a terminal. The returned function erases it.
func startProgress(e env, cfg *config, progress func() (done, ok int64, elapsed time.Duration)) func() {
	if !e.tty || !cfg.progress {
		return func() {}
	}
	quit := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		var lastDone int64
		var lastAt time.Duration
		for {
			select {
			case <-quit:
				fmt.Fprint(e.stderr, "\r\033[K")
				return
			case <-t.C:
			}
			done, ok, elapsed := progress()
			rate := 0.0
			if dt := (elapsed - lastAt).Seconds(); dt > 0 {
				rate = float64(done-lastDone) / dt
			}
			lastDone, lastAt = done, elapsed
			fmt.Fprintf(e.stderr, "\r\033[K%7.1fs  %d requests  ok %d  fail %d  %.0f req/s",
				elapsed.Seconds(), done, ok, done-ok, rate)
		}
	}()
	return func() {
		close(quit)
		<-finished
	}
}
