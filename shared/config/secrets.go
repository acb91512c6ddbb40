// Package config reads the functions' configuration: typed envconfig
// structs for ordinary settings, and secrets from files mounted the way
// OpenFaaS mounts them, falling back to the environment.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/kelseyhightower/envconfig"
)

// DefaultSecretsDir is where OpenFaaS and Kubernetes mount function secrets.
const DefaultSecretsDir = "/var/openfaas/secrets"

// SecretsDirEnv overrides DefaultSecretsDir; the local stack points it at
// .stack/secrets so functions read secrets through the same code path.
const SecretsDirEnv = "SECRETS_DIR"

// Secret names, shared by stack.yml, the local stack and the functions.
const (
	SecretJWT         = "jwt-secret"
	SecretDatabaseURL = "database-url"
	// The migrations' role (owner of the schema); the functions connect
	// as the less privileged role of database-url.
	SecretDatabaseOwnerURL = "database-owner-url"
	SecretMinIOAccess      = "minio-access-key"
	SecretMinIOSecret      = "minio-secret-key"
	SecretWebhookToken     = "webhook-token"
)

// ErrNoSecret means the secret is neither in the secrets directory nor in
// the environment.
var ErrNoSecret = errors.New("secret not set")

// SecretsDir is the directory secret files are read from.
func SecretsDir() string {
	if d := os.Getenv(SecretsDirEnv); d != "" {
		return d
	}
	return DefaultSecretsDir
}

// EnvName is the environment variable a secret falls back to:
// "jwt-secret" -> JWT_SECRET.
func EnvName(secret string) string {
	return strings.ToUpper(strings.ReplaceAll(secret, "-", "_"))
}

// Secret returns the named secret from <SecretsDir>/<name> when that file
// exists, else from the environment variable EnvName(name). Trailing
// newlines in files are dropped (kubectl and editors add them).
func Secret(name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(SecretsDir(), name))
	switch {
	case err == nil:
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return "", fmt.Errorf("secret %s: file is empty: %w", name, ErrNoSecret)
		}
		return v, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("secret %s: %w", name, err)
	}
	if v := os.Getenv(EnvName(name)); v != "" {
		return v, nil
	}
	return "", fmt.Errorf("secret %s: no file in %s and %s is unset: %w", name, SecretsDir(), EnvName(name), ErrNoSecret)
}

// Load fills spec (a pointer to an envconfig struct) from the environment.
func Load(spec any) error {
	if err := envconfig.Process("", spec); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	return nil
}
