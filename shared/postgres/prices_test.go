package postgres_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benchwrap/backend/shared/postgres"
	"github.com/benchwrap/backend/shared/pricing"
	"github.com/benchwrap/backend/shared/pricing/pricingtest"
)

func TestPriceCache(t *testing.T) {
	pool := openPool(t)
	pricingtest.CheckBlockCache(t, postgres.PriceCache{Pool: pool})
}

// Two runs (two SMARD sources) sharing the database fetch a settled block
// once: the second run makes no request.
func TestPriceCacheWithSMARD(t *testing.T) {
	ctx := context.Background()
	pool := openPool(t)

	const w0, w1 = int64(1704063600000), int64(1704668400000) // two Mondays, ms
	var hits atomic.Int32
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch {
		case strings.HasSuffix(r.URL.Path, "/4169/DE-LU/index_quarterhour.json"):
			fmt.Fprintf(w, `{"timestamps": [%d, %d]}`, w0, w1)
		case strings.HasSuffix(r.URL.Path, fmt.Sprintf("/4169/DE-LU/4169_DE-LU_quarterhour_%d.json", w0)):
			fmt.Fprintf(w, `{"series": [[%d, 50.0], [%d, 150.0]]}`, w0, w0+900_000)
		default:
			http.NotFound(w, r)
		}
	})}}
	srv.Start()
	t.Cleanup(srv.Close)

	// 1000 W over the first half hour: 0.00025 MWh at 50 + 0.00025 at 150
	// = 0.05 EUR.
	times := []float64{float64(w0) / 1000, float64(w0)/1000 + 1800}
	power := []float64{1000, 1000}
	for run, wantHits := range []int32{2, 2} {
		src := &pricing.SMARD{BaseURL: srv.URL, Cache: postgres.PriceCache{Pool: pool},
			Now: func() time.Time { return time.UnixMilli(w1 + 3600_000) }}
		f := pricing.Assess(ctx, src, nil, times, power)
		if f.CostEUR == nil || *f.CostEUR < 0.05-1e-12 || *f.CostEUR > 0.05+1e-12 || f.CostError != "" || len(f.Notes) > 0 {
			t.Fatalf("run %d: %+v", run, f)
		}
		if got := hits.Load(); got != wantHits {
			t.Fatalf("run %d: %d requests in all; want %d", run, got, wantHits)
		}
	}
}
