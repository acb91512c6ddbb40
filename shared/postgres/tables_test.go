package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/postgres"
	"github.com/benchwrap/backend/testkit/testenv"
)

// rows is an in-memory table; failAt > 0 makes the source fail there, and
// hold blocks after the given row until released.
type rows struct {
	data    [][]any
	failAt  int
	pauseAt int
	paused  chan struct{}
	resume  chan struct{}
}

func (r *rows) ScanRows(ctx context.Context, fn func([]any) error) error {
	for i, row := range r.data {
		if r.failAt > 0 && i == r.failAt {
			return errors.New("source failed midway")
		}
		if r.pauseAt > 0 && i == r.pauseAt {
			close(r.paused)
			select {
			case <-r.resume:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	return nil
}

var cols = []analysis.Column{
	{Name: "ElapsedTime", Type: analysis.UInt64},
	{Name: "Tasks__0__CPUFrequency", Type: analysis.UInt16},
	{Name: "Tasks__0__Pages", Type: analysis.UInt32},
	{Name: "EpochTime", Type: analysis.Int64},
	{Name: "NodePower", Type: analysis.Float32},
	{Name: "Network__InMB", Type: analysis.Float64},
}

func table(n int, power float32) [][]any {
	out := make([][]any, n)
	for i := range out {
		var p any = power + float32(i)
		if i%7 == 3 {
			p = nil
		}
		out[i] = []any{uint64(i), uint16(2300), uint32(4294967295), int64(1751978611 + i), p, float64(i) / 3}
	}
	return out
}

// openPool opens a pool on a new database of the test's own, closed at
// its end: the package's one test setup.
func openPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	pool, err := postgres.Open(context.Background(), testenv.PostgresURL(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

func count(t *testing.T, pool *pgxpool.Pool, schema, name string) (n int64, sum float64) {
	t.Helper()
	err := pool.QueryRow(context.Background(), "SELECT count(*), coalesce(sum(\"NodePower\"), 0) FROM "+
		pgx.Identifier{schema, name}.Sanitize()).Scan(&n, &sum)
	if err != nil {
		t.Fatal(err)
	}
	return n, sum
}

func TestReplaceWritesAndReplaces(t *testing.T) {
	pool := openPool(t)
	ctx := context.Background()
	tw := postgres.Tables{Pool: pool}
	ident, n, err := tw.Replace(ctx, postgres.TableWrite{Schema: "alice", Name: "job_12345_0_node-01.x", Columns: cols, Rows: &rows{data: table(1000, 100)}})
	if err != nil || n != 1000 || ident != "job_12345_0_node-01.x" {
		t.Fatalf("Replace = %q, %d, %v", ident, n, err)
	}
	var et, pages, epoch int64
	var freq int32
	var power *float32
	var mb float64
	if err := pool.QueryRow(ctx, `SELECT * FROM alice."job_12345_0_node-01.x" WHERE "ElapsedTime" = 3`).Scan(&et, &freq, &pages, &epoch, &power, &mb); err != nil {
		t.Fatal(err)
	}
	if et != 3 || freq != 2300 || pages != 4294967295 || epoch != 1751978614 || power != nil || mb != 1 {
		t.Errorf("row 3 = %v %v %v %v %v %v", et, freq, pages, epoch, power, mb)
	}

	// Same name again: replaced, not appended.
	if _, n, err = tw.Replace(ctx, postgres.TableWrite{Schema: "alice", Name: "job_12345_0_node-01.x", Columns: cols, Rows: &rows{data: table(10, 5)}}); err != nil || n != 10 {
		t.Fatal(n, err)
	}
	if c, _ := count(t, pool, "alice", "job_12345_0_node-01.x"); c != 10 {
		t.Fatalf("%d rows after replace", c)
	}
	// ReadTable gives the columns in order and the rows as stored.
	names, data, err := postgres.ReadTable(ctx, pool, "alice", "job_12345_0_node-01.x")
	if err != nil || len(names) != len(cols) || names[0] != "ElapsedTime" || names[5] != "Network__InMB" || len(data) != 10 || data[3][4] != nil {
		t.Fatalf("ReadTable = %v, %d rows, %v", names, len(data), err)
	}
	// Another user's table of the same name is separate.
	if _, _, err = tw.Replace(ctx, postgres.TableWrite{Schema: "bob", Name: "job_12345_0_node-01.x", Columns: cols, Rows: &rows{data: table(3, 5)}}); err != nil {
		t.Fatal(err)
	}
	if c, _ := count(t, pool, "alice", "job_12345_0_node-01.x"); c != 10 {
		t.Fatalf("bob's write changed alice's table: %d rows", c)
	}
}

func TestReplaceLongAndHostileNames(t *testing.T) {
	pool := openPool(t)
	ctx := context.Background()
	tw := postgres.Tables{Pool: pool}
	for _, name := range []string{
		"job_" + strings.Repeat("very_long_label_", 8),
		`job_x"; DROP TABLE users; --`,
		"job_ÜnïcødéÜnïcødéÜnïcødéÜnïcødéÜnïcødéÜnïcødé",
		"job_MixedCase",
	} {
		ident, _, err := tw.Replace(ctx, postgres.TableWrite{Schema: "Weird-User_1", Name: name, Columns: cols, Rows: &rows{data: table(5, 1)}})
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		if len(ident) > 63 || ident != analysis.Identifier(name) {
			t.Errorf("%q -> %q", name, ident)
		}
		if c, _ := count(t, pool, "Weird-User_1", ident); c != 5 {
			t.Errorf("%q: %d rows", name, c)
		}
	}
	var users int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM users").Scan(&users); err != nil {
		t.Fatalf("users table damaged: %v", err)
	}
}

// A write that dies midway leaves the previous table complete, and
// readers see the previous table while a new one is being written.
func TestReplaceIsAtomic(t *testing.T) {
	pool := openPool(t)
	ctx := context.Background()
	tw := postgres.Tables{Pool: pool}
	if _, _, err := tw.Replace(ctx, postgres.TableWrite{Schema: "alice", Name: "job_atomic", Columns: cols, Rows: &rows{data: table(5000, 1)}}); err != nil {
		t.Fatal(err)
	}
	wantN, wantSum := count(t, pool, "alice", "job_atomic")

	// The source fails after 3000 of 6000 rows.
	_, _, err := tw.Replace(ctx, postgres.TableWrite{Schema: "alice", Name: "job_atomic", Columns: cols, Rows: &rows{data: table(6000, 2), failAt: 3000}})
	if err == nil {
		t.Fatal("failing source gave no error")
	}
	if n, sum := count(t, pool, "alice", "job_atomic"); n != wantN || sum != wantSum {
		t.Fatalf("after a failed write: %d rows, sum %v; want %d, %v", n, sum, wantN, wantSum)
	}

	// The write is killed (context cancelled) while rows are streaming;
	// meanwhile a reader sees the old table.
	src := &rows{data: table(6000, 3), pauseAt: 4000, paused: make(chan struct{}), resume: make(chan struct{})}
	kctx, kill := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, _, err := tw.Replace(kctx, postgres.TableWrite{Schema: "alice", Name: "job_atomic", Columns: cols, Rows: src})
		done <- err
	}()
	<-src.paused
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var n int64
	if err := pool.QueryRow(rctx, `SELECT count(*) FROM alice.job_atomic`).Scan(&n); err != nil || n != wantN {
		t.Fatalf("reader during the write: %d rows, %v", n, err)
	}
	kill()
	if err := <-done; err == nil {
		t.Fatal("killed write reported success")
	}
	if n, sum := count(t, pool, "alice", "job_atomic"); n != wantN || sum != wantSum {
		t.Fatalf("after a killed write: %d rows, sum %v; want %d, %v", n, sum, wantN, wantSum)
	}
	var leftovers int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'alice' AND tablename LIKE 'bw_new_%'`).Scan(&leftovers); err != nil || leftovers != 0 {
		t.Fatalf("%d temporary tables left (%v)", leftovers, err)
	}
}

func TestInsertRun(t *testing.T) {
	pool := openPool(t)
	ctx := context.Background()
	ets := 131008.0
	id, err := postgres.InsertRun(ctx, pool, analysis.Run{
		Source: "file", Path: "/data/12345_0_node01.h5", SHA256: strings.Repeat("ab", 32), Schema: "public",
		Table: "job_12345_0_node01", FullTable: "job_12345_0_node01", Mode: analysis.Compat, Status: analysis.StatusDone,
		Rows: 302, Columns: cols, Metrics: &analysis.Metrics{EnergyToSolutionJ: &ets},
		StartedAt: time.Now(), FinishedAt: time.Now(),
	})
	if err != nil || id == 0 {
		t.Fatal(id, err)
	}
	var got float64
	var ncols int
	if err := pool.QueryRow(ctx, `SELECT (metrics->>'energy_to_solution_j')::float8, jsonb_array_length(columns) FROM analysis_runs WHERE id = $1`, id).Scan(&got, &ncols); err != nil || got != ets || ncols != len(cols) {
		t.Fatalf("catalog row: %v %v %v", got, ncols, err)
	}
	// A skipped file without metrics or columns stores NULLs.
	id, err = postgres.InsertRun(ctx, pool, analysis.Run{Source: "file", Path: "x.h5", Schema: "public", Mode: analysis.Compat,
		Status: analysis.StatusSkipped, SkipClass: analysis.SkipEmpty, Reason: "file is empty", Metrics: (*analysis.Metrics)(nil), StartedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	var nulls bool
	if err := pool.QueryRow(ctx, `SELECT metrics IS NULL AND columns IS NULL FROM analysis_runs WHERE id = $1`, id).Scan(&nulls); err != nil || !nulls {
		t.Fatalf("skip row: %v %v", nulls, err)
	}
}

// The binary COPY writes each value as its column's type, edge values
// included, and refuses a value its column cannot hold without writing
// anything.
func TestReplaceEncodesEveryType(t *testing.T) {
	pool := openPool(t)
	ctx := context.Background()
	tw := postgres.Tables{Pool: pool}
	all := []analysis.Column{
		{Name: "u16", Type: analysis.UInt16}, {Name: "u32", Type: analysis.UInt32}, {Name: "u64", Type: analysis.UInt64},
		{Name: "i64", Type: analysis.Int64}, {Name: "f32", Type: analysis.Float32}, {Name: "f64", Type: analysis.Float64},
		{Name: "s", Type: analysis.Text},
	}
	data := [][]any{
		{uint16(65535), uint32(4294967295), uint64(math.MaxInt64), int64(math.MinInt64), float32(-1.5), math.Inf(-1), "node-01 ü"},
		{nil, nil, nil, nil, nil, nil, nil},
		{uint16(0), uint32(0), uint64(0), int64(0), float32(math.NaN()), math.NaN(), ""},
		{uint16(7), float64(12), uint32(3), uint16(9), float64(0.25), float32(0.5), "x"}, // convertible
	}
	if _, n, err := tw.Replace(ctx, postgres.TableWrite{Schema: "types", Name: "job_types", Columns: all, Rows: &rows{data: data}}); err != nil || n != 4 {
		t.Fatalf("Replace = %d, %v", n, err)
	}
	_, got, err := postgres.ReadTable(ctx, pool, "types", "job_types")
	if err != nil || len(got) != 4 {
		t.Fatalf("ReadTable: %d rows, %v", len(got), err)
	}
	check := func(row int, want string) {
		t.Helper()
		if s := fmt.Sprint(got[row]); s != want {
			t.Errorf("row %d = %s, want %s", row, s, want)
		}
	}
	check(0, "[65535 4294967295 9223372036854775807 -9223372036854775808 -1.5 -Inf node-01 ü]")
	check(1, "[<nil> <nil> <nil> <nil> <nil> <nil> <nil>]")
	check(2, "[0 0 0 0 NaN NaN ]")
	check(3, "[7 12 3 9 0.25 0.5 x]")

	for name, bad := range map[string][]any{
		"uint64 over bigint":  {uint16(1), uint32(1), uint64(math.MaxInt64) + 1, int64(1), float32(1), 1.0, "a"},
		"fraction to integer": {1.5, uint32(1), uint64(1), int64(1), float32(1), 1.0, "a"},
		"over integer":        {uint32(1 << 31), uint32(1), uint64(1), int64(1), float32(1), 1.0, "a"},
		"number to text":      {uint16(1), uint32(1), uint64(1), int64(1), float32(1), 1.0, 3.0},
		"text to number":      {uint16(1), uint32(1), uint64(1), int64(1), float32(1), "1", "a"},
		"short row":           {uint16(1)},
	} {
		_, _, err := tw.Replace(ctx, postgres.TableWrite{Schema: "types", Name: "job_types", Columns: all, Rows: &rows{data: append(data[:1:1], bad)}})
		if err == nil {
			t.Errorf("%s: no error", name)
		}
		if n, _, _ := postgres.ReadTable(ctx, pool, "types", "job_types"); len(n) != len(all) {
			t.Fatalf("%s: table damaged", name)
		}
		if _, got, _ := postgres.ReadTable(ctx, pool, "types", "job_types"); len(got) != 4 {
			t.Errorf("%s: table has %d rows, want the old 4", name, len(got))
		}
	}
}

// floatRows is an analysis.FloatRowSource: its rows unboxed, and boxed
// (NaN as nil) for ScanRows; unboxed says whether it offers the first.
type floatRows struct {
	texts   [][]string
	values  [][]float64
	unboxed bool
}

func (r *floatRows) ScanFloatRows(ctx context.Context, fn func([]string, []float64) error) (bool, error) {
	if !r.unboxed {
		return false, nil
	}
	for i := range r.texts {
		if err := fn(r.texts[i], r.values[i]); err != nil {
			return true, err
		}
	}
	return true, nil
}

func (r *floatRows) ScanRows(ctx context.Context, fn func([]any) error) error {
	for i := range r.texts {
		var row []any
		for _, s := range r.texts[i] {
			row = append(row, s)
		}
		for _, v := range r.values[i] {
			if math.IsNaN(v) {
				row = append(row, nil)
			} else {
				row = append(row, v)
			}
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	return nil
}

// TestReplaceFromFloatRows: a source's unboxed rows are written as its
// boxed ones would be, into every column type, and refused alike.
func TestReplaceFromFloatRows(t *testing.T) {
	pool := openPool(t)
	ctx := context.Background()
	tw := postgres.Tables{Pool: pool}
	cols := []analysis.Column{
		{Name: "step", Type: analysis.Text}, {Name: "node", Type: analysis.Text},
		{Name: "f64", Type: analysis.Float64}, {Name: "f32", Type: analysis.Float32},
		{Name: "i64", Type: analysis.Int64}, {Name: "u16", Type: analysis.UInt16},
	}
	src := func(unboxed bool, values ...[]float64) *floatRows {
		r := &floatRows{unboxed: unboxed, values: values}
		for range values {
			r.texts = append(r.texts, []string{"0", "node-01 ü"})
		}
		return r
	}
	good := [][]float64{{1.5, 0.25, -12, 7}, {math.NaN(), math.NaN(), math.NaN(), math.NaN()}, {math.Inf(1), -2, 1 << 40, 65535}}
	var tables [2][][]any
	for i, unboxed := range []bool{true, false} {
		if _, n, err := tw.Replace(ctx, postgres.TableWrite{Schema: "floats", Name: "job_floats", Columns: cols, Rows: src(unboxed, good...)}); err != nil || n != 3 {
			t.Fatalf("unboxed %v: Replace = %d, %v", unboxed, n, err)
		}
		var err error
		if _, tables[i], err = postgres.ReadTable(ctx, pool, "floats", "job_floats"); err != nil {
			t.Fatal(err)
		}
	}
	want := "[[0 node-01 ü 1.5 0.25 -12 7] [0 node-01 ü <nil> <nil> <nil> <nil>] [0 node-01 ü +Inf -2 1099511627776 65535]]"
	for i, got := range tables {
		if s := fmt.Sprint(got); s != want {
			t.Errorf("pass %d: %s, want %s", i, s, want)
		}
	}
	for name, bad := range map[string][]float64{
		"fraction to integer": {1, 1, 0.5, 1},
		"over integer":        {1, 1, 1, 1 << 31},
		"short row":           {1, 1, 1},
	} {
		for _, unboxed := range []bool{true, false} {
			if _, _, err := tw.Replace(ctx, postgres.TableWrite{Schema: "floats", Name: "job_floats", Columns: cols, Rows: src(unboxed, good[0], bad)}); err == nil {
				t.Errorf("%s (unboxed %v): no error", name, unboxed)
			}
		}
	}
}
