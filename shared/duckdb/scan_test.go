package duckdb_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"path/filepath"
	"testing"

	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/duckdb"
	"github.com/benchwrap/backend/shared/duckdb/compat"
	"github.com/benchwrap/backend/shared/duckdb/internal/enginetest"
	"github.com/benchwrap/backend/testkit/testenv"
)

var fixtureDir = testenv.FixtureDir()

// analysedFixture is a test engine holding the compat table of a fixture.
func analysedFixture(t *testing.T, name string) (*duckdb.Engine, *analysis.Result) {
	t.Helper()
	e := enginetest.Open(t, enginetest.TestOptions)
	res, err := compat.New(e).Run(context.Background(), filepath.Join(fixtureDir, name), compat.Options{})
	if err != nil || res.Skip != nil {
		t.Fatal(err, res.Skip)
	}
	return e, res
}

// ScanRows restores the order of rows that come out of order, and falls
// back to an ORDER BY when they are too far out.
func TestScanRowsOrder(t *testing.T) {
	e, _ := analysedFixture(t, "12345_0_node01.h5")
	var want bytes.Buffer
	if err := e.WriteCSV(context.Background(), &want); err != nil {
		t.Fatal(err)
	}
	if err := e.ExecForTest("CREATE VIEW shuffled AS SELECT * FROM " + duckdb.ResultTable + " ORDER BY (" + duckdb.HiddenPos + " * 7919) % 101"); err != nil {
		t.Fatal(err)
	}
	e.SetResultNameForTest("shuffled")
	defer func(l int) { *duckdb.ReorderLimit = l }(*duckdb.ReorderLimit)
	for _, limit := range []int{1 << 15, 5} {
		*duckdb.ReorderLimit = limit
		var got bytes.Buffer
		if err := e.WriteCSV(context.Background(), &got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("limit %d: %s", limit, enginetest.FirstDiff(got.String(), want.String()))
		}
	}
}

func TestAppendValue(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{
		{nil, ""},
		{uint16(2300), "2300"},
		{uint64(1 << 63), "9223372036854775808"},
		{int64(-5), "-5"},
		{float64(260), "260.0"},
		{float64(-0.0) * -1, "0.0"},
		{math.Copysign(0, -1), "-0.0"},
		{float32(3.3333333), "3.3333333"},
		{float32(0.104166664), "0.104166664"},
		{float32(1.2207031e-05), "1.2207031e-05"},
		{float64(0.0001), "0.0001"},
		{float64(1e16), "1e+16"},
		{float64(123456789012345.6), "123456789012345.6"},
		{float32(75221440), "75221440.0"},
		{math.Inf(1), "inf"},
		{float32(math.Inf(-1)), "-inf"},
		{math.NaN(), "nan"},
		{float64(435.2425249169435), "435.2425249169435"},
	} {
		if got := string(duckdb.AppendValue(nil, c.v)); got != c.want {
			t.Errorf("%#v: %q, want %q", c.v, got, c.want)
		}
	}
}

// A scan stopped by its callback (an error or a panic) leaves the engine
// usable.
func TestScanRowsStopped(t *testing.T) {
	e, res := analysedFixture(t, "12346_job_merged.h5")
	stop := errors.New("stop")
	n := 0
	if err := e.ScanRows(context.Background(), func([]any) error {
		if n++; n == 3 {
			return stop
		}
		return nil
	}); err != stop {
		t.Fatalf("ScanRows: %v", err)
	}
	func() {
		defer func() { recover() }()
		e.ScanRows(context.Background(), func([]any) error { panic("boom") })
	}()
	n = 0
	if err := e.ScanRows(context.Background(), func([]any) error { n++; return nil }); err != nil || int64(n) != res.Rows {
		t.Fatalf("rescan: %v, %d of %d rows", err, n, res.Rows)
	}
}
