package account

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benchwrap/backend/shared/apperr"
	"github.com/benchwrap/backend/shared/token"
)

// memStore is an in-memory Store for unit tests of the Service's rules;
// the PostgreSQL store is tested against a real server in shared/postgres.
type memStore struct {
	mu       sync.Mutex
	users    []User
	failures []failure
	tokens   map[string]*memToken
}

type failure struct {
	key, addr string
	at        time.Time
}

type memToken struct {
	RefreshToken
	used, revoked bool
}

func newMemStore() *memStore { return &memStore{tokens: map[string]*memToken{}} }

func (m *memStore) CreateUser(_ context.Context, name, hash string) (User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range m.users {
		if Key(u.Username) == Key(name) {
			return User{}, ErrUsernameTaken
		}
	}
	u := User{ID: int64(len(m.users) + 1), Username: name, PasswordHash: hash}
	m.users = append(m.users, u)
	return u, nil
}

func (m *memStore) UserByName(_ context.Context, name string) (User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range m.users {
		if Key(u.Username) == Key(name) {
			return u, nil
		}
	}
	return User{}, ErrNotFound
}

func (m *memStore) LoginFailures(_ context.Context, key, addr string, since time.Time) (Failures, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var f Failures
	for _, x := range m.failures {
		if !x.at.After(since) {
			continue
		}
		if x.key == key && x.addr == addr {
			if f.Pair == 0 || x.at.Before(f.PairOldest) {
				f.PairOldest = x.at
			}
			f.Pair++
		}
		if x.addr == addr {
			if f.Address == 0 || x.at.Before(f.AddrOldest) {
				f.AddrOldest = x.at
			}
			f.Address++
		}
		if x.key == key {
			f.User++
		}
	}
	return f, nil
}

func (m *memStore) AddFailure(_ context.Context, key, addr string, at, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failures = append(m.failures, failure{key, addr, at})
	return nil
}

func (m *memStore) ClearFailures(_ context.Context, key, addr string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	kept := m.failures[:0]
	for _, x := range m.failures {
		if x.key != key || x.addr != addr {
			kept = append(kept, x)
		}
	}
	m.failures = kept
	return nil
}

func (m *memStore) AddRefresh(_ context.Context, t RefreshToken) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tokens[string(t.Hash)] = &memToken{RefreshToken: t}
	return nil
}

func (m *memStore) RotateRefresh(_ context.Context, old []byte, next RefreshToken, now time.Time) (User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tokens[string(old)]
	switch {
	case !ok || t.revoked:
		return User{}, ErrRefreshUnknown
	case t.used:
		m.revoke(t.Family)
		return User{}, ErrRefreshReused
	case !now.Before(t.ExpiresAt):
		t.revoked = true
		return User{}, ErrRefreshExpired
	}
	t.used = true
	next.UserID, next.Family = t.UserID, t.Family
	m.tokens[string(next.Hash)] = &memToken{RefreshToken: next}
	return m.users[t.UserID-1], nil
}

func (m *memStore) RevokeFamily(_ context.Context, hash []byte, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tokens[string(hash)]
	if !ok {
		return ErrRefreshUnknown
	}
	m.revoke(t.Family)
	return nil
}

func (m *memStore) revoke(family [16]byte) {
	for _, t := range m.tokens {
		if t.Family == family {
			t.revoked = true
		}
	}
}

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

var cheap = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func newTestService(t *testing.T) (*Service, *fakeClock) {
	t.Helper()
	return newTestServiceOn(t, newMemStore())
}

// newTestServiceOn builds the test service on a given store.
func newTestServiceOn(t *testing.T, store Store) (*Service, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	keys, err := token.NewKeys([]byte(strings.Repeat("s", 32)), "iss", "aud", 10*time.Minute, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := NewService(store, keys, Config{
		RefreshTTL: time.Hour, MaxFailures: 3, AddressMaxFailures: 5, Window: 10 * time.Minute,
		SlowdownStep: time.Millisecond, SlowdownMax: 3 * time.Millisecond, Params: cheap,
	}, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	return svc, clk
}

func code(err error) apperr.Code {
	if err == nil {
		return -1
	}
	return apperr.CodeOf(err)
}

func TestServiceThrottles(t *testing.T) {
	ctx := context.Background()
	svc, clk := newTestService(t)
	owner, _ := registered(t, svc, "owner")
	wrong := Credentials{Username: "Owner", Password: "wrong-password"}
	steps := []struct {
		c    Credentials
		addr string
		want apperr.Code
	}{
		{wrong, "a", apperr.Unauthorized},
		{wrong, "a", apperr.Unauthorized},
		{wrong, "a", apperr.Unauthorized},
		{wrong, "a", apperr.TooMany}, // the pair is locked
		{owner, "a", apperr.TooMany}, // even with the right password
		{owner, "b", -1},             // the owner elsewhere is not
		{Credentials{"other1", "x-password"}, "a", apperr.Unauthorized},
		{Credentials{"other2", "x-password"}, "a", apperr.Unauthorized},
		{Credentials{"other3", "x-password"}, "a", apperr.TooMany}, // address: 5 failures
		{Credentials{"other3", "x-password"}, "c", apperr.Unauthorized},
	}
	for i, s := range steps {
		_, err := svc.Login(ctx, s.c, s.addr)
		if code(err) != s.want {
			t.Fatalf("step %d (%s from %s): %v, want code %d", i, s.c.Username, s.addr, err, s.want)
		}
		clk.t = clk.t.Add(time.Second)
	}
	// Retry-After counts from the oldest failure of the pair.
	_, err := svc.Login(ctx, owner, "a")
	e, _ := apperr.As(err)
	if e == nil || e.RetryAfter != 10*time.Minute-10*time.Second {
		t.Fatalf("Retry-After: %v", err)
	}
	clk.t = clk.t.Add(10 * time.Minute)
	if _, err := svc.Login(ctx, owner, "a"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestServiceSlowdown(t *testing.T) {
	svc, _ := newTestService(t)
	for n, want := range map[int]time.Duration{0: 0, 2: 0, 3: time.Millisecond, 4: 2 * time.Millisecond, 50: 3 * time.Millisecond} {
		if got := svc.slowdown(n); got != want {
			t.Errorf("slowdown(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestServiceLogout(t *testing.T) {
	ctx := context.Background()
	svc, _ := newTestService(t)
	_, tok := registered(t, svc, "leaver")
	next, err := svc.Refresh(ctx, tok.Refresh)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Logout(ctx, tok.Refresh); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Refresh(ctx, next.Refresh); code(err) != apperr.Unauthorized {
		t.Fatalf("refresh after logout: %v", err)
	}
	for _, bad := range []string{"", "unknown", strings.Repeat("x", 513), strings.Repeat("x", token.RefreshLen), strings.Repeat("x", token.RefreshLen-1) + "+"} {
		if err := svc.Logout(ctx, bad); code(err) != apperr.Unauthorized {
			t.Errorf("logout %q: %v", bad, err)
		}
	}
}

func TestServiceRefusesControlCharactersFirst(t *testing.T) {
	ctx := context.Background()
	svc, _ := newTestService(t)
	for _, c := range []Credentials{{"a\x00bcde", "password-123"}, {"abcde", "pass\nword-123"}} {
		if _, err := svc.Register(ctx, c); code(err) != apperr.BadRequest {
			t.Errorf("register %q: %v", c, err)
		}
		if _, err := svc.Login(ctx, c, "a"); code(err) != apperr.BadRequest {
			t.Errorf("login %q: %v", c, err)
		}
	}
}

// registered registers name with the tests' password and returns its
// credentials and first tokens.
func registered(t *testing.T, svc *Service, name string) (Credentials, Tokens) {
	t.Helper()
	c := Credentials{Username: name, Password: "password-123"}
	tok, err := svc.Register(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return c, tok
}

// user is who an access token was issued to.
func user(t *testing.T, svc *Service, tok Tokens) string {
	t.Helper()
	name, err := svc.keys.Authenticate("Bearer " + tok.Access)
	if err != nil {
		t.Fatalf("access token: %v", err)
	}
	return name
}

func TestServiceRegister(t *testing.T) {
	ctx := context.Background()
	svc, _ := newTestService(t)
	_, tok := registered(t, svc, "newcomer")
	if user(t, svc, tok) != "newcomer" || tok.Refresh == "" {
		t.Fatalf("tokens %+v", tok)
	}
	for _, c := range []struct {
		cred Credentials
		want apperr.Code
	}{
		{Credentials{"NewComer", "password-456"}, apperr.Conflict}, // names are unique without case
		{Credentials{"ab", "password-123"}, apperr.Invalid},
		{Credentials{"short-pass", "1234567"}, apperr.Invalid},
	} {
		if _, err := svc.Register(ctx, c.cred); code(err) != c.want {
			t.Errorf("register %q: %v, want code %d", c.cred.Username, err, c.want)
		}
	}
}

func TestServiceLogin(t *testing.T) {
	ctx := context.Background()
	store := newMemStore()
	svc, _ := newTestServiceOn(t, store)
	registered(t, svc, "member")
	for _, c := range []Credentials{{"member", "wrong-password"}, {"stranger", "password-123"}, {"member", ""}} {
		if _, err := svc.Login(ctx, c, "a"); code(err) != apperr.Unauthorized || err.Error() != MsgBadCredentials {
			t.Errorf("login %q/%q: %v, want the one message for bad credentials", c.Username, c.Password, err)
		}
	}
	tok, err := svc.Login(ctx, Credentials{Username: "MEMBER", Password: "password-123"}, "a")
	if err != nil {
		t.Fatal(err)
	}
	if got := user(t, svc, tok); got != "member" {
		t.Errorf("access token for %q, want the registered name", got)
	}
	// A success clears the pair's failures, not the address's others'.
	f, _ := store.LoginFailures(ctx, Key("member"), "a", time.Time{})
	if f.Pair != 0 || f.Address != 1 {
		t.Errorf("after success: %+v, want the pair cleared and the stranger's failure kept", f)
	}
}

func TestServiceRotation(t *testing.T) {
	ctx := context.Background()
	svc, clk := newTestService(t)
	registered(t, svc, "rotator")
	login := func() Tokens {
		tok, err := svc.Login(ctx, Credentials{Username: "rotator", Password: "password-123"}, "a")
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	first, other := login(), login() // two families
	second, err := svc.Refresh(ctx, first.Refresh)
	if err != nil {
		t.Fatal(err)
	}
	if second.Refresh == first.Refresh || user(t, svc, second) != "rotator" {
		t.Fatalf("rotation returned %+v", second)
	}
	third, err := svc.Refresh(ctx, second.Refresh)
	if err != nil {
		t.Fatal(err)
	}
	// Reuse of a consumed token revokes its whole family, the newest too.
	if _, err := svc.Refresh(ctx, first.Refresh); code(err) != apperr.Unauthorized {
		t.Fatalf("reuse: %v", err)
	}
	if _, err := svc.Refresh(ctx, third.Refresh); code(err) != apperr.Unauthorized {
		t.Fatalf("family member after reuse: %v", err)
	}
	// Other logins' families are not affected.
	if _, err := svc.Refresh(ctx, other.Refresh); err != nil {
		t.Fatalf("other family: %v", err)
	}
	// An expired token is refused with its own message.
	late := login()
	clk.t = clk.t.Add(time.Hour)
	if _, err := svc.Refresh(ctx, late.Refresh); code(err) != apperr.Unauthorized || err.Error() != MsgRefreshExpired {
		t.Fatalf("expired: %v", err)
	}
	for _, bad := range []string{"", "unknown", strings.Repeat("x", 513), strings.Repeat("x", token.RefreshLen), strings.Repeat("x", token.RefreshLen-1) + "+"} {
		if _, err := svc.Refresh(ctx, bad); code(err) != apperr.Unauthorized || err.Error() != MsgRefreshInvalid {
			t.Errorf("refresh %q: %v", bad, err)
		}
	}
}

// downStore fails every call, as a store whose database is unreachable.
type downStore struct{ Store }

var errDown = errors.New("connection refused")

func (downStore) CreateUser(context.Context, string, string) (User, error) { return User{}, errDown }
func (downStore) LoginFailures(context.Context, string, string, time.Time) (Failures, error) {
	return Failures{}, errDown
}
func (downStore) RotateRefresh(context.Context, []byte, RefreshToken, time.Time) (User, error) {
	return User{}, errDown
}
func (downStore) RevokeFamily(context.Context, []byte, time.Time) error { return errDown }

// A store outage is a 503 (retry later), never a verdict on the client.
func TestServiceStoreOutage(t *testing.T) {
	ctx := context.Background()
	svc, _ := newTestServiceOn(t, downStore{})
	c := Credentials{Username: "someone", Password: "password-123"}
	_, rerr := svc.Register(ctx, c)
	_, lerr := svc.Login(ctx, c, "a")
	// Well formed, so the store is asked.
	tok := strings.Repeat("t", token.RefreshLen)
	_, ferr := svc.Refresh(ctx, tok)
	oerr := svc.Logout(ctx, tok)
	for op, err := range map[string]error{"register": rerr, "login": lerr, "refresh": ferr, "logout": oerr} {
		if code(err) != apperr.Unavailable || !errors.Is(err, errDown) {
			t.Errorf("%s: %v, want 503 wrapping the cause", op, err)
		}
	}
}
