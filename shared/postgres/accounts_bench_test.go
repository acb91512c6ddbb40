package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/benchwrap/backend/shared/account"
	"github.com/benchwrap/backend/shared/postgres"
	"github.com/benchwrap/backend/shared/token"
	"github.com/benchwrap/backend/testkit/testenv"
)

// BenchmarkRotateRefresh compares, in one run, the rotation as one
// statement with the transaction of five round trips it replaced (kept
// here only as the baseline), on 1 and 16 chains.
func BenchmarkRotateRefresh(b *testing.B) {
	ctx := context.Background()
	pool, err := postgres.Open(ctx, testenv.PackagePostgresURL(b))
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	store := postgres.Accounts{Pool: pool}
	if err := store.Warm(ctx, 16); err != nil {
		b.Fatal(err)
	}
	u, err := store.CreateUser(ctx, fmt.Sprintf("bench%d", time.Now().UnixNano()%1e9), "x")
	if err != nil {
		b.Fatal(err)
	}
	type rotateFunc func(ctx context.Context, old []byte, next account.RefreshToken, now time.Time) (account.User, error)
	for _, v := range []struct {
		name   string
		rotate rotateFunc
	}{{"statement", store.RotateRefresh}, {"transaction", rotateInTransaction(store)}} {
		for _, chains := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s-%dchain", v.name, chains), func(b *testing.B) {
				hashes := make([][]byte, chains)
				for i := range hashes {
					_, h, _ := token.NewRefresh()
					now := time.Now()
					if err := store.AddRefresh(ctx, account.RefreshToken{Hash: h, UserID: u.ID, Family: [16]byte{byte(i), 1}, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
						b.Fatal(err)
					}
					hashes[i] = h
				}
				var n atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				start := time.Now()
				for _, h := range hashes {
					wg.Add(1)
					go func(old []byte) {
						defer wg.Done()
						for n.Add(1) <= int64(b.N) {
							_, next, _ := token.NewRefresh()
							now := time.Now()
							if _, err := v.rotate(ctx, old, account.RefreshToken{Hash: next, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}, now); err != nil {
								b.Error(err)
								return
							}
							old = next
						}
					}(h)
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "rotations/s")
			})
		}
	}
}

// rotateInTransaction is the rotation before migration 011: select for
// update, mark used, insert, in one transaction (five round trips with
// BEGIN and COMMIT). Only the success path, which is what is measured.
func rotateInTransaction(a postgres.Accounts) func(ctx context.Context, old []byte, next account.RefreshToken, now time.Time) (account.User, error) {
	return func(ctx context.Context, old []byte, next account.RefreshToken, now time.Time) (account.User, error) {
		var u account.User
		err := pgx.BeginFunc(ctx, a.Pool, func(tx pgx.Tx) error {
			var expires time.Time
			var used, revoked *time.Time
			if err := tx.QueryRow(ctx, `SELECT t.user_id, t.family, t.expires_at, t.used_at, t.revoked_at, u.username
				FROM refresh_tokens t JOIN users u ON u.id = t.user_id
				WHERE t.token_hash = $1 FOR UPDATE OF t`, old).
				Scan(&u.ID, &next.Family, &expires, &used, &revoked, &u.Username); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1`, old, now); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO refresh_tokens (token_hash, user_id, family, issued_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
				next.Hash, u.ID, next.Family, next.IssuedAt, next.ExpiresAt)
			return err
		})
		return u, err
	}
}
