package h1

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestNewRequestWire(t *testing.T) {
	tests := []struct {
		name   string
		method string
		url    string
		header http.Header
		body   string
		want   string
	}{
		{
			name: "plain GET keeps path and query as given",
			url:  "http://example.test:8080/a%2Fb/c?x=1&y=%20",
			want: "GET /a%2Fb/c?x=1&y=%20 HTTP/1.1\r\nHost: example.test:8080\r\nUser-Agent: " + UserAgent + "\r\n\r\n",
		},
		{
			name: "empty path becomes slash",
			url:  "http://h",
			want: "GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: " + UserAgent + "\r\n\r\n",
		},
		{
			name:   "POST with body, sorted headers, Host override",
			method: "POST",
			url:    "https://h/api",
			header: http.Header{"X-B": {"2"}, "Content-Type": {"application/json"}, "Host": {"other"}, "User-Agent": {"me"}},
			body:   `{"a":1}`,
			want: "POST /api HTTP/1.1\r\nHost: other\r\nContent-Type: application/json\r\nUser-Agent: me\r\nX-B: 2\r\n" +
				"Content-Length: 7\r\n\r\n{\"a\":1}",
		},
		{
			name: "credentials in the URL become Basic auth",
			url:  "http://u%40x:p%3Aw@h/",
			want: "GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: " + UserAgent + "\r\nAuthorization: Basic dUB4OnA6dw==\r\n\r\n",
		},
		{
			name:   "empty PUT still sends Content-Length",
			method: "PUT",
			url:    "http://h/x",
			want:   "PUT /x HTTP/1.1\r\nHost: h\r\nUser-Agent: " + UserAgent + "\r\nContent-Length: 0\r\n\r\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewRequest(tc.method, mustURL(t, tc.url), tc.header, []byte(tc.body), nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(r.Wire()); got != tc.want {
				t.Errorf("wire:\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestNewRequestErrors(t *testing.T) {
	for _, tc := range []struct {
		url    string
		header http.Header
	}{
		{url: "ftp://h/"},
		{url: "http:///nohost"},
		{url: "http://h/", header: http.Header{"X": {"a\r\nInjected: 1"}}},
	} {
		if _, err := NewRequest("GET", mustURL(t, tc.url), tc.header, nil, nil); err == nil {
			t.Errorf("%s %v: want error", tc.url, tc.header)
		}
	}
}

func TestReadResponse(t *testing.T) {
	tests := []struct {
		name       string
		raw        string
		noBody     bool
		wantStatus int
		wantKeep   bool
		wantErr    bool
		rest       string // what must remain unread
	}{
		{name: "content-length", raw: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokNEXT", wantStatus: 200, wantKeep: true, rest: "NEXT"},
		{name: "no reason phrase", raw: "HTTP/1.1 204\r\n\r\nNEXT", wantStatus: 204, wantKeep: true, rest: "NEXT"},
		{name: "header case and spaces", raw: "HTTP/1.1 201 Created\r\ncontent-LENGTH:   3  \r\n\r\nabcNEXT", wantStatus: 201, wantKeep: true, rest: "NEXT"},
		{name: "chunked with extension and trailer", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nWiki\r\n5\r\npedia\r\n0\r\nT: v\r\n\r\nNEXT", wantStatus: 200, wantKeep: true, rest: "NEXT"},
		{name: "connection close", raw: "HTTP/1.1 500 Oops\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", wantStatus: 500},
		{name: "http/1.0 default close", raw: "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", wantStatus: 200},
		{name: "http/1.0 keep-alive", raw: "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\nxNEXT", wantStatus: 200, wantKeep: true, rest: "NEXT"},
		{name: "body until close", raw: "HTTP/1.1 200 OK\r\n\r\nall of this", wantStatus: 200},
		{name: "HEAD ignores length", raw: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nNEXT", noBody: true, wantStatus: 200, wantKeep: true, rest: "NEXT"},
		{name: "304 has no body", raw: "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\nNEXT", wantStatus: 304, wantKeep: true, rest: "NEXT"},
		{name: "long header line skipped", raw: "HTTP/1.1 200 OK\r\nX-Long: " + strings.Repeat("a", 10000) + "\r\nContent-Length: 0\r\n\r\nNEXT", wantStatus: 200, wantKeep: true, rest: "NEXT"},
		{name: "garbage status", raw: "HTTX/1.1 200 OK\r\n\r\n", wantErr: true},
		{name: "non-numeric status", raw: "HTTP/1.1 2x0 OK\r\n\r\n", wantErr: true},
		{name: "bad content-length", raw: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", wantErr: true},
		{name: "conflicting content-length", raw: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx", wantErr: true},
		{name: "truncated body", raw: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", wantErr: true},
		{name: "bad chunk size", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", wantErr: true},
		{name: "header without colon", raw: "HTTP/1.1 200 OK\r\nnonsense\r\n\r\n", wantErr: true},
		{name: "empty stream", raw: "", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			br := bufio.NewReaderSize(strings.NewReader(tc.raw), 4096)
			status, keep, err := readResponse(br, tc.noBody)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("want error, got status %d", status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if status != tc.wantStatus || keep != tc.wantKeep {
				t.Errorf("status %d keep %v, want %d %v", status, keep, tc.wantStatus, tc.wantKeep)
			}
			rest, _ := io.ReadAll(br)
			if string(rest) != tc.rest {
				t.Errorf("left %q, want %q", rest, tc.rest)
			}
		})
	}
}

// ioModes runs a test with raw socket I/O (Linux) and with net.Conn.
var ioModes = []struct {
	name  string
	noRaw bool
}{{"raw", false}, {"netconn", true}}

func newConn(req *Request, noRaw bool) *Conn {
	c := NewConn(req)
	c.NoRawIO = noRaw
	return c
}

func TestConnKeepAliveAndStatuses(t *testing.T) {
	for _, m := range ioModes {
		t.Run(m.name, func(t *testing.T) { testKeepAliveAndStatuses(t, m.noRaw) })
	}
}

func testKeepAliveAndStatuses(t *testing.T, noRaw bool) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := hits.Add(1)
		if r.URL.RawQuery != "q=1" || r.Header.Get("X-Test") != "yes" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if n%10 == 0 {
			w.WriteHeader(http.StatusTeapot)
		}
		io.WriteString(w, strings.Repeat("body", int(n%7)))
		if n%17 == 0 {
			io.WriteString(w, strings.Repeat("large body ", 3000)) // beyond the read buffer
		}
		if n%3 == 0 {
			w.(http.Flusher).Flush() // forces a chunked response
		}
	}))
	defer srv.Close()
	req, err := NewRequest("GET", mustURL(t, srv.URL+"/p?q=1"), http.Header{"X-Test": {"yes"}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := newConn(req, noRaw)
	defer c.Close()
	teapots := 0
	for i := 1; i <= 100; i++ {
		st, err := c.Do(time.Now().Add(5 * time.Second))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if st == http.StatusTeapot {
			teapots++
		} else if st != 200 {
			t.Fatalf("request %d: status %d", i, st)
		}
	}
	if teapots != 10 || c.Dials() != 1 {
		t.Errorf("teapots %d dials %d, want 10 and 1", teapots, c.Dials())
	}
}

func TestConnTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 1 {
			w.WriteHeader(http.StatusHTTPVersionNotSupported)
		}
	}))
	defer srv.Close()
	req, err := NewRequest("GET", mustURL(t, srv.URL), nil, nil, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	c := NewConn(req)
	defer c.Close()
	for i := 0; i < 3; i++ {
		if st, err := c.Do(time.Now().Add(5 * time.Second)); err != nil || st != 200 {
			t.Fatalf("status %d err %v", st, err)
		}
	}
	if c.Dials() != 1 {
		t.Errorf("dials %d", c.Dials())
	}
}

// A server that silently closes every connection after one response, as an
// idle-timeout would: the next request on that connection must be resent.
func TestConnRetriesStaleConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var served atomic.Int64
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				br := bufio.NewReader(nc)
				if _, err := http.ReadRequest(br); err != nil {
					return
				}
				served.Add(1)
				io.WriteString(nc, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			}()
		}
	}()
	u := mustURL(t, "http://"+ln.Addr().String()+"/")
	for _, tc := range []struct {
		method    string
		noRaw     bool
		wantError bool
	}{{"GET", false, false}, {"GET", true, false}, {"POST", false, true}, {"POST", true, true}} {
		req, _ := NewRequest(tc.method, u, nil, nil, nil)
		c := newConn(req, tc.noRaw)
		if st, err := c.Do(time.Now().Add(5 * time.Second)); err != nil || st != 200 {
			t.Fatalf("%s first: %d %v", tc.method, st, err)
		}
		time.Sleep(50 * time.Millisecond) // let the close arrive
		st, err := c.Do(time.Now().Add(5 * time.Second))
		if tc.wantError {
			if err == nil {
				t.Errorf("%s on a stale connection must not be resent", tc.method)
			}
		} else if err != nil || st != 200 || c.Dials() != 2 {
			t.Errorf("%s retry: status %d err %v dials %d", tc.method, st, err, c.Dials())
		}
		c.Close()
	}
}

func TestConnTimeoutAndRefused(t *testing.T) {
	for _, m := range ioModes {
		t.Run(m.name, func(t *testing.T) { testTimeoutAndRefused(t, m.noRaw) })
	}
}

func testTimeoutAndRefused(t *testing.T, noRaw bool) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	defer srv.Close()
	defer close(release)
	req, _ := NewRequest("GET", mustURL(t, srv.URL), nil, nil, nil)
	c := newConn(req, noRaw)
	start := time.Now()
	_, err := c.Do(start.Add(100 * time.Millisecond))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("want timeout, got %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("timeout took %v", d)
	}

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	req, _ = NewRequest("GET", mustURL(t, "http://"+addr+"/"), nil, nil, nil)
	if _, err := NewConn(req).Do(time.Now().Add(time.Second)); err == nil {
		t.Fatal("want connection refused")
	}
}

func TestConnLargeRequestBody(t *testing.T) {
	body := []byte(strings.Repeat("0123456789abcdef", 1<<20)) // 16 MiB: more than a socket buffer
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		if n != int64(len(body)) {
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
	defer srv.Close()
	for _, m := range ioModes {
		t.Run(m.name, func(t *testing.T) {
			req, err := NewRequest("POST", mustURL(t, srv.URL), nil, body, nil)
			if err != nil {
				t.Fatal(err)
			}
			c := newConn(req, m.noRaw)
			defer c.Close()
			for i := 0; i < 3; i++ {
				if st, err := c.Do(time.Now().Add(10 * time.Second)); err != nil || st != 200 {
					t.Fatalf("status %d err %v", st, err)
				}
			}
		})
	}
}

func TestConnAbort(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	for _, m := range ioModes {
		t.Run(m.name, func(t *testing.T) {
			req, _ := NewRequest("GET", mustURL(t, srv.URL), nil, nil, nil)
			c := newConn(req, m.noRaw)
			time.AfterFunc(100*time.Millisecond, c.Abort)
			start := time.Now()
			if _, err := c.Do(time.Now().Add(30 * time.Second)); err == nil {
				t.Fatal("want an error after Abort")
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Abort took %v", d)
			}
			if _, err := c.Do(time.Now().Add(time.Second)); !errors.Is(err, ErrAborted) {
				t.Errorf("Do after Abort: %v", err)
			}
		})
	}
}

// With DeadlineSlack the connection keeps a deadline that is slightly
// early rather than updating it on every request.
func TestDeadlineSlack(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	req, _ := NewRequest("GET", mustURL(t, srv.URL), nil, nil, nil)
	c := NewConn(req)
	c.DeadlineSlack = time.Hour
	defer c.Close()
	first := time.Now().Add(2 * time.Hour)
	if _, err := c.Do(first); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(first.Add(time.Minute)); err != nil || !c.deadline.Equal(first) {
		t.Errorf("deadline %v, want the first one kept (%v)", c.deadline, err)
	}
	earlier := time.Now().Add(time.Minute)
	if _, err := c.Do(earlier); err != nil || !c.deadline.Equal(earlier) {
		t.Errorf("an earlier deadline must always be set: %v", c.deadline)
	}
}
