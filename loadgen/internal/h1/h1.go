// Package h1 is a minimal HTTP/1.1 client for load generation: one request,
// serialised once, is sent again and again over one keep-alive connection,
// and each response is parsed just enough to find its status and skip its
// body. It avoids the per-request allocations, goroutines and channel
// hand-offs of net/http, which matter when the load generator shares a
// small machine with the server under test.
package h1

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// UserAgent is sent unless the caller sets its own User-Agent header.
const UserAgent = "benchwrap-loadtest/1"

// ErrMalformed reports a response that is not valid HTTP/1.x.
var ErrMalformed = errors.New("malformed HTTP response")

// Request is a request in wire form together with where to send it.
type Request struct {
	wire      []byte
	addr      string
	tlsConfig *tls.Config
	noBody    bool // HEAD: responses carry no body
	retry     bool // idempotent: may be resent on a stale keep-alive connection
}

// NewRequest serialises method, u, header and body. u must be an absolute
// http or https URL; its path and query are sent exactly as given. A Host
// entry in header replaces the URL's host in the Host line. For https,
// tlsConfig (which may be nil) is cloned and restricted to HTTP/1.1.
func NewRequest(method string, u *url.URL, header http.Header, body []byte, tlsConfig *tls.Config) (*Request, error) {
	if method == "" {
		method = http.MethodGet
	}
	if strings.ContainsAny(method, " \r\n\t") {
		return nil, fmt.Errorf("invalid method %q", method)
	}
	r := &Request{
		noBody: method == http.MethodHead,
		retry: method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions ||
			method == http.MethodPut || method == http.MethodDelete,
	}
	port := u.Port()
	switch u.Scheme {
	case "http":
		if port == "" {
			port = "80"
		}
	case "https":
		if port == "" {
			port = "443"
		}
		cfg := &tls.Config{}
		if tlsConfig != nil {
			cfg = tlsConfig.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = u.Hostname()
		}
		cfg.NextProtos = []string{"http/1.1"}
		r.tlsConfig = cfg
	default:
		return nil, fmt.Errorf("unsupported URL scheme %q (want http or https)", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("URL %q has no host", u.String())
	}
	r.addr = net.JoinHostPort(u.Hostname(), port)

	uri := u.RequestURI()
	if u.Opaque != "" || uri == "" {
		uri = "/"
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\n", method, uri)
	host := u.Host
	if h := header.Get("Host"); h != "" {
		host = h
	}
	fmt.Fprintf(&b, "Host: %s\r\n", host)
	if header.Get("User-Agent") == "" {
		fmt.Fprintf(&b, "User-Agent: %s\r\n", UserAgent)
	}
	if u.User != nil && header.Get("Authorization") == "" {
		// As net/http: credentials in the URL become Basic authentication.
		pw, _ := u.User.Password()
		cred := base64.StdEncoding.EncodeToString([]byte(u.User.Username() + ":" + pw))
		fmt.Fprintf(&b, "Authorization: Basic %s\r\n", cred)
	}
	for _, name := range slices.Sorted(maps.Keys(header)) {
		if k := http.CanonicalHeaderKey(name); k == "Host" || k == "Content-Length" {
			continue
		}
		for _, v := range header[name] {
			if strings.ContainsAny(name, " :\r\n") || strings.ContainsAny(v, "\r\n") {
				return nil, fmt.Errorf("invalid header %q: %q", name, v)
			}
			fmt.Fprintf(&b, "%s: %s\r\n", name, v)
		}
	}
	if len(body) > 0 || method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.Write(body)
	r.wire = b.Bytes()
	return r, nil
}

// Wire returns the serialised request (for tests and debugging).
func (r *Request) Wire() []byte { return r.wire }

// Conn sends a Request over one keep-alive connection, dialling again when
// the server closes it. It is not safe for concurrent use.
type Conn struct {
	req     *Request
	dialer  net.Dialer
	nc      net.Conn
	br      *bufio.Reader
	raw     *rawIO // plain TCP on Linux: raw non-blocking I/O
	dials   int
	live    atomic.Pointer[net.Conn] // nc, for Abort
	aborted atomic.Bool

	// NoRawIO makes plain TCP connections use net.Conn for I/O, as TLS
	// connections and other systems always do.
	NoRawIO bool
	// DeadlineSlack lets Do keep the connection's current deadline when
	// the requested one is at most this much later, saving a deadline
	// update per request: a request then times out up to DeadlineSlack
	// early. Zero keeps deadlines exact.
	DeadlineSlack time.Duration
	deadline      time.Time
}

// ErrAborted is returned by Do after Abort.
var ErrAborted = errors.New("aborted")

// Abort breaks off the request in flight, if any, and makes every later Do
// fail with ErrAborted. Unlike the other methods it may be called from any
// goroutine.
func (c *Conn) Abort() {
	c.aborted.Store(true)
	if p := c.live.Load(); p != nil {
		(*p).SetDeadline(time.Unix(1, 0))
	}
}

// NewConn returns a connection for req; it dials on first use.
func NewConn(req *Request) *Conn {
	return &Conn{req: req}
}

// Dials returns how many connections were opened so far.
func (c *Conn) Dials() int { return c.dials }

// Close closes the current connection, if any.
func (c *Conn) Close() error {
	if c.nc == nil {
		return nil
	}
	err := c.nc.Close()
	c.nc = nil
	return err
}

// Do sends the request once and reads the whole response. Everything,
// including any dial, must finish before deadline. On a reused connection
// that the server had already closed, an idempotent request is sent once
// more on a new connection, as net/http does.
func (c *Conn) Do(deadline time.Time) (status int, err error) {
	for {
		if c.aborted.Load() {
			c.Close()
			return 0, ErrAborted
		}
		fresh := c.nc == nil
		if fresh {
			if err := c.dial(deadline); err != nil {
				return 0, err
			}
		}
		if fresh || deadline.Sub(c.deadline) > c.DeadlineSlack || deadline.Before(c.deadline) {
			if err := c.nc.SetDeadline(deadline); err != nil {
				c.Close()
				return 0, err
			}
			c.deadline = deadline
		}
		if c.aborted.Load() { // Abort may have run before SetDeadline
			c.Close()
			return 0, ErrAborted
		}
		status, keep, stale, err := c.roundTrip()
		if err == nil {
			if !keep {
				c.Close()
			}
			return status, nil
		}
		c.Close()
		if fresh || !stale || !c.req.retry {
			return 0, err
		}
	}
}

func (c *Conn) dial(deadline time.Time) error {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	nc, err := c.dialer.DialContext(ctx, "tcp", c.req.addr)
	if err != nil {
		return err
	}
	if c.req.tlsConfig != nil {
		tc := tls.Client(nc, c.req.tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return err
		}
		nc = tc
	}
	c.dials++
	c.nc = nc
	c.live.Store(&nc)
	var rd io.Reader = nc
	c.raw = nil
	if c.req.tlsConfig == nil && !c.NoRawIO {
		if c.raw = newRawIO(nc); c.raw != nil {
			rd = c.raw
		}
	}
	if c.br == nil {
		c.br = bufio.NewReaderSize(rd, 4096)
	} else {
		c.br.Reset(rd)
	}
	return nil
}

// roundTrip writes the request and consumes one response. stale reports
// that the connection failed before any response byte arrived, so the
// server cannot have answered this request.
func (c *Conn) roundTrip() (status int, keep, stale bool, err error) {
	if c.raw != nil {
		if sent, err := c.raw.send(c.req.wire); err != nil {
			return 0, false, !sent, err
		}
	} else if _, err := c.nc.Write(c.req.wire); err != nil {
		return 0, false, true, err
	}
	for {
		status, keep, err = readResponse(c.br, c.req.noBody)
		if err != nil {
			return 0, false, errors.Is(err, errNoResponse), err
		}
		// 1xx interim responses are followed by the real one.
		if status == http.StatusSwitchingProtocols {
			return status, false, false, nil // not followed: the stream is no longer HTTP/1.1
		}
		if status >= 200 {
			return status, keep, false, nil
		}
	}
}

var (
	errNoResponse = errors.New("connection closed before response")

	hdrContentLength    = []byte("Content-Length")
	hdrTransferEncoding = []byte("Transfer-Encoding")
	hdrConnection       = []byte("Connection")
)

// readLine returns the next line without its line ending. A line longer
// than the buffer is cut to its first bufferful; the rest is skipped.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		// Keep the head (enough for a header name); drop the rest.
		head := append([]byte(nil), line...)
		for err == bufio.ErrBufferFull {
			_, err = br.ReadSlice('\n')
		}
		line = head
	}
	if err != nil {
		return nil, err
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	return line, nil
}

// readResponse consumes one response from br and returns its status and
// whether the connection may be reused.
func readResponse(br *bufio.Reader, noBody bool) (status int, keep bool, err error) {
	line, err := readLine(br)
	if err != nil {
		if (err == io.EOF || isReset(err)) && br.Buffered() == 0 {
			return 0, false, fmt.Errorf("%w: %w", errNoResponse, err)
		}
		return 0, false, err
	}
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' ||
		(len(line) > 12 && line[12] != ' ') {
		return 0, false, fmt.Errorf("%w: status line %q", ErrMalformed, truncate(line))
	}
	for _, d := range line[9:12] {
		if d < '0' || d > '9' {
			return 0, false, fmt.Errorf("%w: status line %q", ErrMalformed, truncate(line))
		}
		status = status*10 + int(d-'0')
	}
	http11 := line[7] == '1'
	keep = http11
	contentLength := int64(-1)
	chunked := false
	for {
		line, err := readLine(br)
		if err != nil {
			return 0, false, unexpected(err)
		}
		if len(line) == 0 {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return 0, false, fmt.Errorf("%w: header line %q", ErrMalformed, truncate(line))
		}
		name, value := line[:colon], bytes.TrimSpace(line[colon+1:])
		switch {
		case bytes.EqualFold(name, hdrContentLength):
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 || (contentLength >= 0 && n != contentLength) {
				return 0, false, fmt.Errorf("%w: Content-Length %q", ErrMalformed, value)
			}
			contentLength = n
		case bytes.EqualFold(name, hdrTransferEncoding):
			chunked = hasToken(value, "chunked")
		case bytes.EqualFold(name, hdrConnection):
			if hasToken(value, "close") {
				keep = false
			} else if !http11 && hasToken(value, "keep-alive") {
				keep = true
			}
		}
	}
	switch {
	case noBody || status < 200 || status == http.StatusNoContent || status == http.StatusNotModified:
		return status, keep, nil
	case chunked:
		return status, keep, skipChunked(br)
	case contentLength >= 0:
		if _, err := br.Discard(int(contentLength)); err != nil {
			return 0, false, unexpected(err)
		}
		return status, keep, nil
	default:
		// The body runs until the server closes the connection.
		if _, err := io.Copy(io.Discard, br); err != nil {
			return 0, false, err
		}
		return status, false, nil
	}
}

func skipChunked(br *bufio.Reader) error {
	for {
		line, err := readLine(br)
		if err != nil {
			return unexpected(err)
		}
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		size, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
		if err != nil || size < 0 {
			return fmt.Errorf("%w: chunk size %q", ErrMalformed, truncate(line))
		}
		if size == 0 {
			for { // trailers
				line, err := readLine(br)
				if err != nil {
					return unexpected(err)
				}
				if len(line) == 0 {
					return nil
				}
			}
		}
		if _, err := br.Discard(int(size)); err != nil {
			return unexpected(err)
		}
		if line, err := readLine(br); err != nil || len(line) != 0 {
			if err != nil {
				return unexpected(err)
			}
			return fmt.Errorf("%w: missing CRLF after chunk", ErrMalformed)
		}
	}
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func hasToken(v []byte, token string) bool {
	for _, part := range bytes.Split(v, []byte(",")) {
		if bytes.EqualFold(bytes.TrimSpace(part), []byte(token)) {
			return true
		}
	}
	return false
}

func truncate(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}
