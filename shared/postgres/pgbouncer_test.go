package postgres_test

import (
	"context"
	"errors"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/benchwrap/backend/shared/postgres"
	"github.com/benchwrap/backend/testkit/testenv"
)

// TestThroughPgBouncer: through PgBouncer 1.18 in transaction pooling
// mode, with fewer server connections than clients, migrations run
// concurrently from several pools into a fresh database, and the object
// lock excludes across pools: neither may rely on session state.
func TestThroughPgBouncer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	through := testenv.PgBouncerURL(t, 2)

	admin, err := postgres.Open(ctx, through)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	fresh := testenv.Name("bouncer_")
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+fresh); err != nil {
		t.Fatal(err)
	}
	defer admin.Exec(context.Background(), "DROP DATABASE "+fresh+" WITH (FORCE)") //nolint:errcheck
	u, _ := url.Parse(through)
	u.Path = "/" + fresh

	pools := make([]*pgxpool.Pool, 4)
	for i := range pools {
		if pools[i], err = postgres.Open(ctx, u.String()); err != nil {
			t.Fatal(err)
		}
		defer pools[i].Close()
	}
	var wg sync.WaitGroup
	errs := make([]error, len(pools))
	for i, p := range pools {
		wg.Go(func() { errs[i] = postgres.Migrate(ctx, p) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent migrations through PgBouncer: %v", err)
	}
	if pending, err := postgres.Pending(ctx, pools[0]); err != nil || len(pending) > 0 {
		t.Fatalf("pending after migrate: %v %v", pending, err)
	}

	release, err := postgres.LockObject(ctx, pools[0], "b", "alice/run.h5")
	if err != nil {
		t.Fatal(err)
	}
	other, err := postgres.LockObject(ctx, pools[1], "b", "alice/other.h5")
	if err != nil {
		t.Fatal(err)
	}
	other()
	got := make(chan time.Time, 1)
	go func() {
		r, err := postgres.LockObject(ctx, pools[2], "b", "alice/run.h5")
		if err != nil {
			t.Error(err)
			got <- time.Time{}
			return
		}
		got <- time.Now()
		r()
	}()
	time.Sleep(300 * time.Millisecond)
	released := time.Now()
	release()
	if at := <-got; at.Before(released) {
		t.Errorf("a second replica took the object's lock while the first held it")
	}
}
