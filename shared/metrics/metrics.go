// Package metrics holds the Prometheus series of the functions: requests,
// the database pool, password hashing and the analysis. The series live in
// one registry per process (Registry), served on a port of its own
// (Serve), never through the gateway. Recording is cheap and safe before
// anything is served, so library code calls the Observe functions freely.
package metrics

import (
	"context"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Namespace prefixes every series of ours.
const Namespace = "benchwrap"

// Registry holds every series of this process: ours, the Go runtime's and
// the process's.
var Registry = prometheus.NewRegistry()

// Buckets in seconds: requests span a JWT check (sub-millisecond) to an
// argon2 hash (tens of milliseconds) to an analysis (minutes).
var (
	requestBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}
	hashBuckets    = []float64{.005, .01, .02, .04, .08, .16, .32, .64, 1.28, 2.56}
	phaseBuckets   = []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800}
)

var (
	requests       = counterVec("http_requests_total", "Requests handled, by function, method (the route) and status.", "function", "method", "status")
	requestSeconds = histogramVec("http_request_duration_seconds", "Time from the request to its answer, by function and method.", requestBuckets, "function", "method")
	inFlight       = gaugeVec("http_requests_in_flight", "Requests being handled now, by function.", "function")

	hashSeconds     = histogram("password_hash_duration_seconds", "Time of one argon2 computation (hash or verify), excluding the wait for a slot.", hashBuckets)
	hashWaitSeconds = histogram("password_hash_wait_seconds", "Time a password hash waited for a free hashing slot.", hashBuckets)
	hashRejected    = counter("password_hash_rejected_total", "Password hashes refused (503 with Retry-After) because the wait for a slot would be too long.")
)

// Constructors of our series: each name is prefixed with Namespace.

func counter(name, help string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help})
}

func counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
}

func gaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help}, labels)
}

func histogram(name, help string, buckets []float64) prometheus.Histogram {
	return prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: name, Help: help, Buckets: buckets})
}

func histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: name, Help: help, Buckets: buckets}, labels)
}

// desc describes a series a collector reads at scrape time.
func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(Namespace+"_"+name, help, labels, nil)
}

func init() {
	Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	Registry.MustRegister(ours()...)
}

// ours are the collectors of this package's series.
func ours() []prometheus.Collector {
	return []prometheus.Collector{
		requests, requestSeconds, inFlight,
		hashSeconds, hashWaitSeconds, hashRejected,
		poolCollector{}, queueCollector{},
		jobs, phaseSeconds, phaseBytes, phaseRows,
	}
}

// statusLabels avoids formatting the common statuses on every request.
var statusLabels sync.Map // int -> string

func statusLabel(code int) string {
	if v, ok := statusLabels.Load(code); ok {
		return v.(string)
	}
	s := strconv.Itoa(code)
	statusLabels.Store(code, s)
	return s
}

// StartRequest counts a request in flight; call the returned function
// with the answer's status when it is sent.
func StartRequest(function, method string) (done func(status int)) {
	start := time.Now()
	g := inFlight.WithLabelValues(function)
	g.Inc()
	return func(status int) {
		if status == 0 {
			status = 200 // what an unset status is sent as
		}
		g.Dec()
		requests.WithLabelValues(function, method, statusLabel(status)).Inc()
		requestSeconds.WithLabelValues(function, method).Observe(time.Since(start).Seconds())
	}
}

// ObserveHash records one argon2 computation.
func ObserveHash(d time.Duration) { hashSeconds.Observe(d.Seconds()) }

// HashWait records how long a hash waited for a slot.
func HashWait(d time.Duration) { hashWaitSeconds.Observe(d.Seconds()) }

// HashRejected counts a hash refused because the wait would be too long.
func HashRejected() { hashRejected.Inc() }

// withTimeout bounds a collector's call into the database.
func withTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

// Names lists the metric families this package defines (histograms by
// their base name), for checks of dashboards and documentation.
func Names() []string {
	ch := make(chan *prometheus.Desc, 64)
	go func() {
		for _, c := range ours() {
			c.Describe(ch)
		}
		close(ch)
	}()
	var names []string
	for d := range ch {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			names = append(names, m[1])
		}
	}
	return names
}

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)
