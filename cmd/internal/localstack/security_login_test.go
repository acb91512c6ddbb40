package localstack

// Login attacks of the hostile review (issue 15 item 1).

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/benchwrap/backend/testkit/testenv"
)

// trustedProxy is the only peer whose X-Forwarded-For the test stack
// believes (TRUSTED_PROXIES).
const trustedProxy = "127.0.0.1"

// clientFrom returns an HTTP client whose connections come from the
// loopback address src, so the gateway sees a distinct TCP peer.
func clientFrom(t *testing.T, src string) *http.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

func loginFrom(t *testing.T, c *http.Client, base, user, pw string, header ...string) (int, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/auth/login", strings.NewReader(fmt.Sprintf(`{"username":%q,"password":%q}`, user, pw)))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header
}

// Issue 15 item 1, the attack: a stranger fails 50 times on the owner's
// name from their address. The stranger gets 429 with Retry-After; the
// owner logs in from another address.
func TestSecurityLockoutAttackOverHTTP(t *testing.T) {
	s := testStack(t)
	user, pw := testenv.Name("vic")[:12], "owner-password-1"
	register(t, s.GatewayURL, user, pw)
	attacker, owner := clientFrom(t, "127.0.0.3"), clientFrom(t, "127.0.0.2")
	tooMany := 0
	for i := 0; i < 50; i++ {
		status, h := loginFrom(t, attacker, s.GatewayURL, user, fmt.Sprintf("guess-%02d-password", i))
		switch {
		case status == 429 && h.Get("Retry-After") != "":
			tooMany++
		case status != 401:
			t.Fatalf("attempt %d: %d", i, status)
		}
	}
	if tooMany == 0 {
		t.Fatal("50 failures from one address were never throttled")
	}
	if status, _ := loginFrom(t, attacker, s.GatewayURL, user, pw); status != 429 {
		t.Errorf("attacker with the right password: %d, want 429", status)
	}
	if status, _ := loginFrom(t, owner, s.GatewayURL, user, pw); status != 200 {
		t.Fatalf("owner from another address: %d, want 200", status)
	}
}

// A client that is not a trusted proxy cannot pick its address with
// X-Forwarded-For: the attacker cannot escape its throttle by claiming a
// new address per attempt, nor frame another address.
func TestSecuritySpoofedForwardedForIgnored(t *testing.T) {
	s := testStack(t)
	user, pw := testenv.Name("spf")[:12], "owner-password-2"
	register(t, s.GatewayURL, user, pw)
	attacker := clientFrom(t, "127.0.0.4")
	throttled := false
	for i := 0; i < 15; i++ {
		status, _ := loginFrom(t, attacker, s.GatewayURL, user, "wrong-password", "X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i))
		throttled = throttled || status == 429
	}
	if !throttled {
		t.Fatal("rotating X-Forwarded-For from an untrusted peer escaped the per-address throttle")
	}
	// The addresses it claimed were not charged: a client really behind
	// the trusted proxy with one of them logs in.
	viaProxy := clientFrom(t, trustedProxy)
	if status, _ := loginFrom(t, viaProxy, s.GatewayURL, user, pw, "X-Forwarded-For", "198.51.100.3"); status != 200 {
		t.Fatalf("client behind the trusted proxy: %d", status)
	}
	// Through the trusted proxy, X-Forwarded-For is the client: its
	// failures are its own.
	for i := 0; i < 10; i++ {
		loginFrom(t, viaProxy, s.GatewayURL, user, "wrong-password", "X-Forwarded-For", "198.51.100.77")
	}
	if status, _ := loginFrom(t, viaProxy, s.GatewayURL, user, pw, "X-Forwarded-For", "198.51.100.77"); status != 429 {
		t.Errorf("forwarded client after 10 failures: %d, want 429", status)
	}
	if status, _ := loginFrom(t, viaProxy, s.GatewayURL, user, pw, "X-Forwarded-For", "198.51.100.78"); status != 200 {
		t.Errorf("another forwarded client: %d, want 200", status)
	}
}

// Issue 15 item 2, the attack: a name that would put the user's tables in
// a system schema, in any letter case, at every register route.
func TestSecurityReservedNamesOverHTTP(t *testing.T) {
	s := testStack(t)
	for _, path := range []string{"/auth/register", "/api/auth/register"} {
		for _, name := range []string{"information_schema", "PUBLIC", "pg_catalog", "Pg_Toast", "pg_anything"} {
			r := call(t, "POST", s.GatewayURL+path, map[string]string{"username": name, "password": "password-123"})
			if r.Status != 422 {
				t.Errorf("%s %q: %d %s, want 422", path, name, r.Status, r.Body)
			}
		}
	}
}

// Issue 15 item 4, the attack: a stolen refresh token keeps working after
// its owner signs out. Logout revokes the whole family, at every prefix.
func TestSecurityLogoutOverHTTP(t *testing.T) {
	s := testStack(t)
	user, pw := testenv.Name("lo")[:12], "password-123"
	register(t, s.GatewayURL, user, pw)
	for _, path := range []string{"/auth/logout", "/api/auth/logout", "/function/logout"} {
		login := call(t, "POST", s.GatewayURL+"/auth/login", map[string]string{"username": user, "password": pw})
		expect(t, login, 200, "")
		stolen := login.Str(t, "refresh")
		rotated := call(t, "POST", s.GatewayURL+"/auth/refresh", map[string]string{"refresh": stolen})
		expect(t, rotated, 200, "")
		expect(t, call(t, "POST", s.GatewayURL+path, map[string]string{"refresh": rotated.Str(t, "refresh")}), 200, "")
		for _, tok := range []string{stolen, rotated.Str(t, "refresh")} {
			if r := call(t, "POST", s.GatewayURL+"/auth/refresh", map[string]string{"refresh": tok}); r.Status != 401 {
				t.Errorf("%s: a token of the signed-out family refreshed: %d", path, r.Status)
			}
		}
	}
}
