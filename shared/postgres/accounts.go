package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/benchwrap/backend/shared/account"
)

// Accounts implements account.Store.
type Accounts struct{ Pool *pgxpool.Pool }

var _ account.Store = Accounts{}

func (a Accounts) CreateUser(ctx context.Context, username, hash string) (account.User, error) {
	u := account.User{Username: username, PasswordHash: hash}
	err := a.Pool.QueryRow(ctx,
		`INSERT INTO users (username, password_hash) VALUES ($1, $2)
		 ON CONFLICT ((lower(username))) DO NOTHING RETURNING id`, username, hash).Scan(&u.ID)
	if errors.Is(err, pgx.ErrNoRows) || isUniqueViolation(err) {
		return account.User{}, account.ErrUsernameTaken
	}
	if err != nil {
		return account.User{}, fmt.Errorf("insert user: %w", err)
	}
	return u, nil
}

func (a Accounts) UserByName(ctx context.Context, username string) (account.User, error) {
	var u account.User
	err := a.Pool.QueryRow(ctx, `SELECT id, username, password_hash FROM users WHERE lower(username) = lower($1)`, username).
		Scan(&u.ID, &u.Username, &u.PasswordHash)
	if errors.Is(err, pgx.ErrNoRows) {
		return account.User{}, account.ErrNotFound
	}
	if err != nil {
		return account.User{}, fmt.Errorf("select user: %w", err)
	}
	return u, nil
}

// LoginFailures counts with one index scan per key: the rows of the
// username and the rows of the address within the window.
func (a Accounts) LoginFailures(ctx context.Context, key, addr string, since time.Time) (account.Failures, error) {
	var f account.Failures
	var pairOldest, addrOldest *time.Time
	err := a.Pool.QueryRow(ctx, `SELECT
			count(*) FILTER (WHERE username_key = $1 AND client_addr = $2),
			min(failed_at) FILTER (WHERE username_key = $1 AND client_addr = $2),
			count(*) FILTER (WHERE client_addr = $2),
			min(failed_at) FILTER (WHERE client_addr = $2),
			count(*) FILTER (WHERE username_key = $1)
		FROM login_failures WHERE (username_key = $1 OR client_addr = $2) AND failed_at > $3`, key, addr, since).
		Scan(&f.Pair, &pairOldest, &f.Address, &addrOldest, &f.User)
	if err != nil {
		return f, fmt.Errorf("count login failures: %w", err)
	}
	if pairOldest != nil {
		f.PairOldest = *pairOldest
	}
	if addrOldest != nil {
		f.AddrOldest = *addrOldest
	}
	return f, nil
}

func (a Accounts) AddFailure(ctx context.Context, key, addr string, at, prune time.Time) error {
	_, err := a.Pool.Exec(ctx, `WITH pruned AS (DELETE FROM login_failures WHERE (username_key = $1 OR client_addr = $2) AND failed_at <= $4)
		INSERT INTO login_failures (username_key, client_addr, failed_at) VALUES ($1, $2, $3)`, key, addr, at, prune)
	if err != nil {
		return fmt.Errorf("insert login failure: %w", err)
	}
	return nil
}

func (a Accounts) ClearFailures(ctx context.Context, key, addr string) error {
	if _, err := a.Pool.Exec(ctx, `DELETE FROM login_failures WHERE username_key = $1 AND client_addr = $2`, key, addr); err != nil {
		return fmt.Errorf("delete login failures: %w", err)
	}
	return nil
}

func (a Accounts) AddRefresh(ctx context.Context, t account.RefreshToken) error {
	// Expired tokens of this user are swept here, so the table stays
	// bounded without a separate job.
	_, err := a.Pool.Exec(ctx, `WITH swept AS (DELETE FROM refresh_tokens WHERE user_id = $2 AND expires_at < $4)
		INSERT INTO refresh_tokens (token_hash, user_id, family, issued_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		t.Hash, t.UserID, t.Family, t.IssuedAt, t.ExpiresAt)
	if err != nil {
		return fmt.Errorf("insert refresh token: %w", err)
	}
	return nil
}

// rotateSQL is the rotation of a live token in one statement: consume
// it, insert its successor in the same family, return the user. The row
// lock makes a concurrent rotation of the same token wait, then find it
// used and return no row.
const rotateSQL = `WITH used AS (
		UPDATE refresh_tokens SET used_at = $5
		 WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $5
		RETURNING user_id, family),
	next AS (
		INSERT INTO refresh_tokens (token_hash, user_id, family, issued_at, expires_at)
		SELECT $2, user_id, family, $3, $4 FROM used RETURNING user_id)
	SELECT u.id, u.username FROM next JOIN users u ON u.id = next.user_id`

// rotateRejectSQL settles a token rotateSQL did not rotate (migration
// 011): unknown, expired (then revoked) or reused (then its family is
// revoked).
const rotateRejectSQL = `SELECT outcome FROM rotate_refresh($1, $2, $3, $4, $5)`

// RotateRefresh rotates a live token in one round trip, one statement
// committed before it returns; only a rejected token costs a second one.
func (a Accounts) RotateRefresh(ctx context.Context, old []byte, next account.RefreshToken, now time.Time) (account.User, error) {
	var u account.User
	err := a.Pool.QueryRow(ctx, rotateSQL, old, next.Hash, next.IssuedAt, next.ExpiresAt, now).Scan(&u.ID, &u.Username)
	if err == nil {
		return u, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return account.User{}, fmt.Errorf("rotate refresh token: %w", err)
	}
	var outcome int
	if err := a.Pool.QueryRow(ctx, rotateRejectSQL, old, next.Hash, next.IssuedAt, next.ExpiresAt, now).Scan(&outcome); err != nil {
		return account.User{}, fmt.Errorf("rotate refresh token: %w", err)
	}
	switch outcome {
	case 0:
		// Rotated by the function after all: it cannot happen, as a token
		// never becomes live again, but then the answer is a retry.
		return account.User{}, errors.New("rotate refresh token: token rotated on the second attempt")
	case 2:
		return account.User{}, account.ErrRefreshExpired
	case 3:
		return account.User{}, account.ErrRefreshReused
	}
	return account.User{}, account.ErrRefreshUnknown
}

func (a Accounts) RevokeFamily(ctx context.Context, hash []byte, now time.Time) error {
	var found bool
	err := a.Pool.QueryRow(ctx, `WITH t AS (SELECT family FROM refresh_tokens WHERE token_hash = $1),
		revoked AS (UPDATE refresh_tokens SET revoked_at = $2 WHERE family = (SELECT family FROM t) AND revoked_at IS NULL)
		SELECT EXISTS (SELECT 1 FROM t)`, hash, now).Scan(&found)
	if err != nil {
		return fmt.Errorf("revoke refresh family: %w", err)
	}
	if !found {
		return account.ErrRefreshUnknown
	}
	return nil
}

// Warm opens up to n connections of the pool and runs the rotation
// statements on each with a hash no token has, so the first real requests
// find the connections open, the statements prepared and rotate_refresh
// compiled in their session.
func (a Accounts) Warm(ctx context.Context, n int) error {
	n = min(n, int(a.Pool.Config().MaxConns))
	held := make([]*pgxpool.Conn, 0, n)
	defer func() {
		for _, c := range held {
			c.Release()
		}
	}()
	for range n { // held until all are acquired, so each is its own
		c, err := a.Pool.Acquire(ctx)
		if err != nil {
			return fmt.Errorf("warm database pool: %w", err)
		}
		held = append(held, c)
	}
	for _, c := range held {
		var outcome int
		if _, err := c.Exec(ctx, rotateSQL, []byte{}, []byte{}, time.Time{}, time.Time{}, time.Time{}); err != nil {
			return fmt.Errorf("warm database pool: %w", err)
		}
		if err := c.QueryRow(ctx, rotateRejectSQL, []byte{}, []byte{}, time.Time{}, time.Time{}, time.Time{}).Scan(&outcome); err != nil {
			return fmt.Errorf("warm database pool: %w", err)
		}
	}
	return nil
}
