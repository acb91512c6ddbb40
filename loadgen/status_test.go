package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/benchwrap/backend/loadgen/internal/h1"
)

func TestParseStatusSet(t *testing.T) {
	tests := []struct {
		in      string
		has     []int
		hasNot  []int
		str     string
		wantErr bool
	}{
		{in: "200", has: []int{200}, hasNot: []int{201, 0}, str: "200"},
		{in: "200,201", has: []int{200, 201}, hasNot: []int{202}, str: "200-201"},
		{in: " 2xx , 304", has: []int{200, 250, 299, 304}, hasNot: []int{300, 404}, str: "200-299,304"},
		{in: "400-404,5XX", has: []int{400, 404, 503}, hasNot: []int{405}, str: "400-404,500-599"},
		{in: "", wantErr: true},
		{in: "abc", wantErr: true},
		{in: "99", wantErr: true},
		{in: "600", wantErr: true},
		{in: "300-200", wantErr: true},
		{in: "6xx", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			s, err := ParseStatusSet(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("want error, got %v", s)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range tc.has {
				if !s.Has(c) {
					t.Errorf("missing %d", c)
				}
			}
			for _, c := range tc.hasNot {
				if s.Has(c) {
					t.Errorf("unexpected %d", c)
				}
			}
			if s.String() != tc.str {
				t.Errorf("String() = %q, want %q", s.String(), tc.str)
			}
		})
	}
	def := StatusOK()
	if !def.Has(200) || def.Has(201) {
		t.Error("default set must be exactly 200")
	}
}

func TestErrorKind(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{context.Canceled, "canceled"},
		{context.DeadlineExceeded, "timeout"},
		{fmt.Errorf("read: %w", os.ErrDeadlineExceeded), "timeout"},
		{&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, "connection refused"},
		{os.NewSyscallError("read", syscall.ECONNRESET), "connection reset"},
		{io.ErrUnexpectedEOF, "connection closed"},
		{&net.DNSError{Err: "no such host", Name: "x"}, "dns"},
		{fmt.Errorf("%w: x", h1.ErrMalformed), "malformed response"},
		{fmt.Errorf("%w: x", ErrInvalidBody), "invalid body"},
		{errors.New("strange"), "other"},
	}
	for _, tc := range tests {
		if got := ErrorKind(tc.err); got != tc.want {
			t.Errorf("ErrorKind(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestStatsMerge(t *testing.T) {
	a, b := NewRecorder(), NewRecorder()
	a.Response(200, 1000, true)
	a.Response(503, 2000, false)
	b.Response(200, 3000, true)
	b.Response(999, 4000, false)
	b.Error(io.ErrUnexpectedEOF)
	s := NewStats()
	s.Merge(a.Stats())
	s.Merge(b.Stats())
	if s.Count != 5 || s.OK != 2 || s.Fail() != 3 || s.Status[200] != 2 || s.Status[503] != 1 || s.Status[999] != 1 ||
		s.Errors["connection closed"] != 1 || s.Latency.Count() != 4 {
		t.Errorf("merged stats wrong: %+v", s)
	}
}
