// Package loadgen generates HTTP load and measures it. A run has Groups x
// Workers workers (the original tool's PROCESSES x conc/proc); each worker
// owns one connection (HTTP/1.1) and one Recorder, so the request path
// shares nothing but an atomic ticket counter.
//
// Two load models are offered. Closed (the default, like the original and
// wrk): each worker sends its next request as soon as the previous one is
// answered. Open (Rate > 0): request i is due at start + i/Rate whatever
// happened before; a free worker takes the next due request, and latency
// is measured from when the request was due, so a server stall shows up in
// the percentiles instead of silently lowering the request rate
// (coordinated omission). A worker that was idle and slept until a request
// was due measures from when it woke instead, so that timer wake-up jitter
// is not charged to the server.
package loadgen

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benchwrap/backend/loadgen/internal/h1"
)

// Engine selects the HTTP client implementation.
type Engine string

const (
	// EngineAuto uses EngineFast for HTTP/1.1 and EngineStd for HTTP/2.
	EngineAuto Engine = "auto"
	// EngineFast is the minimal keep-alive HTTP/1.1 client (package h1).
	EngineFast Engine = "fast"
	// EngineStd is net/http.
	EngineStd Engine = "std"
)

// Options describes a load run against one URL.
type Options struct {
	URL    *url.URL
	Method string
	Header http.Header
	Body   []byte
	// OK is the set of statuses counted as success (zero value: 200 only).
	OK StatusSet

	// Requests stops the run after this many requests (0: no limit).
	Requests int64
	// Duration stops the run after this long (0: no limit). At least one
	// of Requests and Duration must be set.
	Duration time.Duration
	// Rate > 0 selects the open model at Rate requests per second.
	Rate float64

	// Groups is the number of worker groups (the original's PROCESSES);
	// requests are split evenly between groups, and with net/http each
	// group has its own connection pool.
	Groups int
	// Workers is the number of workers per group (conc/proc).
	Workers int
	// Timeout bounds each request, connection set-up included. To save a
	// deadline update per request, the fast engine may enforce it up to
	// Timeout/16 early.
	Timeout time.Duration

	HTTP2    bool
	Insecure bool
	Engine   Engine
}

// Result is the outcome of a run.
type Result struct {
	Stats
	// Elapsed runs from the start until the last request finished.
	Elapsed time.Duration
	// Protocol is the HTTP version spoken, e.g. "HTTP/1.1" or "HTTP/2.0".
	Protocol string
	// Engine is the client implementation used.
	Engine Engine
	// MaxStartLag (open model) is the largest delay between when a request
	// was due and when a worker could send it, because every worker was
	// still busy; a large value means latencies include queueing.
	MaxStartLag time.Duration
	// Interrupted is set when the context was cancelled before the end.
	Interrupted bool
}

// Runner runs one load test; Progress may be called while Run runs.
type Runner struct {
	opt     Options
	engine  Engine
	workers []*worker
	groups  []*group
	proto   atomic.Pointer[string]

	reqCtx  context.Context // net/http requests; cancelled on interrupt
	cancel  context.CancelFunc
	start   atomic.Pointer[time.Time]
	stop    atomic.Bool   // no new requests
	aborted atomic.Bool   // interrupted: requests in flight are broken off
	stopped chan struct{} // closed with stop
	once    sync.Once
}

type group struct {
	next  atomic.Int64
	quota int64 // <0: no limit
}

type worker struct {
	r      *Runner
	g      *group
	d      doer
	rec    *Recorder
	timer  *time.Timer
	maxLag time.Duration
}

// New validates o and prepares the workers (nothing is dialled yet).
func New(o Options) (*Runner, error) {
	if o.URL == nil {
		return nil, errors.New("no URL")
	}
	if o.URL.Scheme != "http" && o.URL.Scheme != "https" {
		return nil, fmt.Errorf("unsupported URL scheme %q (want http or https)", o.URL.Scheme)
	}
	if o.Requests <= 0 && o.Duration <= 0 {
		return nil, errors.New("set a request count or a duration")
	}
	if o.Groups < 1 || o.Workers < 1 {
		return nil, errors.New("groups and workers must be at least 1")
	}
	if o.Timeout <= 0 {
		return nil, errors.New("timeout must be positive")
	}
	if o.Rate < 0 {
		return nil, errors.New("rate must be positive")
	}
	if o.Method == "" {
		o.Method = http.MethodGet
	}
	if o.OK == (StatusSet{}) {
		o.OK = StatusOK()
	}
	r := &Runner{opt: o, engine: o.Engine, stopped: make(chan struct{})}
	r.reqCtx, r.cancel = context.WithCancel(context.Background())
	switch r.engine {
	case "", EngineAuto:
		r.engine = EngineFast
		if o.HTTP2 {
			r.engine = EngineStd
		}
	case EngineFast:
		if o.HTTP2 {
			return nil, errors.New("the fast engine speaks HTTP/1.1 only; use the std engine for HTTP/2")
		}
	case EngineStd:
	default:
		return nil, fmt.Errorf("unknown engine %q", o.Engine)
	}

	var fastReq *h1.Request
	if r.engine == EngineFast {
		var err error
		fastReq, err = h1.NewRequest(o.Method, o.URL, o.Header, o.Body, &tls.Config{InsecureSkipVerify: o.Insecure})
		if err != nil {
			return nil, err
		}
		p := "HTTP/1.1"
		r.proto.Store(&p)
	}
	for gi := 0; gi < o.Groups; gi++ {
		g := &group{quota: -1}
		if o.Requests > 0 {
			g.quota = o.Requests / int64(o.Groups)
			if int64(gi) < o.Requests%int64(o.Groups) {
				g.quota++
			}
		}
		r.groups = append(r.groups, g)
		var client *http.Client
		if r.engine == EngineStd {
			client = &http.Client{Transport: NewTransport(ClientOptions{
				Conns: o.Workers, HTTP2: o.HTTP2, Insecure: o.Insecure, DialTimeout: o.Timeout,
			}, o.URL.Scheme)}
		}
		for wi := 0; wi < o.Workers; wi++ {
			w := &worker{r: r, g: g, rec: NewRecorder()}
			if r.engine == EngineFast {
				c := h1.NewConn(fastReq)
				c.DeadlineSlack = o.Timeout / 16
				w.d = fastDoer{c}
			} else {
				d, err := newStdDoer(r.reqCtx, client, o.Method, o.URL, o.Header, o.Body, &r.proto)
				if err != nil {
					return nil, err
				}
				w.d = d
			}
			r.workers = append(r.workers, w)
		}
	}
	return r, nil
}

// Progress reports requests finished and OK so far and the time since the
// start (zero before Run).
func (r *Runner) Progress() (done, ok int64, elapsed time.Duration) {
	for _, w := range r.workers {
		done += w.rec.Done()
		ok += w.rec.Ok()
	}
	if s := r.start.Load(); s != nil {
		elapsed = time.Since(*s)
	}
	return done, ok, elapsed
}

// Run performs the load test. Cancelling ctx stops it early: requests in
// flight are abandoned and not counted, and the Result covers what finished.
func (r *Runner) Run(ctx context.Context) *Result {
	start := time.Now()
	r.start.Store(&start)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		var deadline <-chan time.Time
		if r.opt.Duration > 0 && r.opt.Rate == 0 {
			t := time.NewTimer(time.Until(start.Add(r.opt.Duration)))
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-runCtx.Done():
			if ctx.Err() != nil {
				r.halt(true)
			}
		case <-deadline:
			r.halt(false)
		}
	}()

	var wg sync.WaitGroup
	var last atomic.Int64
	for _, w := range r.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r.opt.Rate > 0 {
				w.runOpen(start)
			} else {
				w.runClosed()
			}
			w.d.Close()
			now := int64(time.Since(start))
			for {
				old := last.Load()
				if now <= old || last.CompareAndSwap(old, now) {
					break
				}
			}
		}()
	}
	wg.Wait()
	cancel()
	r.cancel()
	elapsed := time.Duration(last.Load())
	if elapsed <= 0 {
		elapsed = time.Since(start)
	}

	res := &Result{Elapsed: elapsed, Engine: r.engine, Interrupted: r.aborted.Load()}
	res.Stats = *NewStats()
	for _, w := range r.workers {
		res.Stats.Merge(w.rec.Stats())
		res.MaxStartLag = max(res.MaxStartLag, w.maxLag)
	}
	if p := r.proto.Load(); p != nil {
		res.Protocol = *p
	}
	return res
}

// halt stops workers from starting requests; abort also breaks off the
// requests in flight.
func (r *Runner) halt(abort bool) {
	if abort {
		r.aborted.Store(true)
	}
	r.stop.Store(true)
	r.once.Do(func() { close(r.stopped) })
	if abort {
		r.cancel() // net/http requests in flight
		for _, w := range r.workers {
			if fd, ok := w.d.(fastDoer); ok {
				fd.c.Abort()
			}
		}
	}
}

func (w *worker) record(status int, err error, latency time.Duration) {
	if err != nil {
		if w.r.aborted.Load() {
			return // broken off by the interrupt: not a server failure
		}
		w.rec.Error(err)
		return
	}
	w.rec.Response(status, latency, w.r.opt.OK.Has(status))
}

func (w *worker) runClosed() {
	r := w.r
	timeout := r.opt.Timeout
	for {
		if w.g.quota >= 0 && w.g.next.Add(1) > w.g.quota {
			return
		}
		if r.stop.Load() {
			return
		}
		start := time.Now()
		status, err := w.d.Do(start.Add(timeout))
		w.record(status, err, time.Since(start))
	}
}

func (w *worker) runOpen(start time.Time) {
	r := w.r
	period := float64(time.Second) / r.opt.Rate
	timeout := r.opt.Timeout
	sched := r.groups[0] // one schedule shared by every worker
	limit := r.opt.Requests
	for {
		i := sched.next.Add(1) - 1
		if limit > 0 && i >= limit {
			return
		}
		offset := time.Duration(float64(i) * period)
		if r.opt.Duration > 0 && offset >= r.opt.Duration {
			return
		}
		due := start.Add(offset)
		slept := false
		if wait := time.Until(due); wait > 0 {
			slept = true
			if w.timer == nil {
				w.timer = time.NewTimer(wait)
			} else {
				w.timer.Reset(wait)
			}
			select {
			case <-w.timer.C:
			case <-r.stopped:
				return
			}
		}
		if r.stop.Load() {
			return
		}
		sent := time.Now()
		origin := due
		if slept {
			// The worker was idle until the request was due: any delay is
			// the timer's wake-up jitter (about 1ms on Linux), not queueing
			// behind a slow server, so it is not charged to the request.
			origin = sent
		} else {
			w.maxLag = max(w.maxLag, sent.Sub(due))
		}
		status, err := w.d.Do(sent.Add(timeout))
		w.record(status, err, time.Since(origin))
	}
}
