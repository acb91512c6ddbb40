package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/benchwrap/backend/shared/pricing"
)

const priceBlocksTable = `CREATE TABLE IF NOT EXISTS main.price_blocks (
	key VARCHAR PRIMARY KEY, body BLOB NOT NULL, fetched_at TIMESTAMPTZ NOT NULL)`

// PriceCache implements pricing.BlockCache over a price_blocks table in
// the store's file, the same table as in PostgreSQL. The table is created
// on first use.
type PriceCache struct {
	s     *Store
	mu    sync.Mutex
	ready bool
}

var _ pricing.BlockCache = (*PriceCache)(nil)

// PriceCache returns a price block cache kept in the store's file.
func (s *Store) PriceCache() pricing.BlockCache { return &PriceCache{s: s} }

func (c *PriceCache) init(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ready {
		return nil
	}
	if _, err := c.s.db.ExecContext(ctx, priceBlocksTable); err != nil {
		return fmt.Errorf("duckdb: price cache table in %s: %w", c.s.path, err)
	}
	c.ready = true
	return nil
}

func (c *PriceCache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := c.init(ctx); err != nil {
		return nil, false, err
	}
	var body []byte
	err := c.s.db.QueryRowContext(ctx, `SELECT body FROM main.price_blocks WHERE key = ?`, key).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("duckdb: read price block: %w", err)
	}
	if body == nil {
		body = []byte{}
	}
	return body, true, nil
}

func (c *PriceCache) Put(ctx context.Context, key string, body []byte) error {
	if err := c.init(ctx); err != nil {
		return err
	}
	if body == nil {
		body = []byte{}
	}
	_, err := c.s.db.ExecContext(ctx, `INSERT INTO main.price_blocks (key, body, fetched_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET body = excluded.body, fetched_at = excluded.fetched_at`, key, body, time.Now())
	if err != nil {
		return fmt.Errorf("duckdb: store price block: %w", err)
	}
	return nil
}
