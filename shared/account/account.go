package account

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/benchwrap/backend/shared/apperr"
	"github.com/benchwrap/backend/shared/token"
)

// User is a stored account.
type User struct {
	ID           int64
	Username     string
	PasswordHash string
}

// RefreshToken is the stored form of a refresh token: only its hash.
// Tokens issued by one login share a Family; rotation keeps the family.
type RefreshToken struct {
	Hash      []byte
	UserID    int64
	Family    [16]byte
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// Errors a Store returns.
var (
	ErrUsernameTaken  = errors.New("username taken")
	ErrNotFound       = errors.New("not found")
	ErrRefreshUnknown = errors.New("refresh token unknown or revoked")
	ErrRefreshExpired = errors.New("refresh token expired")
	ErrRefreshReused  = errors.New("refresh token reused; family revoked")
)

// Store persists accounts, login failures and refresh tokens.
type Store interface {
	// CreateUser inserts a user; ErrUsernameTaken if the name exists in
	// any letter case. Concurrent calls for one name create one user.
	CreateUser(ctx context.Context, username, passwordHash string) (User, error)
	// UserByName finds a user case-insensitively; ErrNotFound if none.
	UserByName(ctx context.Context, username string) (User, error)
	// RecentFailures returns the times of the last limit failed logins for
	// key after since, newest first.
	RecentFailures(ctx context.Context, key string, since time.Time, limit int) ([]time.Time, error)
	// AddFailure records a failed login and forgets those before prune.
	AddFailure(ctx context.Context, key string, at, prune time.Time) error
	// ClearFailures forgets the failed logins of key.
	ClearFailures(ctx context.Context, key string) error
	// AddRefresh stores a new refresh token.
	AddRefresh(ctx context.Context, t RefreshToken) error
	// RotateRefresh atomically consumes the token with hash old and stores
	// next in the same family (next.UserID and next.Family are filled in).
	// Unknown or revoked: ErrRefreshUnknown. Expired: ErrRefreshExpired.
	// Already used: the whole family is revoked and ErrRefreshReused
	// returned, so a stolen token dies with the legitimate one.
	RotateRefresh(ctx context.Context, old []byte, next RefreshToken, now time.Time) (User, error)
}

// Config holds the account rules that can be tuned.
type Config struct {
	RefreshTTL  time.Duration // 30 days
	MaxFailures int           // failed logins before lock-out: 10
	Window      time.Duration // lock-out window: 15 minutes
	Params      Params        // argon2id cost of new hashes
}

// Service implements register, login and refresh.
type Service struct {
	store Store
	keys  *token.Keys
	cfg   Config
	now   func() time.Time
	dummy string // hash checked for unknown users, so they cost the same
}

// NewService returns a Service. now may be nil (time.Now).
func NewService(store Store, keys *token.Keys, cfg Config, now func() time.Time) (*Service, error) {
	if now == nil {
		now = time.Now
	}
	if cfg.RefreshTTL <= 0 || cfg.MaxFailures <= 0 || cfg.Window <= 0 {
		return nil, errors.New("account: refresh lifetime, lock-out threshold and window must be positive")
	}
	var pw [18]byte
	_, _ = rand.Read(pw[:])
	dummy, err := HashPassword(base64.RawStdEncoding.EncodeToString(pw[:]), cfg.Params)
	if err != nil {
		return nil, err
	}
	return &Service{store: store, keys: keys, cfg: cfg, now: now, dummy: dummy}, nil
}

// Credentials are a username and password as sent by a client.
type Credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// Tokens is the body of every successful auth response.
type Tokens struct {
	Access  string `json:"access"`
	Refresh string `json:"refresh"`
}

// Public messages of the original backend.
const (
	MsgTaken          = "Username already registered."
	MsgBadCredentials = "Invalid credentials."
	MsgRefreshInvalid = "Invalid refresh token."
	MsgRefreshExpired = "Refresh token expired."
	MsgLocked         = "Too many failed login attempts. Try again later."
)

// Register creates an account and logs it in.
func (s *Service) Register(ctx context.Context, c Credentials) (Tokens, error) {
	if err := ValidateUsername(c.Username); err != nil {
		return Tokens{}, err
	}
	if err := ValidatePassword(c.Password); err != nil {
		return Tokens{}, err
	}
	hash, err := HashPassword(c.Password, s.cfg.Params)
	if err != nil {
		return Tokens{}, err
	}
	u, err := s.store.CreateUser(ctx, c.Username, hash)
	if errors.Is(err, ErrUsernameTaken) {
		return Tokens{}, apperr.New(apperr.Conflict, MsgTaken)
	}
	if err != nil {
		return Tokens{}, storeErr("create user", err)
	}
	return s.issue(ctx, u, newFamily())
}

// Login checks credentials and starts a new token family. After
// MaxFailures failed attempts within Window, the username is locked until
// the window has passed, whatever the password.
func (s *Service) Login(ctx context.Context, c Credentials) (Tokens, error) {
	if c.Username == "" || c.Password == "" || len(c.Username) > 256 || len(c.Password) > 4*MaxPassword {
		return Tokens{}, apperr.New(apperr.Unauthorized, MsgBadCredentials)
	}
	key := Key(c.Username)
	now := s.now()
	recent, err := s.store.RecentFailures(ctx, key, now.Add(-s.cfg.Window), s.cfg.MaxFailures)
	if err != nil {
		return Tokens{}, storeErr("read login failures", err)
	}
	if len(recent) >= s.cfg.MaxFailures {
		// Locked until the oldest of the last MaxFailures leaves the window.
		e := apperr.New(apperr.TooMany, MsgLocked)
		e.RetryAfter = max(recent[len(recent)-1].Add(s.cfg.Window).Sub(now), time.Second)
		return Tokens{}, e
	}

	u, err := s.store.UserByName(ctx, c.Username)
	hash := u.PasswordHash
	switch {
	case errors.Is(err, ErrNotFound):
		hash = s.dummy
	case err != nil:
		return Tokens{}, storeErr("find user", err)
	}
	ok, verr := VerifyPassword(c.Password, hash)
	if verr != nil {
		return Tokens{}, apperr.Wrap(apperr.Internal, "Internal server error.", fmt.Errorf("stored hash of user %d: %w", u.ID, verr))
	}
	if err != nil || !ok {
		if ferr := s.store.AddFailure(ctx, key, now, now.Add(-s.cfg.Window)); ferr != nil {
			return Tokens{}, storeErr("record login failure", ferr)
		}
		return Tokens{}, apperr.New(apperr.Unauthorized, MsgBadCredentials)
	}
	if len(recent) > 0 {
		if err := s.store.ClearFailures(ctx, key); err != nil {
			return Tokens{}, storeErr("clear login failures", err)
		}
	}
	return s.issue(ctx, u, newFamily())
}

// Refresh rotates a refresh token: the presented one is consumed and a new
// pair is returned. A token presented twice revokes its whole family.
func (s *Service) Refresh(ctx context.Context, refresh string) (Tokens, error) {
	if refresh == "" || len(refresh) > 512 {
		return Tokens{}, apperr.New(apperr.Unauthorized, MsgRefreshInvalid)
	}
	now := s.now()
	raw, hash, err := token.NewRefresh()
	if err != nil {
		return Tokens{}, err
	}
	next := RefreshToken{Hash: hash, IssuedAt: now, ExpiresAt: now.Add(s.cfg.RefreshTTL)}
	u, err := s.store.RotateRefresh(ctx, token.HashRefresh(refresh), next, now)
	switch {
	case errors.Is(err, ErrRefreshExpired):
		return Tokens{}, apperr.New(apperr.Unauthorized, MsgRefreshExpired)
	case errors.Is(err, ErrRefreshUnknown):
		return Tokens{}, apperr.New(apperr.Unauthorized, MsgRefreshInvalid)
	case errors.Is(err, ErrRefreshReused):
		return Tokens{}, apperr.Wrap(apperr.Unauthorized, MsgRefreshInvalid, err)
	case err != nil:
		return Tokens{}, storeErr("rotate refresh token", err)
	}
	access, _, err := s.keys.Access(u.Username)
	if err != nil {
		return Tokens{}, err
	}
	return Tokens{Access: access, Refresh: raw}, nil
}

func (s *Service) issue(ctx context.Context, u User, family [16]byte) (Tokens, error) {
	access, _, err := s.keys.Access(u.Username)
	if err != nil {
		return Tokens{}, err
	}
	raw, hash, err := token.NewRefresh()
	if err != nil {
		return Tokens{}, err
	}
	now := s.now()
	if err := s.store.AddRefresh(ctx, RefreshToken{Hash: hash, UserID: u.ID, Family: family, IssuedAt: now, ExpiresAt: now.Add(s.cfg.RefreshTTL)}); err != nil {
		return Tokens{}, storeErr("store refresh token", err)
	}
	return Tokens{Access: access, Refresh: raw}, nil
}

func newFamily() [16]byte {
	var f [16]byte
	_, _ = rand.Read(f[:])
	return f
}

// storeErr marks a storage failure as a dependency outage (503), so
// clients retry instead of treating it as a bad request.
func storeErr(op string, err error) error {
	return apperr.Wrap(apperr.Unavailable, "Service temporarily unavailable.", fmt.Errorf("%s: %w", op, err))
}
