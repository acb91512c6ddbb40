package loadgen

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/benchwrap/backend/loadgen/internal/h1"
	"github.com/benchwrap/backend/loadgen/internal/hdr"
)

// Stats summarises a set of requests: to one URL, or to one endpoint of a
// scenario.
type Stats struct {
	// Count is every finished request, answered or not.
	Count int64
	// OK counts responses whose status is in the OK set.
	OK int64
	// Latency holds the latency of every answered request, in nanoseconds.
	// Requests that failed without a response (Errors) are not in it.
	Latency *hdr.Histogram
	// Status counts responses by status code.
	Status map[int]int64
	// Errors counts requests that got no response, by ErrorKind.
	Errors map[string]int64
	// Samples holds the first error message seen for each kind in Errors
	// (and for unexpected statuses, keyed "status NNN"), for diagnosis.
	Samples map[string]string
}

// Fail counts every request that is not OK: other statuses and errors.
func (s *Stats) Fail() int64 { return s.Count - s.OK }

// NewStats returns empty stats.
func NewStats() *Stats {
	return &Stats{
		Latency: hdr.New(),
		Status:  map[int]int64{},
		Errors:  map[string]int64{},
		Samples: map[string]string{},
	}
}

// Merge adds o to s.
func (s *Stats) Merge(o *Stats) {
	s.Count += o.Count
	s.OK += o.OK
	s.Latency.Merge(o.Latency)
	for k, v := range o.Status {
		s.Status[k] += v
	}
	for k, v := range o.Errors {
		s.Errors[k] += v
	}
	for k, v := range o.Samples {
		if _, ok := s.Samples[k]; !ok {
			s.Samples[k] = v
		}
	}
}

// Recorder collects the outcome of requests for one worker. Only its owner
// may call Response and Error; Done and Ok may be read at any time (for a
// progress display). Recorders are merged into Stats at the end, so the
// request path takes no lock.
type Recorder struct {
	done   atomic.Int64
	ok     atomic.Int64
	hist   *hdr.Histogram
	status [600]int64
	odd    map[int]int64 // status codes outside 0..599
	errs   map[string]int64
	sample map[string]string
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder { return &Recorder{hist: hdr.New()} }

// Done returns how many requests finished so far.
func (r *Recorder) Done() int64 { return r.done.Load() }

// Ok returns how many of them were OK.
func (r *Recorder) Ok() int64 { return r.ok.Load() }

// Response records an answered request.
func (r *Recorder) Response(status int, latency time.Duration, ok bool) {
	r.hist.Record(int64(latency))
	if status >= 0 && status < len(r.status) {
		r.status[status]++
	} else {
		if r.odd == nil {
			r.odd = map[int]int64{}
		}
		r.odd[status]++
	}
	if ok {
		r.ok.Add(1)
	}
	r.done.Add(1)
}

// Note keeps msg as the sample for key unless one is already kept.
func (r *Recorder) Note(key, msg string) {
	if r.sample == nil {
		r.sample = map[string]string{}
	}
	if _, ok := r.sample[key]; !ok {
		r.sample[key] = msg
	}
}

// Error records a request that got no response.
func (r *Recorder) Error(err error) {
	kind := ErrorKind(err)
	if r.errs == nil {
		r.errs = map[string]int64{}
	}
	r.errs[kind]++
	r.Note(kind, err.Error())
	r.done.Add(1)
}

// Stats converts the recorder into Stats. Call it after the owner stopped.
func (r *Recorder) Stats() *Stats {
	s := NewStats()
	s.Count = r.done.Load()
	s.OK = r.ok.Load()
	s.Latency.Merge(r.hist)
	for code, n := range r.status {
		if n != 0 {
			s.Status[code] = n
		}
	}
	for code, n := range r.odd {
		s.Status[code] += n
	}
	for k, n := range r.errs {
		s.Errors[k] = n
	}
	for k, v := range r.sample {
		s.Samples[k] = v
	}
	return s
}

// ErrInvalidBody marks a response whose status was right but whose body
// could not be used (scenarios decode tokens and URLs from bodies).
var ErrInvalidBody = errors.New("invalid response body")

// ErrorKind names the class of a transport error, for reports.
func ErrorKind(err error) string {
	var (
		ne      net.Error
		dnsErr  *net.DNSError
		certErr *tls.CertificateVerificationError
		unkAuth x509.UnknownAuthorityError
		recErr  tls.RecordHeaderError
	)
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrInvalidBody):
		return "invalid body"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.As(err, &dnsErr):
		return "dns"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	case errors.As(err, &certErr), errors.As(err, &unkAuth), errors.As(err, &recErr):
		return "tls"
	case errors.Is(err, h1.ErrMalformed):
		return "malformed response"
	case errors.Is(err, syscall.EADDRNOTAVAIL), errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "local resources"
	}
	return "other"
}
