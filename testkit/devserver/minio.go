package devserver

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// MinIOVersion is the pinned server version (see docs/toolchain facts):
// the binary is built once from this module version and cached.
const MinIOVersion = "v0.0.0-20260212201848-7aac2a2c5b7c"

// MinIOBinary finds the server binary: $MINIO_BIN, else the cached build
// $BENCHWRAP_CACHE/minio-<version> (default ~/.cache/benchwrap) that
// `make deps` produces.
func MinIOBinary() (string, error) {
	if b := os.Getenv("MINIO_BIN"); b != "" {
		return b, nil
	}
	cache := os.Getenv("BENCHWRAP_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		cache = filepath.Join(home, ".cache", "benchwrap")
	}
	b := filepath.Join(cache, "minio-"+MinIOVersion)
	if _, err := os.Stat(b); err != nil {
		return "", fmt.Errorf("MinIO server binary not found at %s (run `make deps`, or set MINIO_BIN)", b)
	}
	return b, nil
}

// MinIOOptions configures a server.
type MinIOOptions struct {
	Dir          string   // data in Dir/data, log in Dir/server.log
	Addr         string   // host:port; empty picks a free port on 127.0.0.1
	RootUser     string   // required
	RootPassword string   // required, at least 8 characters
	Env          []string // extra environment, e.g. webhook notification targets
}

// MinIO is a running server.
type MinIO struct {
	server
	Endpoint string // host:port
}

// StartMinIO starts a server and waits until it is live.
func StartMinIO(ctx context.Context, opts MinIOOptions) (*MinIO, error) {
	bin, err := MinIOBinary()
	if err != nil {
		return nil, err
	}
	if opts.Addr == "" {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		opts.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	}
	cport, err := FreePort()
	if err != nil {
		return nil, err
	}
	data := filepath.Join(opts.Dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, err
	}
	logPath := filepath.Join(opts.Dir, "server.log")
	env := append([]string{
		"PATH=/usr/bin:/bin",
		"HOME=" + opts.Dir,
		"MINIO_ROOT_USER=" + opts.RootUser,
		"MINIO_ROOT_PASSWORD=" + opts.RootPassword,
		"MINIO_UPDATE=off",
		"MINIO_BROWSER=off",
	}, opts.Env...)
	proc, err := launch(runAs{}, logPath, 0o644, env, bin, "server", data, "--address", opts.Addr,
		"--console-address", "127.0.0.1:"+strconv.Itoa(cport), "--quiet")
	if err != nil {
		return nil, err
	}
	m := &MinIO{server: server{proc: proc, sig: syscall.SIGTERM, grace: 15 * time.Second}, Endpoint: opts.Addr}
	live := "http://" + opts.Addr + "/minio/health/live"
	err = m.await(ctx, "minio", logPath, 60*time.Second, func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, live, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("health: %s", resp.Status)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}
