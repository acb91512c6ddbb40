package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/benchwrap/backend/loadgen"
	"github.com/benchwrap/backend/loadgen/scenario"
)

// Defaults of the original performance_test/requests.py.
const (
	defaultRequests    = 1_000_000
	defaultConcurrency = 1000
	defaultTimeout     = 2 * time.Second
)

// Scenario defaults, where the original's make no sense for login flows.
const (
	defaultScenarioVUs      = 10
	defaultScenarioDuration = 60 * time.Second
	defaultScenarioTimeout  = 30 * time.Second
)

const usage = `Usage:
  loadtest URL [REQUESTS [CONCURRENCY [PROCESSES [TIMEOUT]]]] [--http2] [flags]
  loadtest --scenario auth|upload BASE_URL [ITERATIONS [VUS [PROCESSES [TIMEOUT]]]] [flags]

Sends REQUESTS requests to URL (GET of URL exactly as given, unless -m/-d say
otherwise) from CONCURRENCY workers, then prints a report that ends with the
line of the original performance_test/requests.py:
  done: N in Xs, rps=..., ok=..., fail=..., procs=P, conc/proc=C
where rps counts failed requests too (as the original; the report above it
also gives the rate of OK requests).

Positional arguments (same meaning and defaults as the original):
  URL          http:// or https:// URL, requested exactly as given
  REQUESTS     number of requests (default 1000000; no limit when --duration is set)
  CONCURRENCY  total number of workers, each with its own connection (default 1000)
  PROCESSES    number of worker groups (default: CPU count, here %d). Groups are
               goroutine groups inside this one process, not OS processes or
               threads: each group gets an even share of REQUESTS and
               max(1, CONCURRENCY/PROCESSES) workers (conc/proc); with net/http
               (--http2) each group also has its own connection pool. Go runs
               all goroutines on every CPU (GOMAXPROCS) whatever PROCESSES is.
  TIMEOUT      per-request timeout in seconds, e.g. 2.0 or 500ms (default 2.0);
               the HTTP/1.1 client may enforce it up to 1/16 early

Flags (single or double dash):
  -n, -c, -p, -t VALUE      REQUESTS, CONCURRENCY, PROCESSES, TIMEOUT as flags
  --http2                   HTTP/2: negotiated by ALPN for https://, prior
                            knowledge (h2c) for http://. Also set by env HTTP2=1
  -m, --method METHOD       request method (default GET, or POST with -d)
  -H, --header 'Name: v'    add a request header (repeatable; Host is honoured)
  -d, --data BODY|@FILE     request body, literal or read from FILE (@- = stdin)
  --ok LIST                 statuses counted as OK (default 200): codes, ranges
                            and classes, e.g. 200,201 or 200-299 or 2xx
  --duration D              stop after D (e.g. 30s, 2m); with REQUESTS, at
                            whichever comes first
  --rate R                  open model: start R requests per second on a fixed
                            schedule (request i due at start + i/R) using the
                            CONCURRENCY workers as a pool. Latency counts from
                            when each request was due, so a stalled server shows
                            in the percentiles (no coordinated omission)
  --json                    print a JSON report on stdout instead of text
  -q, --quiet               print only the done line
  --no-progress             no live progress line (shown on stderr, and only
                            when stderr is a terminal)
  -k, --insecure            do not verify TLS certificates
  --engine auto|fast|std    HTTP client: fast is the built-in keep-alive
                            HTTP/1.1 client, std is Go's net/http; auto (the
                            default) uses fast unless --http2

Latency percentiles (p50, p90, p99, p99.9, max) come from a log-linear
histogram with under 0.4%% relative error; requests that got no response are
counted as errors by kind, not as latencies.

Scenarios against the benchwrap API (BASE_URL may end in /api):
  --scenario auth           register the users once, then every virtual user
                            (VU) loops login, refresh, presign, list
  --scenario upload         the same, plus a PUT of a small .h5 file through the
                            presigned URL after presign
  In scenario mode ITERATIONS (REQUESTS) caps the total loop iterations,
  VUS (CONCURRENCY) is the number of virtual users (default %d), the run lasts
  --duration (default %v; each VU then finishes the iteration it is in) and
  TIMEOUT defaults to %v. Each VU keeps its own access and refresh token and
  always uses the newest refresh token.
  --users N                 accounts to register (default: one per VU); VU i
                            logs in as user i mod N
  --user-prefix P           username prefix (default: random per run, e.g.
                            ltk3x9qa_); usernames are P + index, 5-20 chars
  --password P              password for every user (default: random)
  --reuse-users             accept 409 from register (re-runs with a fixed
                            --user-prefix and --password)
  --legacy-auth             use POST /auth/password?u=&p= and
                            /auth/refresh?rid= instead of the JSON routes
  --upload-size BYTES       size of the uploaded .h5 file (default 4096)
  --objects N               object names each VU cycles through (default 4)
  Prints requests, failures, req/s and latency percentiles per endpoint.

Exit status: 0 when a run completes (failed requests included, as the
original), 1 when a scenario had any failure or the run could not start,
2 for usage errors, 130 when interrupted (Ctrl-C or SIGTERM: the report of
what finished is printed first).
`

// config is the parsed command line.
type config struct {
	url         *url.URL
	requests    int64
	requestsSet bool
	concurrency int
	concSet     bool
	processes   int
	timeout     time.Duration
	timeoutSet  bool

	http2    bool
	method   string
	header   http.Header
	body     []byte
	ok       loadgen.StatusSet
	duration time.Duration
	rate     float64
	json     bool
	quiet    bool
	progress bool
	insecure bool
	engine   loadgen.Engine

	scenario    string
	users       int
	userPrefix  string
	password    string
	reuseUsers  bool
	legacyAuth  bool
	uploadSize  int
	objects     int
	workersPerG int
}

type headerFlag struct{ h http.Header }

func (f *headerFlag) String() string { return "" }
func (f *headerFlag) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") {
		return fmt.Errorf("header %q: want 'Name: value'", v)
	}
	f.h.Add(name, strings.TrimSpace(value))
	return nil
}

type errUsage struct{ error }

// parseArgs reads the command line. Flags and positional arguments may be
// mixed, as with Python's argparse.
func parseArgs(args []string, getenv func(string) string, numCPU int, stdin io.Reader) (*config, error) {
	c := &config{header: http.Header{}, progress: true}
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		nFlag, cFlag, pFlag, tFlag string
		data, okList, engine       string
		help                       bool
	)
	hf := &headerFlag{c.header}
	fs.BoolVar(&help, "h", false, "")
	fs.BoolVar(&help, "help", false, "")
	fs.StringVar(&nFlag, "n", "", "")
	fs.StringVar(&cFlag, "c", "", "")
	fs.StringVar(&pFlag, "p", "", "")
	fs.StringVar(&tFlag, "t", "", "")
	fs.BoolVar(&c.http2, "http2", false, "")
	for _, n := range []string{"m", "method"} {
		fs.StringVar(&c.method, n, "", "")
	}
	for _, n := range []string{"H", "header"} {
		fs.Var(hf, n, "")
	}
	for _, n := range []string{"d", "data"} {
		fs.StringVar(&data, n, "", "")
	}
	fs.StringVar(&okList, "ok", "200", "")
	fs.DurationVar(&c.duration, "duration", 0, "")
	fs.Float64Var(&c.rate, "rate", 0, "")
	fs.BoolVar(&c.json, "json", false, "")
	for _, n := range []string{"q", "quiet"} {
		fs.BoolVar(&c.quiet, n, false, "")
	}
	noProgress := fs.Bool("no-progress", false, "")
	for _, n := range []string{"k", "insecure"} {
		fs.BoolVar(&c.insecure, n, false, "")
	}
	fs.StringVar(&engine, "engine", "auto", "")
	fs.StringVar(&c.scenario, "scenario", "", "")
	fs.IntVar(&c.users, "users", 0, "")
	fs.StringVar(&c.userPrefix, "user-prefix", "", "")
	fs.StringVar(&c.password, "password", "", "")
	fs.BoolVar(&c.reuseUsers, "reuse-users", false, "")
	fs.BoolVar(&c.legacyAuth, "legacy-auth", false, "")
	fs.IntVar(&c.uploadSize, "upload-size", 4096, "")
	fs.IntVar(&c.objects, "objects", 4, "")

	var pos []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, flag.ErrHelp
			}
			return nil, errUsage{err}
		}
		left := fs.Args()
		if len(left) == 0 {
			break
		}
		if consumed := rest[:len(rest)-len(left)]; len(consumed) > 0 && consumed[len(consumed)-1] == "--" {
			pos = append(pos, left...)
			break
		}
		pos = append(pos, left[0])
		rest = left[1:]
	}
	if help {
		return nil, flag.ErrHelp
	}
	if len(pos) == 0 {
		return nil, errUsage{errors.New("missing URL")}
	}
	if len(pos) > 5 {
		return nil, errUsage{fmt.Errorf("too many arguments: %q", pos[5:])}
	}
	u, err := url.Parse(pos[0])
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errUsage{fmt.Errorf("URL %q: want http://host[:port]/path or https://...", pos[0])}
	}
	c.url = u

	// Positional arguments, and their flag forms (not both).
	pick := func(name string, i int, flagVal string) (string, error) {
		p := ""
		if i < len(pos) {
			p = pos[i]
		}
		if p != "" && flagVal != "" {
			return "", errUsage{fmt.Errorf("%s given twice", name)}
		}
		return p + flagVal, nil
	}
	if s, err := pick("REQUESTS", 1, nFlag); err != nil {
		return nil, err
	} else if s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return nil, errUsage{fmt.Errorf("REQUESTS %q: want a whole number >= 0", s)}
		}
		c.requests, c.requestsSet = n, true
	}
	c.concurrency = defaultConcurrency
	if s, err := pick("CONCURRENCY", 2, cFlag); err != nil {
		return nil, err
	} else if s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return nil, errUsage{fmt.Errorf("CONCURRENCY %q: want a whole number >= 1", s)}
		}
		c.concurrency, c.concSet = n, true
	}
	c.processes = max(1, numCPU)
	if s, err := pick("PROCESSES", 3, pFlag); err != nil {
		return nil, err
	} else if s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return nil, errUsage{fmt.Errorf("PROCESSES %q: want a whole number >= 1", s)}
		}
		c.processes = n
	}
	c.timeout = defaultTimeout
	if s, err := pick("TIMEOUT", 4, tFlag); err != nil {
		return nil, err
	} else if s != "" {
		d, err := parseSeconds(s)
		if err != nil {
			return nil, errUsage{fmt.Errorf("TIMEOUT %q: want seconds (2.5) or a duration (500ms)", s)}
		}
		c.timeout, c.timeoutSet = d, true
	}

	switch strings.ToLower(getenv("HTTP2")) {
	case "1", "true", "yes":
		c.http2 = true
	}
	c.progress = !*noProgress
	if c.ok, err = loadgen.ParseStatusSet(okList); err != nil {
		return nil, errUsage{fmt.Errorf("--ok: %w", err)}
	}
	if data != "" {
		if c.body, err = readBody(data, stdin); err != nil {
			return nil, err
		}
	}
	c.method = strings.ToUpper(c.method)
	if c.method == "" {
		c.method = http.MethodGet
		if data != "" {
			c.method = http.MethodPost
		}
	}
	if c.duration < 0 || c.rate < 0 {
		return nil, errUsage{errors.New("--duration and --rate must not be negative")}
	}
	c.engine = loadgen.Engine(engine)
	switch c.engine {
	case loadgen.EngineAuto, loadgen.EngineStd:
	case loadgen.EngineFast:
		if c.http2 {
			return nil, errUsage{errors.New("--engine fast speaks HTTP/1.1 only; drop it for --http2")}
		}
	default:
		return nil, errUsage{fmt.Errorf("--engine %q: want auto, fast or std", engine)}
	}
	c.workersPerG = max(1, c.concurrency/c.processes)

	if c.scenario != "" {
		if c.scenario != scenario.Auth && c.scenario != scenario.Upload {
			return nil, errUsage{fmt.Errorf("--scenario %q: want auth or upload", c.scenario)}
		}
		if c.rate > 0 {
			return nil, errUsage{errors.New("--rate does not apply to scenarios")}
		}
		if !c.concSet {
			c.concurrency = defaultScenarioVUs
		}
		if !c.timeoutSet {
			c.timeout = defaultScenarioTimeout
		}
		if !c.requestsSet && c.duration == 0 {
			c.duration = defaultScenarioDuration
		}
		c.workersPerG = max(1, c.concurrency/c.processes)
		return c, nil
	}
	if !c.requestsSet {
		c.requests = defaultRequests
		if c.duration > 0 {
			c.requests = 0 // run for the duration
		}
	}
	if c.requests == 0 && c.duration == 0 {
		return nil, errUsage{errors.New("REQUESTS 0 means no limit: give --duration too")}
	}
	return c, nil
}

// parseSeconds accepts "2", "2.5" (seconds, as the original) or "500ms".
func parseSeconds(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f <= 0 || f > 1e6 {
			return 0, errors.New("out of range")
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, errors.New("bad duration")
	}
	return d, nil
}

func readBody(data string, stdin io.Reader) ([]byte, error) {
	name, isFile := strings.CutPrefix(data, "@")
	if !isFile {
		return []byte(data), nil
	}
	if name == "-" {
		return io.ReadAll(stdin)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("-d: %w", err)
	}
	return b, nil
}
