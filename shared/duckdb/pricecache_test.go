package duckdb

import (
	"bytes"
	"context"
	"path/filepath"
	"sync"
	"testing"
)

func TestPriceCache(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "results.duckdb")
	s, err := OpenStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	c := s.PriceCache()
	if _, ok, err := c.Get(ctx, "smard/4169/DE-LU/quarterhour/1"); ok || err != nil {
		t.Fatalf("empty cache: ok %v, err %v", ok, err)
	}
	steps := []struct {
		key  string
		body []byte
	}{
		{"smard/4169/DE-LU/quarterhour/1", []byte(`{"series": [[1, 2.5], [2, null]]}` + "\x00\xff")},
		{"smard/4169/DE-LU/quarterhour/2", []byte{}},
		{"smard/4169/DE-LU/quarterhour/1", []byte("replaced")},
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
			if err := c.Put(ctx, "smard/4169/DE-LU/quarterhour/index", []byte{byte(i)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// The blocks outlive the store: reopen the file.
	s, err = OpenStore(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, ok, err := s.PriceCache().Get(ctx, "smard/4169/DE-LU/quarterhour/1")
	if err != nil || !ok || string(got) != "replaced" {
		t.Fatalf("after reopening: %q, %v, %v", got, ok, err)
	}
	if got, ok, err := s.PriceCache().Get(ctx, "smard/4169/DE-LU/quarterhour/index"); err != nil || !ok || len(got) != 1 {
		t.Fatalf("after concurrent puts: %q, %v, %v", got, ok, err)
	}
}
