package postgres_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benchwrap/backend/shared/account"
	"github.com/benchwrap/backend/shared/apperr"
	"github.com/benchwrap/backend/shared/postgres"
	"github.com/benchwrap/backend/shared/token"
	"github.com/benchwrap/backend/testkit/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// clock is a settable time source, so expiry and lock-out windows are
// tested without sleeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Client addresses (documentation ranges).
const (
	clientA  = "192.0.2.10"
	clientB  = "198.51.100.20"
	attacker = "203.0.113.66"
)

func newService(t *testing.T) (*account.Service, postgres.Accounts, *clock) {
	t.Helper()
	pool := openPool(t)
	clk := &clock{t: time.Now()}
	keys, err := token.NewKeys([]byte(strings.Repeat("k", 32)), "benchwrap", "benchwrap-api", 10*time.Minute, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	store := postgres.Accounts{Pool: pool}
	svc, err := account.NewService(store, keys, account.Config{
		RefreshTTL: 30 * 24 * time.Hour, MaxFailures: 10, AddressMaxFailures: 30, Window: 15 * time.Minute,
		SlowdownStep: 5 * time.Millisecond, SlowdownMax: 20 * time.Millisecond, Params: account.DefaultParams,
	}, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	return svc, store, clk
}

// registered registers name with the tests' password and returns its
// credentials and first tokens.
func registered(t *testing.T, svc *account.Service, name string) (account.Credentials, account.Tokens) {
	t.Helper()
	c := account.Credentials{Username: name, Password: "password-123"}
	tok, err := svc.Register(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return c, tok
}

// loginOK logs in with creds from addr; the test fails, naming the case,
// when the login is refused.
func loginOK(t *testing.T, svc *account.Service, creds account.Credentials, addr, what string) {
	t.Helper()
	if _, err := svc.Login(context.Background(), creds, addr); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantErr(t *testing.T, err error, code apperr.Code, msg string) {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Code != code || (msg != "" && e.Message != msg) {
		t.Fatalf("error = %v; want code %d %q", err, code, msg)
	}
}

func TestConcurrentRegistrationsOfOneName(t *testing.T) {
	svc, _, _ := newService(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	created, conflicts := 0, 0
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Varying letter case: uniqueness is case-insensitive.
			name := "racer"
			if i%2 == 1 {
				name = "RACER"
			}
			_, err := svc.Register(ctx, account.Credentials{Username: name, Password: "password-123"})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				created++
			case apperr.CodeOf(err) == apperr.Conflict && err.Error() == account.MsgTaken:
				conflicts++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}()
	}
	wg.Wait()
	if created != 1 || conflicts != 49 {
		t.Fatalf("created=%d conflicts=%d; want 1 and 49", created, conflicts)
	}
}

func TestRefreshRotationAndReuse(t *testing.T) {
	svc, _, _ := newService(t)
	ctx := context.Background()
	creds, first := registered(t, svc, "rotator")
	second, err := svc.Refresh(ctx, first.Refresh)
	if err != nil {
		t.Fatal(err)
	}
	if second.Refresh == first.Refresh || second.Access == "" {
		t.Fatal("refresh did not rotate")
	}
	third, err := svc.Refresh(ctx, second.Refresh)
	if err != nil {
		t.Fatal(err)
	}
	// Replaying an already used token revokes the family: the newest
	// token, held by whoever rotated last, dies too.
	_, err = svc.Refresh(ctx, first.Refresh)
	wantErr(t, err, apperr.Unauthorized, account.MsgRefreshInvalid)
	_, err = svc.Refresh(ctx, third.Refresh)
	wantErr(t, err, apperr.Unauthorized, account.MsgRefreshInvalid)

	// Another login's family is untouched.
	other, err := svc.Login(ctx, creds, clientA)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Refresh(ctx, other.Refresh); err != nil {
		t.Fatalf("independent family revoked: %v", err)
	}
	_, err = svc.Refresh(ctx, "never-issued-token")
	wantErr(t, err, apperr.Unauthorized, account.MsgRefreshInvalid)
}

func TestRefreshExpiry(t *testing.T) {
	svc, _, clk := newService(t)
	ctx := context.Background()
	_, tok := registered(t, svc, "expirer")
	clk.Add(29 * 24 * time.Hour)
	tok, err := svc.Refresh(ctx, tok.Refresh) // a fresh 30 days from here
	if err != nil {
		t.Fatalf("refresh within lifetime: %v", err)
	}
	clk.Add(30*24*time.Hour + time.Second)
	_, err = svc.Refresh(ctx, tok.Refresh)
	wantErr(t, err, apperr.Unauthorized, account.MsgRefreshExpired)
	_, err = svc.Refresh(ctx, tok.Refresh) // an expired token is gone
	wantErr(t, err, apperr.Unauthorized, account.MsgRefreshInvalid)
}

func TestLoginLockout(t *testing.T) {
	svc, _, clk := newService(t)
	ctx := context.Background()
	good, _ := registered(t, svc, "lockme")
	bad := account.Credentials{Username: "LockMe", Password: "wrong-password"}
	for i := 0; i < 10; i++ {
		_, err := svc.Login(ctx, bad, clientA)
		wantErr(t, err, apperr.Unauthorized, account.MsgBadCredentials)
		clk.Add(time.Minute)
	}
	// Ten failures within 15 minutes: locked, even with the right password.
	_, err := svc.Login(ctx, good, clientA)
	wantErr(t, err, apperr.TooMany, account.MsgLocked)
	e, _ := apperr.As(err)
	// The first failure was 10 minutes ago: 5 more minutes to go.
	if e.RetryAfter < 4*time.Minute || e.RetryAfter > 5*time.Minute {
		t.Errorf("Retry-After = %s, want about 5m", e.RetryAfter)
	}
	clk.Add(e.RetryAfter + time.Second)
	loginOK(t, svc, good, clientA, "login after the window")
}

func TestUnknownUserCountsTowardsLockout(t *testing.T) {
	svc, _, _ := newService(t)
	ctx := context.Background()
	ghost := account.Credentials{Username: "ghost", Password: "whatever-123"}
	start := time.Now()
	for i := 0; i < 10; i++ {
		_, err := svc.Login(ctx, ghost, clientA)
		wantErr(t, err, apperr.Unauthorized, account.MsgBadCredentials)
	}
	if perLogin := time.Since(start) / 10; perLogin < 5*time.Millisecond {
		t.Errorf("unknown-user login took %s: the password hash was skipped", perLogin)
	}
	_, err := svc.Login(ctx, ghost, clientA)
	wantErr(t, err, apperr.TooMany, account.MsgLocked)
}

func TestImportUsersFile(t *testing.T) {
	svc, store, _ := newService(t)
	ctx := context.Background()
	registered(t, svc, "present")
	file := strings.Join([]string{
		"olduser:$argon2id$v=19$m=65536,t=3,p=4$ufceAyDkHMN4z3kvxTiH0A$4hJvimFx5VS9rSJjerJUbw",
		// The original's injection: registering "b:x\nalice" wrote these two lines.
		"b:x",
		"alice",
		"present:$argon2id$v=19$m=65536,t=3,p=4$ufceAyDkHMN4z3kvxTiH0A$4hJvimFx5VS9rSJjerJUbw",
		"bad/name:$argon2id$v=19$m=65536,t=3,p=4$ufceAyDkHMN4z3kvxTiH0A$4hJvimFx5VS9rSJjerJUbw",
		"nohash:plaintext",
		"",
	}, "\n")
	res, err := account.Import(ctx, store, strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]string{}
	for _, r := range res {
		got[r.Line] = r.Status
	}
	want := map[int]string{1: "imported", 2: "skipped", 3: "skipped", 4: "exists", 5: "skipped", 6: "skipped"}
	for line, status := range want {
		if got[line] != status {
			t.Errorf("line %d: %q, want %q (all: %+v)", line, got[line], status, res)
		}
	}
	// The imported passlib hash verifies at login.
	loginOK(t, svc, account.Credentials{Username: "olduser", Password: "original-pass-42"}, clientA, "login with imported hash")
	if _, err := store.UserByName(ctx, "alice"); err == nil {
		t.Fatal("hostile line created user alice")
	}
}
