package app

import (
	"strings"
	"testing"

	"github.com/benchwrap/backend/shared/apperr"
)

// isolated points the secrets at an empty directory, so only the
// variables set by the test count.
func isolated(t *testing.T) {
	t.Setenv("SECRETS_DIR", t.TempDir())
	t.Setenv("JWT_SECRET", "")
}

func TestNewRefusesBadSettings(t *testing.T) {
	for _, c := range []struct{ env, value, want string }{
		{"TRUSTED_PROXIES", "not-an-address", "TRUSTED_PROXIES"},
		{"HASH_MAX_WAIT", "0s", "HASH_MAX_WAIT"},
		{"ACCESS_TOKEN_TTL", "soon", "ACCESS_TOKEN_TTL"},
	} {
		t.Run(c.env, func(t *testing.T) {
			isolated(t)
			t.Setenv(c.env, c.value)
			if _, err := New(); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New with %s=%q: %v", c.env, c.value, err)
			}
		})
	}
}

// A service that cannot be built is a clear error for the request, and
// the next use tries again: fixing a secret needs no restart. Once built,
// it is kept.
func TestServicesBuildOnFirstUseAndRetry(t *testing.T) {
	isolated(t)
	a, err := New()
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Keys()
	if e, ok := apperr.As(err); !ok || e.Code != apperr.Internal || e.Message != MsgMisconfigured {
		t.Fatalf("keys without a secret: %v", err)
	}
	if _, err := a.Authenticate("Bearer x"); err == nil {
		t.Fatal("authenticated without keys")
	}
	t.Setenv("JWT_SECRET", strings.Repeat("k", 40))
	k1, err := a.Keys()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("JWT_SECRET", strings.Repeat("j", 40))
	if k2, err := a.Keys(); err != nil || k2 != k1 {
		t.Fatalf("keys built again: %p %p %v", k1, k2, err)
	}
}

// Two apps share nothing: each builds its own services from the
// environment at the time it needs them.
func TestAppsAreIndependent(t *testing.T) {
	isolated(t)
	t.Setenv("JWT_SECRET", strings.Repeat("a", 40))
	a, err := New()
	if err != nil {
		t.Fatal(err)
	}
	ka, err := a.Keys()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("JWT_SECRET", strings.Repeat("b", 40))
	b, err := New()
	if err != nil {
		t.Fatal(err)
	}
	kb, err := b.Keys()
	if err != nil {
		t.Fatal(err)
	}
	tokens, _, err := ka.Access("alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kb.Authenticate("Bearer " + tokens); err == nil {
		t.Fatal("b accepted a token signed with a's secret")
	}
	if user, err := a.Authenticate("Bearer " + tokens); err != nil || user != "alice" {
		t.Fatalf("a: %q %v", user, err)
	}
}
