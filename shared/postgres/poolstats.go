package postgres

import (
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/benchwrap/backend/shared/metrics"
)

// ExportPoolStats exports a pool's statistics under the label pool=name
// (metrics.SetPool); nil stops exporting it.
func ExportPoolStats(name string, p *pgxpool.Pool) {
	if p == nil {
		metrics.SetPool(name, nil)
		return
	}
	metrics.SetPool(name, func() metrics.PoolStats {
		s := p.Stat()
		return metrics.PoolStats{
			Acquired: int64(s.AcquiredConns()), Idle: int64(s.IdleConns()),
			Constructing: int64(s.ConstructingConns()), Max: int64(s.MaxConns()),
			Acquires: s.AcquireCount(), EmptyAcquires: s.EmptyAcquireCount(),
			CanceledAcquires: s.CanceledAcquireCount(), NewConns: s.NewConnsCount(),
			AcquireDuration: s.AcquireDuration(),
		}
	})
}
