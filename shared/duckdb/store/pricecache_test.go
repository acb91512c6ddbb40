package store

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/benchwrap/backend/shared/pricing/pricingtest"
)

func TestPriceCache(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "results.duckdb")
	s, err := OpenStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	pricingtest.CheckBlockCache(t, s.PriceCache())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// The blocks outlive the store: reopen the file.
	s, err = OpenStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, ok, err := s.PriceCache().Get(ctx, pricingtest.Block)
	if err != nil || !ok || string(got) != "replaced" {
		t.Fatalf("after reopening: %q, %v, %v", got, ok, err)
	}
	if got, ok, err := s.PriceCache().Get(ctx, pricingtest.Index); err != nil || !ok || len(got) != 1 {
		t.Fatalf("after concurrent puts: %q, %v, %v", got, ok, err)
	}
}
