package token

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/benchwrap/backend/shared/apperr"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

func keys(t *testing.T, now func() time.Time) *Keys {
	t.Helper()
	k, err := NewKeys(secret, "benchwrap", "benchwrap-api", 10*time.Minute, now)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRefusesWeakSecret(t *testing.T) {
	for _, s := range []string{"", "short", strings.Repeat("x", MinSecretBytes-1)} {
		if _, err := NewKeys([]byte(s), "i", "a", time.Minute, nil); err == nil {
			t.Errorf("secret of %d bytes accepted", len(s))
		}
	}
}

// Logout does not revoke access tokens, so they must be short-lived: a
// lifetime over MaxAccessTTL is refused at start-up.
func TestAccessLifetimeIsCapped(t *testing.T) {
	secret := []byte(strings.Repeat("k", MinSecretBytes))
	for ttl, ok := range map[time.Duration]bool{0: false, time.Minute: true, MaxAccessTTL: true, MaxAccessTTL + time.Second: false, 24 * time.Hour: false} {
		if _, err := NewKeys(secret, "i", "a", ttl, nil); (err == nil) != ok {
			t.Errorf("lifetime %v: err = %v", ttl, err)
		}
	}
}

func TestAccessTokenClaims(t *testing.T) {
	k := keys(t, nil)
	tok, exp, err := k.Access("alice")
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(exp); d < 9*time.Minute || d > 10*time.Minute {
		t.Errorf("expiry in %s, want 10m", d)
	}
	var c Claims
	if _, _, err := jwt.NewParser().ParseUnverified(tok, &c); err != nil {
		t.Fatal(err)
	}
	if c.Subject != "alice" || c.Username != "alice" || c.Scope != "upload" || c.Issuer != "benchwrap" ||
		len(c.Audience) != 1 || c.Audience[0] != "benchwrap-api" || c.IssuedAt == nil || c.ExpiresAt == nil {
		t.Errorf("claims = %+v", c)
	}
	if u, err := k.Authenticate("Bearer " + tok); err != nil || u != "alice" {
		t.Errorf("Authenticate = %q, %v", u, err)
	}
	if u, err := k.Authenticate("bearer " + tok); err != nil || u != "alice" {
		t.Errorf("scheme must be case-insensitive: %q, %v", u, err)
	}
}

func sign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAuthenticateRejects(t *testing.T) {
	k := keys(t, nil)
	now := time.Now()
	good := jwt.MapClaims{"sub": "alice", "iss": "benchwrap", "aud": "benchwrap-api", "exp": now.Add(time.Minute).Unix()}
	with := func(change func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{}
		for k, v := range good {
			c[k] = v
		}
		change(c)
		return c
	}
	none := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, good)
	cases := []struct {
		name, header, msg string
	}{
		{"missing header", "", MsgMissingHeader},
		{"no space", "Bearer", MsgMalformedHeader},
		{"basic scheme", "Basic dXNlcjpwYXNz", MsgUnsupported},
		{"alg none", "Bearer " + none, MsgInvalid},
		{"other key", "Bearer " + sign(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-xx"), good), MsgInvalid},
		{"HS512", "Bearer " + sign(t, jwt.SigningMethodHS512, secret, good), MsgInvalid},
		{"no exp", "Bearer " + sign(t, jwt.SigningMethodHS256, secret, with(func(c jwt.MapClaims) { delete(c, "exp") })), MsgInvalid},
		{"expired", "Bearer " + sign(t, jwt.SigningMethodHS256, secret, with(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() })), MsgInvalid},
		{"wrong iss", "Bearer " + sign(t, jwt.SigningMethodHS256, secret, with(func(c jwt.MapClaims) { c["iss"] = "evil" })), MsgInvalid},
		{"no iss", "Bearer " + sign(t, jwt.SigningMethodHS256, secret, with(func(c jwt.MapClaims) { delete(c, "iss") })), MsgInvalid},
		{"wrong aud", "Bearer " + sign(t, jwt.SigningMethodHS256, secret, with(func(c jwt.MapClaims) { c["aud"] = "other" })), MsgInvalid},
		{"no sub", "Bearer " + sign(t, jwt.SigningMethodHS256, secret, with(func(c jwt.MapClaims) { delete(c, "sub") })), MsgNoSubject},
		{"garbage", "Bearer not.a.jwt", MsgInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u, err := k.Authenticate(c.header)
			e, ok := apperr.As(err)
			if !ok || e.Code != apperr.Unauthorized || e.Message != c.msg {
				t.Fatalf("Authenticate = %q, %v; want 401 %q", u, err, c.msg)
			}
		})
	}
}

func TestRefreshTokens(t *testing.T) {
	a, ha, err := NewRefresh()
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := NewRefresh()
	if len(a) != 43 || a == b {
		t.Errorf("refresh tokens %q, %q: want 43 random characters", a, b)
	}
	if string(HashRefresh(a)) != string(ha) || strings.Contains(string(ha), a) {
		t.Error("hash mismatch")
	}
	if !WellFormedRefresh(a) || !WellFormedRefresh(b) {
		t.Errorf("%q or %q not well formed", a, b)
	}
}

func TestWellFormedRefresh(t *testing.T) {
	for tok, want := range map[string]bool{
		strings.Repeat("A", 43):                 true,
		"abcXYZ019-_" + strings.Repeat("q", 32): true,
		"":                                      false,
		strings.Repeat("A", 42):                 false,
		strings.Repeat("A", 44):                 false,
		strings.Repeat("A", 42) + "+":           false, // standard base64, not base64url
		strings.Repeat("A", 42) + "=":           false,
		strings.Repeat("A", 42) + " ":           false,
		strings.Repeat("A", 41) + "é":           false, // 43 bytes, not 43 characters of the alphabet
	} {
		if got := WellFormedRefresh(tok); got != want {
			t.Errorf("WellFormedRefresh(%q) = %v, want %v", tok, got, want)
		}
	}
}

// BenchmarkRotationCPU is the CPU a refresh rotation spends on tokens:
// a new refresh token and its hash, the presented token's hash, and a
// signed access token (its share of the µs per rotation, beside the
// database's in cmd/internal/localstack's BenchmarkRefreshHops).
func BenchmarkRotationCPU(b *testing.B) {
	k, err := NewKeys(secret, "benchwrap", "benchwrap-api", 10*time.Minute, nil)
	if err != nil {
		b.Fatal(err)
	}
	old, _, _ := NewRefresh()
	b.ReportAllocs()
	for range b.N {
		if !WellFormedRefresh(old) {
			b.Fatal("malformed")
		}
		_ = HashRefresh(old)
		if _, _, err := NewRefresh(); err != nil {
			b.Fatal(err)
		}
		if _, _, err := k.Access("someone"); err != nil {
			b.Fatal(err)
		}
	}
}
