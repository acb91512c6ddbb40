package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/benchwrap/backend/testkit/devserver"
)

// TestStackFromClosedDirectory runs `bin/stack` as `make run` does, from a
// clone inside a 0700 directory (a clone in root's home): as root, whose
// cluster must then live where the postgres user can reach it, and as a
// normal user, whose cluster runs as that user. (Issue 18, item 1.)
func TestStackFromClosedDirectory(t *testing.T) {
	minioBin, err := devserver.MinIOBinary()
	if err != nil {
		t.Fatal(err)
	}
	bin := buildStack(t)
	t.Run("invoking user", func(t *testing.T) {
		runFromClosedClone(t, bin, minioBin, nil)
	})
	if os.Geteuid() != 0 {
		return
	}
	t.Run("normal user", func(t *testing.T) {
		u, err := user.Lookup("nobody")
		if err != nil {
			t.Skip("no user nobody to run as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		runFromClosedClone(t, bin, minioBin, &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)})
	})
}

// runFromClosedClone lays out <0700 dir>/clone/bin/{stack,minio} owned by
// the user who runs them, starts the stack from the clone, and registers
// and logs in a user through it.
func runFromClosedClone(t *testing.T, bin, minioBin string, as *syscall.Credential) {
	closed, err := os.MkdirTemp("", "benchwrap-closed-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(closed)
	clone := filepath.Join(closed, "clone")
	if err := os.MkdirAll(filepath.Join(clone, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	for src, dst := range map[string]string{bin: "stack", minioBin: "minio"} {
		if err := linkOrCopy(src, filepath.Join(clone, "bin", dst)); err != nil {
			t.Fatal(err)
		}
	}
	if as != nil {
		for _, p := range []string{closed, clone, filepath.Join(clone, "bin")} {
			if err := os.Chown(p, int(as.Uid), int(as.Gid)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.Chmod(closed, 0o700); err != nil {
		t.Fatal(err)
	}
	stackDir := filepath.Join(clone, ".stack")
	relocated := devserver.ClusterDir(filepath.Join(stackDir, "pg"))
	defer os.RemoveAll(relocated)

	ports := make([]int, 3)
	for i := range ports {
		if ports[i], err = devserver.FreePort(); err != nil {
			t.Fatal(err)
		}
	}
	gw := fmt.Sprintf("127.0.0.1:%d", ports[0])
	env := []string{"PATH=/usr/bin:/bin", "HOME=" + clone, "GATEWAY_ADDR=" + gw, "METRICS_ADDR=127.0.0.1:0", fmt.Sprintf("PG_PORT=%d", ports[1]),
		fmt.Sprintf("MINIO_ADDR=127.0.0.1:%d", ports[2]), "MINIO_BIN=" + filepath.Join(clone, "bin", "minio")}
	p := startStackCmd(t, exec.Command(filepath.Join(clone, "bin", "stack")), env, clone, as)
	defer p.stop(t)

	base := "http://" + gw
	if status, _ := post(t, base+"/auth/register", map[string]string{"username": "closed", "password": "password-123"}); status != 201 {
		t.Fatalf("register: %d", status)
	}
	if status, _ := post(t, base+"/auth/login", map[string]string{"username": "closed", "password": "password-123"}); status != 200 {
		t.Fatalf("login: %d", status)
	}
	// As root the cluster moved out of the closed directory, to one only
	// the postgres user enters; otherwise it stays in the clone.
	_, err = os.Stat(filepath.Join(relocated, "data", "PG_VERSION"))
	if os.Geteuid() == 0 && as == nil {
		fi, serr := os.Stat(relocated)
		if err != nil || serr != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("relocated cluster %s: %v %v", relocated, err, serr)
		}
	} else if err == nil {
		t.Errorf("cluster relocated though its user can reach the clone")
	}
}

func linkOrCopy(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
