package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestDurationDecode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{in: "600", want: 10 * time.Minute},
		{in: "0", want: 0},
		{in: "10m", want: 10 * time.Minute},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "250ms", want: 250 * time.Millisecond},
		{in: "ten", bad: true},
		{in: "", bad: true},
		{in: "5 m", bad: true},
	} {
		var d Duration
		err := d.Decode(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("Decode(%q) = %v, want an error", tc.in, d.D())
			}
			continue
		}
		if err != nil || d.D() != tc.want {
			t.Errorf("Decode(%q) = %v, %v; want %v", tc.in, d.D(), err, tc.want)
		}
	}
}

func TestEnvName(t *testing.T) {
	for in, want := range map[string]string{
		SecretJWT:          "JWT_SECRET",
		SecretDatabaseURL:  "DATABASE_URL",
		SecretWebhookToken: "WEBHOOK_TOKEN",
	} {
		if got := EnvName(in); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", in, got, want)
		}
	}
}

// A mounted file wins over the environment; an empty file is an error
// rather than an empty secret; without either the error says where it looked.
func TestSecret(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(SecretsDirEnv, dir)
	const name = "test-secret"
	t.Setenv(EnvName(name), "from-env")

	if v, err := Secret(name); err != nil || v != "from-env" {
		t.Fatalf("env fallback: %q, %v", v, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte("from-file\r\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if v, err := Secret(name); err != nil || v != "from-file" {
		t.Fatalf("file: %q, %v", v, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Secret(name); !errors.Is(err, ErrNoSecret) {
		t.Fatalf("empty file: %v, want ErrNoSecret", err)
	}
	if err := os.Remove(filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvName(name), "")
	if _, err := Secret(name); !errors.Is(err, ErrNoSecret) {
		t.Fatalf("unset: %v, want ErrNoSecret", err)
	}
}

func TestLoad(t *testing.T) {
	var s struct {
		TTL  Duration `envconfig:"CONFIG_TEST_TTL" default:"600"`
		Name string   `envconfig:"CONFIG_TEST_NAME" required:"true"`
	}
	t.Setenv("CONFIG_TEST_NAME", "x")
	if err := Load(&s); err != nil || s.TTL.D() != 10*time.Minute || s.Name != "x" {
		t.Fatalf("Load = %+v, %v", s, err)
	}
	t.Setenv("CONFIG_TEST_TTL", "soon")
	if err := Load(&s); err == nil {
		t.Fatal("a malformed duration loaded without error")
	}
}
