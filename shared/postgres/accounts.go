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

func (a Accounts) RecentFailures(ctx context.Context, key string, since time.Time, limit int) ([]time.Time, error) {
	rows, err := a.Pool.Query(ctx, `SELECT failed_at FROM login_failures
		WHERE username_key = $1 AND failed_at > $2 ORDER BY failed_at DESC LIMIT $3`, key, since, limit)
	if err != nil {
		return nil, fmt.Errorf("select login failures: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[time.Time])
}

func (a Accounts) AddFailure(ctx context.Context, key string, at, prune time.Time) error {
	_, err := a.Pool.Exec(ctx, `WITH pruned AS (DELETE FROM login_failures WHERE username_key = $1 AND failed_at <= $3)
		INSERT INTO login_failures (username_key, failed_at) VALUES ($1, $2)`, key, at, prune)
	if err != nil {
		return fmt.Errorf("insert login failure: %w", err)
	}
	return nil
}

func (a Accounts) ClearFailures(ctx context.Context, key string) error {
	if _, err := a.Pool.Exec(ctx, `DELETE FROM login_failures WHERE username_key = $1`, key); err != nil {
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

func (a Accounts) RotateRefresh(ctx context.Context, old []byte, next account.RefreshToken, now time.Time) (account.User, error) {
	var u account.User
	var rotateErr error
	err := pgx.BeginFunc(ctx, a.Pool, func(tx pgx.Tx) error {
		var expires time.Time
		var used, revoked *time.Time
		err := tx.QueryRow(ctx, `SELECT t.user_id, t.family, t.expires_at, t.used_at, t.revoked_at, u.username
			FROM refresh_tokens t JOIN users u ON u.id = t.user_id
			WHERE t.token_hash = $1 FOR UPDATE OF t`, old).
			Scan(&u.ID, &next.Family, &expires, &used, &revoked, &u.Username)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			rotateErr = account.ErrRefreshUnknown
			return nil
		case err != nil:
			return err
		case revoked != nil:
			rotateErr = account.ErrRefreshUnknown
			return nil
		case used != nil:
			// Reuse: someone holds a copy. Revoke every token of the family.
			_, err := tx.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = $2 WHERE family = $1 AND revoked_at IS NULL`, next.Family, now)
			rotateErr = account.ErrRefreshReused
			return err
		case !now.Before(expires):
			_, err := tx.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = $2 WHERE token_hash = $1`, old, now)
			rotateErr = account.ErrRefreshExpired
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1`, old, now); err != nil {
			return err
		}
		next.UserID = u.ID
		_, err = tx.Exec(ctx, `INSERT INTO refresh_tokens (token_hash, user_id, family, issued_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
			next.Hash, next.UserID, next.Family, next.IssuedAt, next.ExpiresAt)
		return err
	})
	if err != nil {
		return account.User{}, fmt.Errorf("rotate refresh token: %w", err)
	}
	if rotateErr != nil {
		return account.User{}, rotateErr
	}
	return u, nil
}
