package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benchwrap/backend/shared/account"
	"github.com/benchwrap/backend/shared/apperr"
)

// The attack of issue 15 item 1: a stranger fails 50 times on the
// owner's name. The stranger is throttled; the owner, from their own
// address, still logs in.
func TestSecurityLockoutIsNotAWeapon(t *testing.T) {
	svc, _, _ := newService(t)
	ctx := context.Background()
	owner, _ := registered(t, svc, "victim")
	tooMany := 0
	for i := 0; i < 50; i++ {
		_, err := svc.Login(ctx, account.Credentials{Username: "VICTIM", Password: fmt.Sprintf("guess-%d-xx", i)}, attacker)
		switch apperr.CodeOf(err) {
		case apperr.Unauthorized:
			if tooMany > 0 {
				t.Fatalf("attempt %d: 401 after a 429", i)
			}
		case apperr.TooMany:
			tooMany++
			if e, _ := apperr.As(err); e.RetryAfter <= 0 {
				t.Fatalf("429 without Retry-After")
			}
		default:
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if tooMany != 40 {
		t.Errorf("attacker got %d 429s in 50 attempts; want 40 (all after the 10th failure)", tooMany)
	}
	// Even the right password is refused from the attacker's address...
	_, err := svc.Login(ctx, owner, attacker)
	wantErr(t, err, apperr.TooMany, account.MsgLocked)
	// ...but the owner's own address is not locked.
	start := time.Now()
	loginOK(t, svc, owner, clientB, "owner locked out by a stranger")
	// The owner was slowed down by at most SlowdownMax (20 ms here).
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("owner's login took %v", d)
	}
	// The owner's own mistakes do not lock them out for long either:
	// their pair has its own counter.
	_, err = svc.Login(ctx, account.Credentials{Username: "victim", Password: "typo-password"}, clientB)
	wantErr(t, err, apperr.Unauthorized, account.MsgBadCredentials)
	loginOK(t, svc, owner, clientB, "owner after one typo")
}

// Password spraying: one address tries one password on many names. It is
// stopped after AddressMaxFailures (30 here), while the same names stay
// open to everyone else.
func TestSecurityPasswordSprayingThrottled(t *testing.T) {
	svc, _, _ := newService(t)
	ctx := context.Background()
	owner, _ := registered(t, svc, "sprayed")
	for i := 0; i < 30; i++ {
		_, err := svc.Login(ctx, account.Credentials{Username: fmt.Sprintf("name%03d", i), Password: "Summer2026!"}, attacker)
		wantErr(t, err, apperr.Unauthorized, account.MsgBadCredentials)
	}
	_, err := svc.Login(ctx, account.Credentials{Username: "sprayed", Password: "Summer2026!"}, attacker)
	wantErr(t, err, apperr.TooMany, account.MsgLocked)
	loginOK(t, svc, owner, clientA, "another address is throttled too")
}

// The per-username slow-down grows with failures from many addresses, is
// capped, and never refuses.
func TestSecuritySlowdownAcrossAddresses(t *testing.T) {
	svc, _, _ := newService(t)
	ctx := context.Background()
	owner, _ := registered(t, svc, "botnet")
	for i := 0; i < 40; i++ { // 40 addresses, 1 failure each
		_, err := svc.Login(ctx, account.Credentials{Username: "botnet", Password: "wrong-password"}, fmt.Sprintf("203.0.113.%d", i))
		wantErr(t, err, apperr.Unauthorized, account.MsgBadCredentials)
	}
	start := time.Now()
	loginOK(t, svc, owner, clientA, "owner refused")
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("login after 40 failures took %v; want the 20 ms slow-down", d)
	}
}

// Issue 15 item 3: NUL and other control characters are a 400 with a
// reason, not a database error.
func TestSecurityControlCharacters(t *testing.T) {
	svc, _, _ := newService(t)
	ctx := context.Background()
	for _, c := range []account.Credentials{
		{Username: "nul\x00user", Password: "password-123"},
		{Username: "line\nbreak", Password: "password-123"},
		{Username: "deleter\x7f", Password: "password-123"},
		{Username: "c1control\u0085", Password: "password-123"},
		{Username: "badutf8\xff", Password: "password-123"},
		{Username: "gooduser", Password: "pass\x00word-123"},
		{Username: "gooduser", Password: "pass\tword-123"},
	} {
		field := "username"
		if strings.HasPrefix(c.Username, "gooduser") {
			field = "password"
		}
		_, err := svc.Register(ctx, c)
		if e, ok := apperr.As(err); !ok || e.Code != apperr.BadRequest || !strings.HasPrefix(e.Message, field+":") {
			t.Errorf("register %q: %v; want 400 naming %s", c.Username, err, field)
		}
		_, err = svc.Login(ctx, c, clientA)
		if e, ok := apperr.As(err); !ok || e.Code != apperr.BadRequest || !strings.HasPrefix(e.Message, field+":") {
			t.Errorf("login %q: %v; want 400 naming %s", c.Username, err, field)
		}
	}
}

// Issue 15 item 2: names of system schemas are refused in any case.
func TestSecurityReservedNames(t *testing.T) {
	svc, _, _ := newService(t)
	ctx := context.Background()
	for _, name := range []string{"information_schema", "INFORMATION_SCHEMA", "public", "Public", "pg_catalog", "pg_toast", "PG_Anything", "pg_temp_1"} {
		_, err := svc.Register(ctx, account.Credentials{Username: name, Password: "password-123"})
		wantErr(t, err, apperr.Invalid, "username: this name is reserved.")
	}
}

// Issue 15 item 4: logout revokes the whole family of the token it is
// given, including tokens rotated from it; other logins are untouched.
func TestSecurityLogoutRevokesFamily(t *testing.T) {
	svc, _, _ := newService(t)
	ctx := context.Background()
	creds, first := registered(t, svc, "leaver")
	other, err := svc.Login(ctx, creds, clientA)
	if err != nil {
		t.Fatal(err)
	}
	second, err := svc.Refresh(ctx, first.Refresh)
	if err != nil {
		t.Fatal(err)
	}
	// Logging out with the spent first token still ends the session: a
	// thief holding the newest token loses it.
	if err := svc.Logout(ctx, first.Refresh); err != nil {
		t.Fatal(err)
	}
	_, err = svc.Refresh(ctx, second.Refresh)
	wantErr(t, err, apperr.Unauthorized, account.MsgRefreshInvalid)
	if err := svc.Logout(ctx, second.Refresh); err != nil {
		t.Fatalf("second logout: %v", err)
	}
	if _, err := svc.Refresh(ctx, other.Refresh); err != nil {
		t.Fatalf("another login's family was revoked: %v", err)
	}
	wantErr(t, svc.Logout(ctx, "never-issued-token"), apperr.Unauthorized, account.MsgRefreshInvalid)
}

// A stolen refresh token raced against its owner: of 20 concurrent
// rotations of one token exactly one succeeds, every other one is told
// the token is invalid, and the family dies with the winner's new token.
func TestSecurityConcurrentRotationsOfOneToken(t *testing.T) {
	svc, _, _ := newService(t)
	ctx := context.Background()
	_, tok := registered(t, svc, "raced")
	var wg sync.WaitGroup
	var mu sync.Mutex
	var won []account.Tokens
	start := make(chan struct{})
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			next, err := svc.Refresh(ctx, tok.Refresh)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won = append(won, next)
			case apperr.CodeOf(err) != apperr.Unauthorized:
				t.Errorf("rotation: %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(won) != 1 {
		t.Fatalf("%d rotations of one token succeeded; want 1", len(won))
	}
	_, err := svc.Refresh(ctx, won[0].Refresh)
	wantErr(t, err, apperr.Unauthorized, account.MsgRefreshInvalid)
}
