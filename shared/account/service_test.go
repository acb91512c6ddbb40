package account

import (
	"context"
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
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	keys, err := token.NewKeys([]byte(strings.Repeat("s", 32)), "iss", "aud", 10*time.Minute, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := NewService(newMemStore(), keys, Config{
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
	owner := Credentials{Username: "owner", Password: "password-123"}
	if _, err := svc.Register(ctx, owner); err != nil {
		t.Fatal(err)
	}
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
	tok, err := svc.Register(ctx, Credentials{Username: "leaver", Password: "password-123"})
	if err != nil {
		t.Fatal(err)
	}
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
	for _, bad := range []string{"", "unknown", strings.Repeat("x", 513)} {
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
