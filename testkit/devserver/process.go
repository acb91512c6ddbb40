// Package devserver starts the throwaway servers the local stack and the
// integration tests run against: a PostgreSQL cluster and a MinIO server,
// each a child process on 127.0.0.1 that dies with its parent.
package devserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
	"time"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// prepare finds a PostgreSQL-side server's binary (find), the user it runs
// as (postgresUser), and a free port when *port is 0.
func prepare(find func() (string, error), port *int) (string, runAs, error) {
	bin, err := find()
	if err != nil {
		return "", runAs{}, err
	}
	as, err := postgresUser()
	if err != nil {
		return "", runAs{}, err
	}
	return bin, as, pickPort(port)
}

// pickPort sets *port to a free port when it is 0.
func pickPort(port *int) (err error) {
	if *port == 0 {
		*port, err = FreePort()
	}
	return err
}

// server is a started server process, embedded by Postgres, PgBouncer and
// MinIO: its PID, and Stop with the signal that shuts it down cleanly.
type server struct {
	proc  *Proc
	sig   syscall.Signal
	grace time.Duration
}

// PID is the server's process id.
func (s *server) PID() int { return s.proc.PID() }

// Stop sends the server its shut-down signal and waits up to the grace
// period before killing it.
func (s *server) Stop() error { return s.proc.Stop(s.sig, s.grace) }

// await waits up to timeout until ready succeeds (waitFor); a server that
// never gets ready is stopped.
func (s *server) await(ctx context.Context, what, logPath string, timeout time.Duration, ready func(context.Context) error) error {
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := waitFor(wctx, s.proc, what, logPath, ready)
	if err != nil {
		_ = s.Stop()
	}
	return err
}

// launch starts a server's program as `as`, its output appended to
// logPath (created with perm and handed to `as`).
func launch(as runAs, logPath string, perm os.FileMode, env []string, name string, args ...string) (*Proc, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, perm)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	if err := as.chown(logPath); err != nil {
		return nil, err
	}
	return start(command(as, logFile, env, name, args...))
}

// Proc is a started child process.
type Proc struct {
	cmd  *exec.Cmd
	done chan error
}

// runAs describes the user a server runs as: PostgreSQL refuses to run as
// root, so as root we switch to the "postgres" account.
type runAs struct {
	uid, gid uint32
	set      bool
}

func postgresUser() (runAs, error) {
	if os.Geteuid() != 0 {
		return runAs{}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return runAs{}, fmt.Errorf("running as root needs the 'postgres' user to own the cluster: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return runAs{uid: uint32(uid), gid: uint32(gid), set: true}, nil
}

func (r runAs) chown(paths ...string) error {
	if !r.set {
		return nil
	}
	for _, p := range paths {
		if err := os.Chown(p, int(r.uid), int(r.gid)); err != nil {
			return err
		}
	}
	return nil
}

func command(as runAs, logFile *os.File, env []string, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = env
	// Pdeathsig: the server dies with the process that started it, so a
	// killed test run or stack leaves nothing behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if as.set {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: as.uid, Gid: as.gid}
	}
	return cmd
}

func start(cmd *exec.Cmd) (*Proc, error) {
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	p := &Proc{cmd: cmd, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	return p, nil
}

// PID is the child's process id.
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case err := <-p.done:
		p.done <- err
		return true
	default:
		return false
	}
}

// Stop sends sig and waits up to grace for the process to exit, then kills it.
func (p *Proc) Stop(sig syscall.Signal, grace time.Duration) error {
	if p.Exited() {
		return nil
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		return fmt.Errorf("%s did not stop within %s; killed", p.cmd.Path, grace)
	}
}

// waitFor polls ready until it succeeds, the process exits, or ctx ends.
func waitFor(ctx context.Context, p *Proc, what, logPath string, ready func(context.Context) error) error {
	var last error
	for {
		if last = ready(ctx); last == nil {
			return nil
		}
		if p.Exited() {
			return fmt.Errorf("%s exited during start-up: %v: %s", what, last, logTail(logPath))
		}
		select {
		case <-ctx.Done():
			return errors.Join(fmt.Errorf("%s not ready (log: %s)", what, logPath), last, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Environment through which `bin/stack exec` hands its servers to the
// integration tests (see package testenv).
const (
	EnvTestDatabaseURL   = "BENCHWRAP_TEST_DATABASE_URL"
	EnvTestMinIOEndpoint = "BENCHWRAP_TEST_MINIO_ENDPOINT"
	EnvTestMinIORoot     = "BENCHWRAP_TEST_MINIO_ROOT_USER"
	EnvTestMinIORootPass = "BENCHWRAP_TEST_MINIO_ROOT_PASSWORD"
)

// logTail returns the end of a server log, for errors: the log file may
// be gone (temporary directories) by the time someone reads the error.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	const max = 2000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return "log " + path + ":\n" + string(b)
}
