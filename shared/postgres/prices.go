package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/benchwrap/backend/shared/pricing"
)

// PriceCache implements pricing.BlockCache over the price_blocks table.
type PriceCache struct{ Pool *pgxpool.Pool }

var _ pricing.BlockCache = PriceCache{}

func (c PriceCache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	var body []byte
	err := c.Pool.QueryRow(ctx, `SELECT body FROM price_blocks WHERE key = $1`, key).Scan(&body)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("select price block: %w", err)
	}
	return body, true, nil
}

func (c PriceCache) Put(ctx context.Context, key string, body []byte) error {
	if body == nil {
		body = []byte{}
	}
	_, err := c.Pool.Exec(ctx, `INSERT INTO price_blocks (key, body, fetched_at) VALUES ($1, $2, now())
		ON CONFLICT (key) DO UPDATE SET body = excluded.body, fetched_at = excluded.fetched_at`, key, body)
	if err != nil {
		return fmt.Errorf("store price block: %w", err)
	}
	return nil
}
