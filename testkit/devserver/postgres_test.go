//go:build integration

package devserver

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// A cluster whose password file is lost (or one made before passwords,
// with trust authentication) gets a new password on its next start, and
// the old one stops working.
func TestPostgresPasswordIsRenewed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "pg")
	pg, err := StartPostgres(ctx, PostgresOptions{Dir: dir, Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	old := pg.URL
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, PasswordFile)); err != nil {
		t.Fatal(err)
	}
	pg, err = StartPostgres(ctx, PostgresOptions{Dir: dir, Port: pg.Port, Fast: true})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Stop()
	if pg.URL == old {
		t.Fatal("same password")
	}
	c, err := pgx.Connect(ctx, pg.URL)
	if err != nil {
		t.Fatalf("new password: %v", err)
	}
	c.Close(ctx)
	if c, err := pgx.Connect(ctx, old); err == nil {
		c.Close(ctx)
		t.Error("the old password still works")
	}
	var rules int
	c, _ = pgx.Connect(ctx, pg.URL)
	defer c.Close(ctx)
	if err := c.QueryRow(ctx, "SELECT count(*) FROM pg_hba_file_rules WHERE auth_method <> 'scram-sha-256'").Scan(&rules); err != nil || rules != 0 {
		t.Errorf("%d rules without a password (%v)", rules, err)
	}
}
