package hdf5

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/benchwrap/backend/shared/profile"
)

// Starting a probe child (this whole binary) costs about
// 0.2 s, ten times the analysis of a small file; walking a small file's
// metadata takes about 2 ms. So probes are served by long-lived children,
// one per concurrent caller, that walk one file after another. A child
// that dies on a file might have been left in a bad state by an earlier
// one, so the file is probed again in a fresh child (probeOnce) before it
// is called unreadable: the verdict on a file never depends on another.

const (
	probeServeEnv = "BENCHWRAP_HDF5_PROBE_SERVE"
	probeDone     = "benchwrap-hdf5-probe-done"
	// maxIdleProbers bounds the children kept between probes.
	maxIdleProbers = 8
)

type probeRequest struct {
	Path string  `json:"path"`
	Opt  Options `json:"opt"`
}

// serveProbes is a serving child: one JSON request a line on stdin, one
// probeDone line on stdout when the walk is over; it exits at EOF (the
// parent closed the pipe, or died).
func serveProbes() int {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 64<<10), 1<<20)
	out := bufio.NewWriter(os.Stdout)
	for in.Scan() {
		var req probeRequest
		if json.Unmarshal(in.Bytes(), &req) == nil {
			req.Opt.Isolate = false
			if r, err := Open(req.Path, req.Opt); err == nil {
				r.Close()
			}
		}
		fmt.Fprintln(out, probeDone)
		if out.Flush() != nil {
			return 1
		}
	}
	return 0
}

type prober struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

var probers struct {
	sync.Mutex
	idle []*prober
}

func startProber() (*prober, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), probeServeEnv+"=1")
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &prober{cmd: cmd, in: in, out: bufio.NewReader(out)}, nil
}

func (p *prober) stop() {
	_ = p.in.Close()
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
}

// ask sends one request and waits for its answer.
func (p *prober) ask(req []byte) error {
	if _, err := p.in.Write(req); err != nil {
		return err
	}
	for {
		line, err := p.out.ReadString('\n')
		if err != nil {
			return err
		}
		if line == probeDone+"\n" {
			return nil
		}
	}
}

// probe walks path's metadata in a serving child. A crash is confirmed in
// a fresh child; a walk that lasts too long makes the file unreadable.
func probe(path string, opt Options) error {
	probers.Lock()
	var p *prober
	if n := len(probers.idle); n > 0 {
		p, probers.idle = probers.idle[n-1], probers.idle[:n-1]
	}
	probers.Unlock()
	if p == nil {
		var err error
		if p, err = startProber(); err != nil {
			return probeOnce(path, opt)
		}
	}
	req, _ := json.Marshal(probeRequest{Path: path, Opt: opt})
	done := make(chan error, 1)
	go func() { done <- p.ask(append(req, '\n')) }()
	timer := time.NewTimer(probeTimeout)
	defer timer.Stop()
	select {
	case err := <-done:
		if err != nil {
			p.stop()
			return probeOnce(path, opt)
		}
	case <-timer.C:
		_ = p.cmd.Process.Kill() // ends the pending read, then Wait may close the pipes
		<-done
		p.stop()
		return &profile.FileError{Class: profile.FileUnreadable, Reason: reasonUnreadable,
			Err: fmt.Errorf("reading its metadata took longer than %s", probeTimeout)}
	}
	release(p)
	return nil
}

// release keeps p for the next probe, or stops it when enough wait.
func release(p *prober) {
	probers.Lock()
	if len(probers.idle) < maxIdleProbers {
		probers.idle, p = append(probers.idle, p), nil
	}
	probers.Unlock()
	if p != nil {
		p.stop()
	}
}

// Prestart starts a serving child before it is needed, when opt isolates
// the walk: each engine (one concurrent reader) calls it once, so its
// first file does not wait for a child's start.
func Prestart(opt Options) {
	if !opt.Isolate {
		return
	}
	if p, err := startProber(); err == nil {
		release(p)
	} // else the first probe starts one, or falls back to a one-off child
}
