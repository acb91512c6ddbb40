package app

import (
	"context"

	"github.com/benchwrap/backend/shared/config"
	"github.com/benchwrap/backend/shared/postgres"
	"github.com/benchwrap/backend/shared/results"
)

var resultsSvc Once[*results.Service]

// Results returns the results service.
func Results(ctx context.Context) (*results.Service, error) {
	return resultsSvc.Get(func() (*results.Service, error) {
		var cfg results.Config
		if err := config.Load(&cfg); err != nil {
			return nil, misconfigured(err)
		}
		p, err := Postgres(ctx)
		if err != nil {
			return nil, err
		}
		m, err := Objects()
		if err != nil {
			return nil, err
		}
		return &results.Service{Store: postgres.Results{Pool: p}, Meta: m, Config: cfg, Cache: results.NewSeriesCache(cfg.SeriesCacheMB)}, nil
	})
}
