package hdf5

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/benchwrap/backend/shared/profile"
)

// libhdf5 1.10 can still crash the process (SIGSEGV, SIGFPE) while it
// decodes some corrupted datatype messages, which no cheap check in Go can
// rule out (testdata/crashers). A service must not die of a hostile
// upload, so with Options.Isolate set, Open first walks the file's
// metadata in a child process: the same binary, re-executed with the
// path in probeEnv, which this package's init turns into a probe before
// main runs. A child that dies by a signal, or runs too long, marks the
// file unreadable; the parent then never hands it to libhdf5 itself.

const (
	probeEnv     = "BENCHWRAP_HDF5_PROBE"
	probeOptsEnv = "BENCHWRAP_HDF5_PROBE_OPTIONS"
	probeTimeout = 2 * time.Minute
)

func init() {
	if path := os.Getenv(probeEnv); path != "" {
		os.Exit(probeChild(path))
	}
	if os.Getenv(probeServeEnv) != "" {
		os.Exit(serveProbes()) // prober.go
	}
}

// probeChild walks the file and exits 0, whatever Open says: only a crash
// (Go's runtime exits 2 on a signal in C code; or death by the signal
// itself) makes another status.
func probeChild(path string) int {
	var opt Options
	_ = json.Unmarshal([]byte(os.Getenv(probeOptsEnv)), &opt)
	opt.Isolate = false
	if r, err := Open(path, opt); err == nil {
		r.Close()
	}
	return 0
}

// probeOnce walks path in a fresh child process and reports a crash as
// an unreadable file.
func probeOnce(path string, opt Options) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("hdf5: isolate: %w", err)
	}
	opts, _ := json.Marshal(opt)
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), probeEnv+"="+path, probeOptsEnv+"="+string(opts))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return &profile.FileError{Class: profile.FileUnreadable, Reason: reasonUnreadable,
			Err: fmt.Errorf("reading its metadata took longer than %s", probeTimeout)}
	case errors.As(err, &ee):
		how := fmt.Sprintf("exit status %d", ee.ExitCode())
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			how = ws.Signal().String()
		} else if i := bytes.Index(stderr.Bytes(), []byte("\n")); i > 0 {
			how = string(stderr.Bytes()[:i]) // e.g. "SIGSEGV: segmentation violation"
		}
		return &profile.FileError{Class: profile.FileUnreadable, Reason: reasonUnreadable,
			Err: fmt.Errorf("the HDF5 library crashed (%s) reading its metadata", how)}
	}
	return fmt.Errorf("hdf5: isolate: %w", err)
}
