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
	// LoginFailures counts the failed logins after since for the username
	// key from the client address addr, from addr for any username, and
	// for key from any address.
	LoginFailures(ctx context.Context, key, addr string, since time.Time) (Failures, error)
	// AddFailure records a failed login of key from addr and forgets the
	// failures of key or addr before prune.
	AddFailure(ctx context.Context, key, addr string, at, prune time.Time) error
	// ClearFailures forgets the failed logins of key from addr.
	ClearFailures(ctx context.Context, key, addr string) error
	// AddRefresh stores a new refresh token.
	AddRefresh(ctx context.Context, t RefreshToken) error
	// RotateRefresh atomically consumes the token with hash old and stores
	// next in the same family (next.UserID and next.Family are filled in).
	// Unknown or revoked: ErrRefreshUnknown. Expired: ErrRefreshExpired.
	// Already used: the whole family is revoked and ErrRefreshReused
	// returned, so a stolen token dies with the legitimate one.
	RotateRefresh(ctx context.Context, old []byte, next RefreshToken, now time.Time) (User, error)
	// RevokeFamily revokes every token of the family the token with hash
	// belongs to; ErrRefreshUnknown if no token has that hash.
	RevokeFamily(ctx context.Context, hash []byte, now time.Time) error
}

// Failures are the counts of recent failed logins the throttles look at.
type Failures struct {
	Pair       int       // this username from this address
	PairOldest time.Time // the oldest of those
	Address    int       // this address, any username
	AddrOldest time.Time // the oldest of those
	User       int       // this username, any address
}

// Config holds the account rules that can be tuned.
//
// Failed logins are throttled three ways within Window, none of which
// lets a stranger lock the owner out:
//   - a (username, client address) pair with MaxFailures failures gets 429;
//   - a client address with AddressMaxFailures failures, whatever the
//     usernames (password spraying), gets 429;
//   - a username with MaxFailures failures from all addresses together is
//     slowed down, SlowdownStep per failure beyond that up to SlowdownMax,
//     but never refused: its owner logs in from their own address.
type Config struct {
	RefreshTTL         time.Duration // 30 days
	MaxFailures        int           // per username and address: 10
	AddressMaxFailures int           // per address: 50
	SlowdownStep       time.Duration // 250 ms
	SlowdownMax        time.Duration // 2 s
	Window             time.Duration // 15 minutes
	Params             Params        // argon2id cost of new hashes
	Hasher             *Hasher       // nil: the process's default, which never refuses
}

// Service implements register, login, refresh and logout.
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
	if cfg.AddressMaxFailures <= 0 {
		cfg.AddressMaxFailures = 5 * cfg.MaxFailures
	}
	if cfg.SlowdownMax < 0 || cfg.SlowdownStep < 0 {
		return nil, errors.New("account: slow-down must not be negative")
	}
	if cfg.Hasher == nil {
		cfg.Hasher = defaultHasher
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

// checkCredentialsText refuses control characters and invalid UTF-8 with
// a 400 before any other rule runs.
func checkCredentialsText(c Credentials) error {
	if err := CheckText("username", c.Username); err != nil {
		return err
	}
	return CheckText("password", c.Password)
}

// Register creates an account and logs it in.
func (s *Service) Register(ctx context.Context, c Credentials) (Tokens, error) {
	if err := checkCredentialsText(c); err != nil {
		return Tokens{}, err
	}
	if err := ValidateUsername(c.Username); err != nil {
		return Tokens{}, err
	}
	if err := ValidatePassword(c.Password); err != nil {
		return Tokens{}, err
	}
	hash, err := s.cfg.Hasher.Hash(ctx, c.Password, s.cfg.Params)
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

// Login checks credentials from the client at address client and starts
// a new token family. Failed logins are throttled as Config describes.
func (s *Service) Login(ctx context.Context, c Credentials, client string) (Tokens, error) {
	if err := checkCredentialsText(c); err != nil {
		return Tokens{}, err
	}
	if c.Username == "" || c.Password == "" || len(c.Username) > 256 || len(c.Password) > 4*MaxPassword {
		return Tokens{}, apperr.New(apperr.Unauthorized, MsgBadCredentials)
	}
	key := Key(c.Username)
	now := s.now()
	f, err := s.store.LoginFailures(ctx, key, client, now.Add(-s.cfg.Window))
	if err != nil {
		return Tokens{}, storeErr("read login failures", err)
	}
	if err := s.throttle(ctx, f, now); err != nil {
		return Tokens{}, err
	}

	u, err := s.store.UserByName(ctx, c.Username)
	hash := u.PasswordHash
	switch {
	case errors.Is(err, ErrNotFound):
		hash = s.dummy
	case err != nil:
		return Tokens{}, storeErr("find user", err)
	}
	ok, verr := s.cfg.Hasher.Verify(ctx, c.Password, hash)
	if apperr.CodeOf(verr) == apperr.Unavailable || errors.Is(verr, context.Canceled) || errors.Is(verr, context.DeadlineExceeded) {
		return Tokens{}, verr
	}
	if verr != nil {
		return Tokens{}, apperr.Wrap(apperr.Internal, "Internal server error.", fmt.Errorf("stored hash of user %d: %w", u.ID, verr))
	}
	if err != nil || !ok {
		if ferr := s.store.AddFailure(ctx, key, client, now, now.Add(-s.cfg.Window)); ferr != nil {
			return Tokens{}, storeErr("record login failure", ferr)
		}
		return Tokens{}, apperr.New(apperr.Unauthorized, MsgBadCredentials)
	}
	if f.Pair > 0 {
		if err := s.store.ClearFailures(ctx, key, client); err != nil {
			return Tokens{}, storeErr("clear login failures", err)
		}
	}
	return s.issue(ctx, u, newFamily())
}

// throttle refuses a locked (username, address) pair or address with 429
// and Retry-After, and slows down a username under attack from many
// addresses.
func (s *Service) throttle(ctx context.Context, f Failures, now time.Time) error {
	locked := func(oldest time.Time) error {
		// Locked until the oldest failure counted leaves the window.
		e := apperr.New(apperr.TooMany, MsgLocked)
		e.RetryAfter = max(oldest.Add(s.cfg.Window).Sub(now), time.Second)
		return e
	}
	switch {
	case f.Pair >= s.cfg.MaxFailures:
		return locked(f.PairOldest)
	case f.Address >= s.cfg.AddressMaxFailures:
		return locked(f.AddrOldest)
	}
	if d := s.slowdown(f.User); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// slowdown is the delay for a username with n recent failures from all
// addresses: none up to MaxFailures, then SlowdownStep per failure, at
// most SlowdownMax.
func (s *Service) slowdown(n int) time.Duration {
	over := n - s.cfg.MaxFailures + 1
	if over <= 0 || s.cfg.SlowdownStep <= 0 {
		return 0
	}
	return min(time.Duration(over)*s.cfg.SlowdownStep, s.cfg.SlowdownMax)
}

// Refresh rotates a refresh token: the presented one is consumed and a new
// pair is returned. A token presented twice revokes its whole family.
func (s *Service) Refresh(ctx context.Context, refresh string) (Tokens, error) {
	if !token.WellFormedRefresh(refresh) {
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

// Logout revokes the family of a refresh token: that token and every
// token rotated from the same login stop working at once. Logging out
// twice is not an error; an unknown token is 401. Access tokens already
// issued stay valid until they expire (at most token.MaxAccessTTL).
func (s *Service) Logout(ctx context.Context, refresh string) error {
	if !token.WellFormedRefresh(refresh) {
		return apperr.New(apperr.Unauthorized, MsgRefreshInvalid)
	}
	err := s.store.RevokeFamily(ctx, token.HashRefresh(refresh), s.now())
	switch {
	case errors.Is(err, ErrRefreshUnknown):
		return apperr.New(apperr.Unauthorized, MsgRefreshInvalid)
	case err != nil:
		return storeErr("revoke refresh family", err)
	}
	return nil
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
