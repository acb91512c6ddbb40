package loadgen

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/benchwrap/backend/loadgen/internal/h1"
)

// ClientOptions configures NewTransport.
type ClientOptions struct {
	// Conns bounds the connections per host (0: no bound).
	Conns int
	// HTTP2 selects HTTP/2: negotiated by ALPN over TLS, and with prior
	// knowledge (h2c) on http:// URLs.
	HTTP2 bool
	// Insecure skips TLS certificate verification.
	Insecure bool
	// DialTimeout bounds connection set-up (0: none).
	DialTimeout time.Duration
}

// NewTransport returns a net/http transport for load generation: no proxy
// from the environment (like the original's trust_env=False), no
// compression, enough idle connections to keep every worker's connection.
func NewTransport(o ClientOptions, scheme string) *http.Transport {
	t := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: o.DialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: max(o.Conns, 2),
		MaxConnsPerHost:     o.Conns,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: o.DialTimeout,
		DisableCompression:  true,
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: o.Insecure},
	}
	var p http.Protocols
	switch {
	case o.HTTP2 && scheme == "http":
		p.SetUnencryptedHTTP2(true)
	case o.HTTP2:
		p.SetHTTP1(true)
		p.SetHTTP2(true)
		t.ForceAttemptHTTP2 = true
	default:
		p.SetHTTP1(true)
	}
	t.Protocols = &p
	return t
}

// doer sends one prepared request and reports its status.
type doer interface {
	Do(deadline time.Time) (status int, err error)
	Close()
}

// fastDoer uses the minimal HTTP/1.1 client.
type fastDoer struct{ c *h1.Conn }

func (d fastDoer) Do(deadline time.Time) (int, error) { return d.c.Do(deadline) }
func (d fastDoer) Close()                             { d.c.Close() }

// stdDoer uses net/http (HTTP/2, h2c, or HTTP/1.1 for comparison).
type stdDoer struct {
	ctx    context.Context
	client *http.Client
	req    *http.Request
	body   []byte
	proto  *atomic.Pointer[string]
}

func newStdDoer(ctx context.Context, client *http.Client, method string, u *url.URL, header http.Header, body []byte, proto *atomic.Pointer[string]) (*stdDoer, error) {
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.URL = u // exactly as given
	req.Header = header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	if h := req.Header.Get("Host"); h != "" {
		req.Host = h
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", h1.UserAgent)
	}
	req.ContentLength = int64(len(body))
	return &stdDoer{ctx: ctx, client: client, req: req, body: body, proto: proto}, nil
}

func (d *stdDoer) Do(deadline time.Time) (int, error) {
	ctx, cancel := context.WithDeadline(d.ctx, deadline)
	defer cancel()
	req := d.req.WithContext(ctx)
	if len(d.body) > 0 {
		req.Body = io.NopCloser(bytes.NewReader(d.body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(d.body)), nil }
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, err
	}
	if d.proto.Load() == nil {
		p := resp.Proto
		d.proto.CompareAndSwap(nil, &p)
	}
	return resp.StatusCode, nil
}

func (d *stdDoer) Close() {}
