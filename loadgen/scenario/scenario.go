// Package scenario drives this backend's user flows under load. N users are
// registered once; then every virtual user (VU) loops
//
//	login -> refresh -> presign -> [PUT to the presigned URL] -> list
//
// with its own tokens, always keeping the newest refresh token because the
// backend rotates them (a reused refresh token revokes its whole family).
// The "auth" scenario stops at presign and list; "upload" also PUTs a small
// .h5 file through the presigned URL. Each step is measured separately.
package scenario

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benchwrap/backend/loadgen"
	"github.com/benchwrap/backend/loadgen/internal/h1"
)

// Names of the scenarios.
const (
	Auth   = "auth"
	Upload = "upload"
)

// Step is one measured endpoint.
type Step int

// The steps, in the order a VU runs them.
const (
	Register Step = iota
	Login
	Refresh
	Presign
	Put
	List
	numSteps
)

var stepNames = [numSteps]string{"register", "login", "refresh", "presign", "put", "list"}

func (s Step) String() string { return stepNames[s] }

// HDF5Signature starts every HDF5 file.
const HDF5Signature = "\x89HDF\r\n\x1a\n"

// Config describes a scenario run.
type Config struct {
	// Base is the API base URL; routes such as /auth/login are appended
	// to it, so it may end in /api.
	Base *url.URL
	// Name is Auth or Upload.
	Name string
	// VUs is the number of virtual users; Groups splits them between
	// connection pools (VU i uses pool i % Groups).
	VUs, Groups int
	// Users is the number of accounts registered (VU i logs in as user
	// i % Users); 0 means one per VU.
	Users int
	// Prefix starts every username (a random one when empty); usernames
	// are Prefix + a zero-padded index and must be 5-20 characters of
	// [A-Za-z0-9_-].
	Prefix string
	// Password for every user (a random one when empty).
	Password string
	// ReuseUsers accepts 409 (already registered) from register, for
	// re-running with a fixed Prefix and Password.
	ReuseUsers bool
	// Duration stops VUs from starting new iterations after this long;
	// Iterations stops them after this many iterations in total. At least
	// one must be set.
	Duration   time.Duration
	Iterations int64
	// Timeout bounds each request.
	Timeout time.Duration
	// Legacy uses the query-string routes the original client uses:
	// POST /auth/password?u=&p= and POST /auth/refresh?rid=.
	Legacy bool
	// UploadSize is the size of the .h5 payload (Upload only).
	UploadSize int
	// Objects is how many distinct object names each VU cycles through,
	// which bounds what the list step returns.
	Objects int
	// Header is added to every API request (not to the presigned PUT).
	Header http.Header
	// HTTP2 and Insecure configure the transport as for plain runs.
	HTTP2, Insecure bool
	// RegisterConcurrency bounds parallel registrations (default 8).
	RegisterConcurrency int
}

// Endpoint is the outcome of one step.
type Endpoint struct {
	Step  Step
	Stats *loadgen.Stats
}

// Result is the outcome of a scenario run.
type Result struct {
	// Elapsed is the length of the loop phase (registration excluded).
	Elapsed time.Duration
	// RegisterElapsed is the length of the registration phase.
	RegisterElapsed time.Duration
	// Iterations counts loop iterations finished (successfully or not).
	Iterations int64
	// Failed counts iterations that stopped at a failed step.
	Failed int64
	// Endpoints lists the steps this scenario ran, in order.
	Endpoints []Endpoint
	// Users are the registered usernames' prefix and count.
	Prefix      string
	Users       int
	Interrupted bool
}

// Runner runs a scenario; Progress may be called while it runs.
type Runner struct {
	cfg       Config
	vus       []*vu
	regs      []*loadgen.Recorder // one per registering goroutine
	payload   []byte
	steps     []Step
	tickets   atomic.Int64 // iterations started (for the Iterations cap)
	iter      atomic.Int64 // iterations finished
	failed    atomic.Int64
	start     atomic.Pointer[time.Time]
	usernames []string
}

type vu struct {
	r       *Runner
	id      int
	client  *http.Client
	user    string
	access  string
	refresh string
	recs    [numSteps]*loadgen.Recorder
	n       int
}

var userChars = regexp.MustCompile(`^[A-Za-z0-9_-]*$`)

// New validates cfg and prepares the VUs.
func New(cfg Config) (*Runner, error) {
	if cfg.Name != Auth && cfg.Name != Upload {
		return nil, fmt.Errorf("unknown scenario %q (want %s or %s)", cfg.Name, Auth, Upload)
	}
	if cfg.Base == nil || (cfg.Base.Scheme != "http" && cfg.Base.Scheme != "https") || cfg.Base.Host == "" {
		return nil, errors.New("scenario needs an http(s) base URL")
	}
	if cfg.VUs < 1 {
		return nil, errors.New("need at least one virtual user")
	}
	if cfg.Groups < 1 {
		cfg.Groups = 1
	}
	if cfg.Users <= 0 {
		cfg.Users = cfg.VUs
	}
	if cfg.Duration <= 0 && cfg.Iterations <= 0 {
		return nil, errors.New("set a duration or an iteration count")
	}
	if cfg.Timeout <= 0 {
		return nil, errors.New("timeout must be positive")
	}
	if cfg.Objects <= 0 {
		cfg.Objects = 4
	}
	if cfg.UploadSize < len(HDF5Signature) {
		cfg.UploadSize = 4096
	}
	if cfg.RegisterConcurrency <= 0 {
		cfg.RegisterConcurrency = 8
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "lt" + strings.ToLower(rand.Text()[:6]) + "_"
	}
	if cfg.Password == "" {
		cfg.Password = rand.Text()
	}
	if n := len(cfg.Password); n < 8 || n > 128 {
		return nil, errors.New("password must be 8-128 characters")
	}
	if !userChars.MatchString(cfg.Prefix) {
		return nil, fmt.Errorf("user prefix %q: only A-Z a-z 0-9 _ - allowed", cfg.Prefix)
	}
	width := max(3, len(strconv.Itoa(cfg.Users-1)))
	r := &Runner{cfg: cfg, payload: Payload(cfg.UploadSize)}
	for i := 0; i < cfg.Users; i++ {
		name := fmt.Sprintf("%s%0*d", cfg.Prefix, width, i)
		if len(name) < 5 || len(name) > 20 {
			return nil, fmt.Errorf("username %q must be 5-20 characters: shorten the prefix", name)
		}
		r.usernames = append(r.usernames, name)
	}
	r.steps = []Step{Login, Refresh, Presign, List}
	if cfg.Name == Upload {
		r.steps = []Step{Login, Refresh, Presign, Put, List}
	}
	clients := make([]*http.Client, cfg.Groups)
	perGroup := (cfg.VUs + cfg.Groups - 1) / cfg.Groups
	for i := range clients {
		clients[i] = &http.Client{
			Transport: loadgen.NewTransport(loadgen.ClientOptions{
				Conns: perGroup, HTTP2: cfg.HTTP2, Insecure: cfg.Insecure, DialTimeout: cfg.Timeout,
			}, cfg.Base.Scheme),
			Timeout: cfg.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	for i := 0; i < cfg.VUs; i++ {
		v := &vu{r: r, id: i, client: clients[i%cfg.Groups], user: r.usernames[i%cfg.Users]}
		for s := range v.recs {
			v.recs[s] = loadgen.NewRecorder()
		}
		r.vus = append(r.vus, v)
	}
	return r, nil
}

// Payload returns size bytes that start with the HDF5 signature.
func Payload(size int) []byte {
	b := make([]byte, 0, size)
	b = append(b, HDF5Signature...)
	filler := []byte("benchwrap loadtest payload\n")
	for len(b) < size {
		b = append(b, filler[:min(len(filler), size-len(b))]...)
	}
	return b[:max(size, len(HDF5Signature))]
}

// Usernames returns the accounts the run uses.
func (r *Runner) Usernames() []string { return r.usernames }

// Progress reports loop requests finished and OK so far, and the time
// since the loop phase started (zero while registering).
func (r *Runner) Progress() (done, ok int64, elapsed time.Duration) {
	for _, v := range r.vus {
		for _, s := range r.steps {
			done += v.recs[s].Done()
			ok += v.recs[s].Ok()
		}
	}
	if s := r.start.Load(); s != nil {
		elapsed = time.Since(*s)
	}
	return done, ok, elapsed
}

// ErrRegistration is returned when users could not be registered.
var ErrRegistration = errors.New("registration failed")

// Run registers the users, then runs the VUs. It returns an error (with
// the partial Result) when registration fails, since the loop would then
// only measure failed logins.
func (r *Runner) Run(ctx context.Context) (*Result, error) {
	res := &Result{Prefix: r.cfg.Prefix, Users: r.cfg.Users}
	regStart := time.Now()
	regErr := r.register(ctx)
	res.RegisterElapsed = time.Since(regStart)
	if regErr == nil && ctx.Err() == nil {
		start := time.Now()
		r.start.Store(&start)
		var wg sync.WaitGroup
		for _, v := range r.vus {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v.loop(ctx, start)
			}()
		}
		wg.Wait()
		res.Elapsed = time.Since(start)
	}
	res.Iterations = r.iter.Load()
	res.Failed = r.failed.Load()
	res.Interrupted = ctx.Err() != nil
	reg := loadgen.NewStats()
	for _, rec := range r.regs {
		reg.Merge(rec.Stats())
	}
	res.Endpoints = append(res.Endpoints, Endpoint{Step: Register, Stats: reg})
	for _, s := range r.steps {
		st := loadgen.NewStats()
		for _, v := range r.vus {
			st.Merge(v.recs[s].Stats())
		}
		res.Endpoints = append(res.Endpoints, Endpoint{Step: s, Stats: st})
	}
	return res, regErr
}

func (r *Runner) register(ctx context.Context) error {
	client := r.vus[0].client
	names := make(chan string)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for i := 0; i < min(r.cfg.RegisterConcurrency, len(r.usernames)); i++ {
		rec := loadgen.NewRecorder()
		r.regs = append(r.regs, rec)
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := &vu{r: r, client: client}
			for name := range names {
				body, _ := json.Marshal(map[string]string{"username": name, "password": r.cfg.Password})
				want := func(c int) bool {
					return c == http.StatusCreated || (r.cfg.ReuseUsers && c == http.StatusConflict)
				}
				err := v.call(ctx, rec, http.MethodPost, r.route("/auth/register", nil), body, nil, want, nil)
				if err != nil && ctx.Err() == nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("%w for %s: %v", ErrRegistration, name, err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, name := range r.usernames {
		select {
		case names <- name:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(names)
	wg.Wait()
	return firstErr
}

// route appends path (and query) to the base URL.
func (r *Runner) route(path string, q url.Values) string {
	u := *r.cfg.Base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawPath = ""
	u.RawQuery = q.Encode()
	return u.String()
}

type tokens struct {
	Access  string `json:"access"`
	Refresh string `json:"refresh"`
}

type presigned struct {
	Key     string            `json:"key"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
}

type listing struct {
	Objects *[]json.RawMessage `json:"objects"`
}

func (v *vu) loop(ctx context.Context, start time.Time) {
	r := v.r
	for ctx.Err() == nil {
		if r.cfg.Duration > 0 && time.Since(start) >= r.cfg.Duration {
			return
		}
		if r.cfg.Iterations > 0 && r.tickets.Add(1) > r.cfg.Iterations {
			return
		}
		err := v.iteration(ctx)
		if ctx.Err() != nil {
			return
		}
		r.iter.Add(1)
		if err != nil {
			r.failed.Add(1)
			// Back off briefly so a failing step does not spin.
			select {
			case <-time.After(50 * time.Millisecond):
			case <-ctx.Done():
			}
		}
	}
}

func (v *vu) iteration(ctx context.Context) error {
	r := v.r
	cfg := &r.cfg
	bearer := func() http.Header { return http.Header{"Authorization": {"Bearer " + v.access}} }
	var tok tokens

	// login
	var loginURL string
	var body []byte
	if cfg.Legacy {
		loginURL = r.route("/auth/password", url.Values{"u": {v.user}, "p": {cfg.Password}})
	} else {
		loginURL = r.route("/auth/login", nil)
		body, _ = json.Marshal(map[string]string{"username": v.user, "password": cfg.Password})
	}
	if err := v.call(ctx, v.recs[Login], http.MethodPost, loginURL, body, nil, is200, &tok); err != nil {
		return err
	}
	v.access, v.refresh = tok.Access, tok.Refresh

	// refresh: the old refresh token is spent whatever the outcome
	var refreshURL string
	body = nil
	if cfg.Legacy {
		refreshURL = r.route("/auth/refresh", url.Values{"rid": {v.refresh}})
	} else {
		refreshURL = r.route("/auth/refresh", nil)
		body, _ = json.Marshal(map[string]string{"refresh": v.refresh})
	}
	v.refresh = ""
	tok = tokens{}
	if err := v.call(ctx, v.recs[Refresh], http.MethodPost, refreshURL, body, nil, is200, &tok); err != nil {
		return err
	}
	v.access, v.refresh = tok.Access, tok.Refresh

	// presign
	object := fmt.Sprintf("loadtest_vu%04d_%d.h5", v.id, v.n%cfg.Objects)
	v.n++
	var ps presigned
	presignURL := r.route("/storage/presign/upload", url.Values{"object_name": {object}, "benchmark_name": {"loadtest"}})
	if err := v.call(ctx, v.recs[Presign], http.MethodPost, presignURL, nil, bearer(), is200, &ps); err != nil {
		return err
	}

	// PUT through the presigned URL, with every header the presign asked
	// for, then the Content-Type the real client sends for .h5 files.
	if cfg.Name == Upload {
		h := http.Header{}
		for k, val := range ps.Headers {
			h.Set(k, val)
		}
		h.Set("Content-Type", "application/x-hdf5")
		if err := v.put(ctx, ps.URL, h); err != nil {
			return err
		}
	}

	// list
	var ls listing
	return v.call(ctx, v.recs[List], http.MethodGet, r.route("/storage/list", nil), nil, bearer(), is200, &ls)
}

func is200(c int) bool { return c == http.StatusOK }

// put sends the payload to a presigned URL: not an API route, so without
// the API headers; any 2xx is success.
func (v *vu) put(ctx context.Context, target string, h http.Header) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, target, bytes.NewReader(v.r.payload))
	if err != nil {
		v.recs[Put].Error(err)
		return err
	}
	req.Header = h
	return v.send(ctx, v.recs[Put], req, func(c int) bool { return c >= 200 && c < 300 }, nil)
}

// call sends one API request (with the configured extra headers and, for
// a body, Content-Type: application/json) and hands it to send.
func (v *vu) call(ctx context.Context, rec *loadgen.Recorder, method, target string, body []byte, header http.Header, ok func(int) bool, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		rec.Error(err)
		return err
	}
	for k, vals := range v.r.cfg.Header {
		req.Header[http.CanonicalHeaderKey(k)] = vals
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, vals := range header {
		req.Header[k] = vals
	}
	if h := req.Header.Get("Host"); h != "" {
		req.Host = h
	}
	return v.send(ctx, rec, req, ok, out)
}

// send performs req, records it in rec and decodes a JSON body into out
// (when out is not nil). Statuses for which ok is false are failures.
func (v *vu) send(ctx context.Context, rec *loadgen.Recorder, req *http.Request, ok func(int) bool, out any) error {
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", h1.UserAgent)
	}
	method := req.Method
	start := time.Now()
	resp, err := v.client.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			rec.Error(err)
		}
		return err
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	resp.Body.Close()
	latency := time.Since(start)
	if err != nil {
		if ctx.Err() == nil {
			rec.Error(err)
		}
		return err
	}
	if !ok(resp.StatusCode) {
		rec.Response(resp.StatusCode, latency, false)
		msg := fmt.Sprintf("%s %s: %s", method, redact(req.URL), snippet(data))
		rec.Note(fmt.Sprintf("status %d", resp.StatusCode), msg)
		return fmt.Errorf("status %d: %s", resp.StatusCode, snippet(data))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil || !complete(out) {
			err = fmt.Errorf("%w: %s %s: %s", loadgen.ErrInvalidBody, method, redact(req.URL), snippet(data))
			rec.Error(err)
			return err
		}
	}
	rec.Response(resp.StatusCode, latency, true)
	return nil
}

// complete checks the fields a later step depends on.
func complete(out any) bool {
	switch o := out.(type) {
	case *tokens:
		return o.Access != "" && o.Refresh != ""
	case *presigned:
		return o.URL != ""
	case *listing:
		return o.Objects != nil
	}
	return true
}

// redact drops the query (it may hold passwords, refresh tokens or
// signatures) from URLs kept in error samples.
func redact(u *url.URL) string {
	c := *u
	if c.RawQuery != "" {
		c.RawQuery = "..."
	}
	return c.String()
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
