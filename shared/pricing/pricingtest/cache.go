// Package pricingtest holds the contract test every pricing.BlockCache
// implementation passes (PostgreSQL, the DuckDB file).
package pricingtest

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/benchwrap/backend/shared/pricing"
)

// Keys CheckBlockCache leaves behind: Block holds "replaced", Index one byte.
const (
	Block = "smard/4169/DE-LU/quarterhour/1"
	Index = "smard/4169/DE-LU/quarterhour/index"
)

// CheckBlockCache runs the contract on an empty cache: a miss, binary and
// empty bodies stored as given, replacement, and concurrent writers of one
// key (blocks are fetched concurrently).
func CheckBlockCache(t *testing.T, c pricing.BlockCache) {
	t.Helper()
	ctx := context.Background()
	if _, ok, err := c.Get(ctx, Block); ok || err != nil {
		t.Fatalf("empty cache: ok %v, err %v", ok, err)
	}
	steps := []struct {
		key  string
		body []byte
	}{
		{Block, []byte(`{"series": [[1, 2.5], [2, null]]}` + "\x00\xff")},
		{"smard/4169/DE-LU/quarterhour/2", []byte{}},
		{Block, []byte("replaced")},
	}
	want := map[string][]byte{}
	for _, st := range steps {
		if err := c.Put(ctx, st.key, st.body); err != nil {
			t.Fatal(err)
		}
		want[st.key] = st.body
		for k, w := range want {
			got, ok, err := c.Get(ctx, k)
			if err != nil || !ok || !bytes.Equal(got, w) {
				t.Fatalf("Get(%s) = %q, %v, %v; want %q", k, got, ok, err, w)
			}
		}
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Put(ctx, Index, []byte{byte(i)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got, ok, err := c.Get(ctx, Index); err != nil || !ok || len(got) != 1 {
		t.Fatalf("after concurrent puts: %q, %v, %v", got, ok, err)
	}
}
