package devserver

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// PasswordFile holds the cluster superuser's password (0600) in
// PostgresOptions.Dir.
const PasswordFile = "superuser-password"

// hba allows password (scram-sha-256) logins only: over TCP on loopback
// and over the socket, whose directory only the server's user enters.
const hba = "local all all scram-sha-256\nhost all all 127.0.0.1/32 scram-sha-256\n"

// RelocatedBase is where a root-run cluster lives when the postgres user
// cannot reach the requested directory (a clone under a 0700 home).
const RelocatedBase = "/var/tmp/benchwrap-postgres"

// ClusterDir is the directory a cluster for dir lives in when run as root
// and dir is out of the postgres user's reach: one per absolute path.
func ClusterDir(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(RelocatedBase, hex.EncodeToString(sum[:8]))
}

// clusterDir picks where data/ and sock/ go: dir itself when the server's
// user can reach it (always when the server runs as the invoking user),
// else ClusterDir(dir), created 0700 for that user.
func clusterDir(as runAs, dir string) (string, error) {
	if !as.set || reachable(filepath.Dir(dir), as) {
		return dir, nil
	}
	if err := os.MkdirAll(RelocatedBase, 0o711); err != nil {
		return "", err
	}
	// Others may pass through to their own cluster, not list them.
	if err := os.Chmod(RelocatedBase, 0o711); err != nil {
		return "", err
	}
	d := ClusterDir(dir)
	if err := os.WriteFile(filepath.Join(dir, "cluster-location"), []byte(d+"\n"), 0o600); err != nil {
		return "", err
	}
	return d, nil
}

// reachable reports whether the server's user may enter dir and every
// directory above it.
func reachable(dir string, as runAs) bool {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return false
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return false
		}
		m := fi.Mode().Perm()
		switch {
		case st.Uid == as.uid:
			if m&0o100 == 0 {
				return false
			}
		case st.Gid == as.gid:
			if m&0o010 == 0 {
				return false
			}
		case m&0o001 == 0:
			return false
		}
		if d == filepath.Dir(d) {
			return true
		}
	}
}

// ensurePassword reads the password file, or writes a new password;
// fresh says it was just made.
func ensurePassword(path string) (pw string, fresh bool, err error) {
	b, err := os.ReadFile(path)
	if err == nil && strings.TrimSpace(string(b)) != "" {
		return strings.TrimSpace(string(b)), false, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", false, err
	}
	var r [24]byte
	if _, err := io.ReadFull(rand.Reader, r[:]); err != nil {
		return "", false, err
	}
	pw = hex.EncodeToString(r[:])
	if err := os.WriteFile(path, []byte(pw+"\n"), 0o600); err != nil {
		return "", false, err
	}
	return pw, true, nil
}

// initCluster runs initdb with password authentication; the password
// reaches initdb through a file only the server's user can read, removed
// afterwards.
func initCluster(as runAs, logFile *os.File, env []string, bin, cluster, data, password string) error {
	pwfile := filepath.Join(cluster, ".initdb-pw")
	if err := os.WriteFile(pwfile, []byte(password+"\n"), 0o600); err != nil {
		return err
	}
	defer os.Remove(pwfile)
	if err := as.chown(pwfile); err != nil {
		return err
	}
	initdb := command(as, logFile, env, filepath.Join(bin, "initdb"),
		"-D", data, "-U", "postgres", "--auth=scram-sha-256", "--pwfile="+pwfile,
		"-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
	if err := initdb.Run(); err != nil {
		return err
	}
	return writeHBA(as, data, hba)
}

func writeHBA(as runAs, data, content string) error {
	p := filepath.Join(data, "pg_hba.conf")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		return err
	}
	return as.chown(p)
}

// closeTrust upgrades a cluster made with trust authentication: over the
// socket (trusted for this once) it sets the superuser's password, then
// allows password logins only. On failure the server is stopped.
func (p *Postgres) closeTrust(ctx context.Context, as runAs, data, sock, logPath string) error {
	url := fmt.Sprintf("postgres:///postgres?host=%s&port=%d&user=postgres", sock, p.Port)
	return p.await(ctx, "postgres", logPath, 60*time.Second, func(ctx context.Context) error {
		c, err := pgx.Connect(ctx, url)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "ALTER ROLE postgres PASSWORD "+quoteLiteral(p.password)); err != nil {
			return err
		}
		if err := writeHBA(as, data, hba); err != nil {
			return err
		}
		_, err = c.Exec(ctx, "SELECT pg_reload_conf()")
		return err
	})
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
