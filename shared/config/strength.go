package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// MinSecretBytes is the shortest secret accepted: 32 random bytes, as a
// brute force of HMAC keys and tokens must stay out of reach.
const MinSecretBytes = 32

// ErrWeakSecret means a secret is a placeholder or too short.
var ErrWeakSecret = errors.New("weak secret")

// placeholders are values copied from examples and documentation
// (deploy/secrets.example.yaml's say CHANGE-ME) rather than generated.
var placeholders = []string{"change-me", "changeme", "change_me", "replace-me", "replaceme", "your-secret", "placeholder"}

// placeholder returns the placeholder word v contains, if any.
func placeholder(v string) string {
	l := strings.ToLower(v)
	for _, p := range placeholders {
		if strings.Contains(l, p) {
			return p
		}
	}
	return ""
}

// CheckStrong refuses a secret value that is a placeholder or shorter
// than MinSecretBytes, saying which secret and how to make a good one
// (never the value). For the database URLs the password is checked (a
// URL without one is fine: the server may use other authentication).
func CheckStrong(name, value string) error {
	v := value
	if name == SecretDatabaseURL || name == SecretDatabaseOwnerURL {
		u, err := url.Parse(value)
		if err != nil {
			return fmt.Errorf("secret %s is not a URL: %w", name, ErrWeakSecret)
		}
		pw, ok := u.User.Password()
		if !ok {
			return nil
		}
		v, name = pw, name+" (its password)"
	}
	if p := placeholder(v); p != "" {
		return fmt.Errorf("secret %s is a placeholder (contains %q); generate one, e.g. `openssl rand -base64 48`: %w", name, p, ErrWeakSecret)
	}
	if len(v) < MinSecretBytes {
		return fmt.Errorf("secret %s is %d bytes, shorter than %d; generate one, e.g. `openssl rand -base64 48`: %w", name, len(v), MinSecretBytes, ErrWeakSecret)
	}
	return nil
}

// StrongSecret is Secret for a value that must pass CheckStrong.
func StrongSecret(name string) (string, error) {
	v, err := Secret(name)
	if err != nil {
		return "", err
	}
	if err := CheckStrong(name, v); err != nil {
		return "", err
	}
	return v, nil
}

// CheckSecrets reads each named secret and refuses missing, placeholder
// or short ones, for a start-up check: all problems at once.
func CheckSecrets(names ...string) error {
	var errs []error
	for _, n := range names {
		if _, err := StrongSecret(n); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
