package analyzer

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/benchwrap/backend/shared/account"
	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/engine"
	"github.com/benchwrap/backend/shared/hdf5"
	"github.com/benchwrap/backend/shared/storage"
)

// The Processor's outcomes against in-memory fakes of its ports: no
// database, no object store; the analysis itself is the real in-process
// engine on the HDF5 fixtures.

const fixtures = "../hdf5/testdata/fixtures"

// fakeObjects serves fixture files by key, or a chosen error.
type fakeObjects struct {
	files map[string]string // key -> fixture file
	errs  map[string]error
}

func (fakeObjects) Bucket() string { return "profiles" }

func (f fakeObjects) Download(_ context.Context, key, _ string, dst io.Writer, max int64) (int64, error) {
	if err := f.errs[key]; err != nil {
		return 0, err
	}
	name, ok := f.files[key]
	if !ok {
		return 0, storage.ErrGone
	}
	src, err := os.Open(filepath.Join(fixtures, name))
	if err != nil {
		return 0, err
	}
	defer src.Close()
	return io.Copy(dst, io.LimitReader(src, max))
}

type fakeCatalog struct {
	runs map[string]analysis.RunSummary // key -> recorded run
	err  error
}

func (c fakeCatalog) FindRun(_ context.Context, _, key, _ string, _ analysis.Mode) (analysis.RunSummary, bool, error) {
	r, ok := c.runs[key]
	return r, ok, c.err
}

type fakeOwners struct {
	names []string
	err   error
}

func (o fakeOwners) UserByName(_ context.Context, name string) (account.User, error) {
	if o.err != nil {
		return account.User{}, o.err
	}
	for i, n := range o.names {
		if strings.EqualFold(n, name) {
			return account.User{ID: int64(i + 1), Username: n}, nil
		}
	}
	return account.User{}, account.ErrNotFound
}

// fakeSink records what is published; errs are returned by the calls in
// turn (nil: accept).
type fakeSink struct {
	mu   sync.Mutex
	runs []analysis.Run
	rows []int64 // rows streamed per publish
	errs []error
}

func (s *fakeSink) Publish(ctx context.Context, res *analysis.Result, rows analysis.RowSource, run *analysis.Run) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.errs) > 0 {
		err := s.errs[0]
		s.errs = s.errs[1:]
		if err != nil {
			return err
		}
	}
	var n int64
	if run.Status == analysis.StatusDone { // like the real sink: a skip publishes no table
		if err := rows.ScanRows(ctx, func([]any) error { n++; return nil }); err != nil {
			return err
		}
		run.Table = res.Table
	}
	s.runs, s.rows = append(s.runs, *run), append(s.rows, n)
	return nil
}

func newTestAnalyzer(t *testing.T) *Analyzer {
	t.Helper()
	a, err := New(Config{Mode: analysis.Compat, Engine: engine.Options{
		MaxRows: 1_000_000, Reader: hdf5.Options{MaxRows: 1_000_000}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func TestProcessOutcomes(t *testing.T) {
	a := newTestAnalyzer(t)
	objects := fakeObjects{
		files: map[string]string{
			"alice/run.h5":       "12345_0_node01.h5",
			"alice/sub/empty.h5": "zero_bytes.h5",
			"alice/xml.h5":       "not_hdf5.h5",
			"alice/cut.h5":       "truncated.h5",
			"alice/nodata.h5":    "empty_datasets.h5",
			"alice/failed.h5":    "12345_0_node01.h5",
			"alice/big.h5":       "12345_0_node01.h5",
			"Alice/run.h5":       "12345_0_node01.h5",
		},
		errs: map[string]error{
			"alice/changed.h5": storage.ErrChanged,
			"alice/big.h5":     storage.ErrTooLarge,
			"alice/down.h5":    storage.ErrUnavailable,
		},
	}
	catalog := fakeCatalog{runs: map[string]analysis.RunSummary{
		"alice/done.h5":   {Status: analysis.StatusDone, Table: "alice.done_h5"},
		"alice/failed.h5": {Status: analysis.StatusFailed, Reason: "analysis failed"},
	}}
	refused := errors.New("value too long for column")
	cases := []struct {
		name      string
		key       string
		opt       ProcessOptions
		catalog   Catalog
		owners    Owners
		sinkErrs  []error
		status    string
		skip      analysis.SkipClass
		reason    string // a substring; "" not checked
		table     string
		outcome   string // the metrics' label
		transient bool   // an error wrapping ErrTransient: retried later
		published int    // runs the sink recorded
	}{
		{name: "analysed", key: "alice/run.h5", status: analysis.StatusDone, table: "alice.job_run", outcome: "done", published: 1},
		{name: "owner's name in another case", key: "Alice/run.h5", status: analysis.StatusDone, table: "alice.job_run", outcome: "done", published: 1},
		{name: "no owner: no prefix", key: "run.h5", status: analysis.StatusSkipped, skip: analysis.SkipNoOwner, outcome: "skipped", published: 1},
		{name: "no owner: not registered", key: "carol/run.h5", status: analysis.StatusSkipped, skip: analysis.SkipNoOwner, outcome: "skipped", published: 1},
		{name: "no owner: not a username", key: "a b/run.h5", status: analysis.StatusSkipped, skip: analysis.SkipNoOwner, outcome: "skipped", published: 1},
		{name: "skipped: missing", key: "alice/gone.h5", status: analysis.StatusSkipped, skip: analysis.SkipMissing, reason: "no longer exists", outcome: "skipped", published: 1},
		{name: "skipped: too large", key: "alice/big.h5", status: analysis.StatusSkipped, skip: analysis.SkipTooLarge, outcome: "skipped", published: 1},
		{name: "skipped: empty", key: "alice/sub/empty.h5", status: analysis.StatusSkipped, skip: analysis.SkipEmpty, outcome: "skipped", published: 1},
		{name: "skipped: not hdf5", key: "alice/xml.h5", status: analysis.StatusSkipped, skip: analysis.SkipNotHDF5, outcome: "skipped", published: 1},
		{name: "skipped: unreadable", key: "alice/cut.h5", status: analysis.StatusSkipped, skip: analysis.SkipUnreadable, outcome: "skipped", published: 1},
		{name: "skipped: no data", key: "alice/nodata.h5", status: analysis.StatusSkipped, skip: analysis.SkipNoData, outcome: "skipped", published: 1},
		{name: "already analysed", key: "alice/done.h5", catalog: catalog, status: analysis.StatusDone, table: "alice.done_h5", reason: reasonAlready, outcome: "already"},
		{name: "already failed, not retried", key: "alice/failed.h5", catalog: catalog, status: analysis.StatusFailed, reason: reasonAlready, outcome: "already"},
		{name: "failed before, retried", key: "alice/failed.h5", catalog: catalog, opt: ProcessOptions{RetryFailed: true}, status: analysis.StatusDone, table: "alice.job_failed", outcome: "done", published: 1},
		{name: "forced", key: "alice/done.h5", catalog: fakeCatalog{runs: catalog.runs, err: errors.New("not consulted")}, opt: ProcessOptions{Force: true},
			status: analysis.StatusSkipped, skip: analysis.SkipMissing, outcome: "skipped", published: 1},
		{name: "superseded: object changed", key: "alice/changed.h5", status: StatusSuperseded, reason: "changed", outcome: StatusSuperseded},
		{name: "superseded while publishing", key: "alice/run.h5", sinkErrs: []error{analysis.ErrSuperseded}, status: StatusSuperseded, reason: "newer upload", outcome: StatusSuperseded},
		{name: "superseded while recording a skip", key: "run.h5", sinkErrs: []error{analysis.ErrSuperseded}, status: StatusSuperseded, outcome: StatusSuperseded},
		{name: "failed: table refused", key: "alice/run.h5", sinkErrs: []error{refused}, status: analysis.StatusFailed, reason: "could not store the table", outcome: analysis.StatusFailed, published: 1},
		{name: "retry: owners unavailable", key: "alice/run.h5", owners: fakeOwners{err: errors.New("connection refused")}, transient: true, outcome: "retry"},
		{name: "retry: catalog unavailable", key: "alice/run.h5", catalog: fakeCatalog{err: errors.New("connection refused")}, transient: true, outcome: "retry"},
		{name: "retry: object store unavailable", key: "alice/down.h5", transient: true, outcome: "retry"},
		{name: "retry: sink unavailable", key: "alice/run.h5", sinkErrs: []error{ErrTransient}, transient: true, outcome: "retry"},
		{name: "retry: skip not recorded", key: "run.h5", sinkErrs: []error{errors.New("connection reset")}, outcome: "retry"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.catalog == nil {
				c.catalog = fakeCatalog{}
			}
			if c.owners == nil {
				c.owners = fakeOwners{names: []string{"alice", "bob"}}
			}
			sink := &fakeSink{errs: c.sinkErrs}
			p := &Processor{Analyzer: a, Sink: sink, Catalog: c.catalog, Objects: objects, Owners: c.owners,
				MaxBytes: 1 << 30, TempDir: t.TempDir()}
			out, err := p.Process(context.Background(), Object{Bucket: "profiles", Key: c.key, ETag: "e1", Size: 10, JobID: 7}, c.opt)
			if got := jobOutcome(out, err); got != c.outcome {
				t.Errorf("outcome %q (status %q, reason %q, err %v), want %q", got, out.Status, out.Reason, err, c.outcome)
			}
			if c.outcome == "retry" {
				if err == nil || errors.Is(err, ErrTransient) != c.transient {
					t.Errorf("error %v: transient %v, want %v", err, errors.Is(err, ErrTransient), c.transient)
				}
			} else if err != nil {
				t.Fatalf("error %v", err)
			} else if out.Status != c.status {
				t.Errorf("status %q, want %q", out.Status, c.status)
			}
			if out.skipClass != c.skip {
				t.Errorf("skip class %q, want %q", out.skipClass, c.skip)
			}
			if !strings.Contains(out.Reason, c.reason) {
				t.Errorf("reason %q, want it to contain %q", out.Reason, c.reason)
			}
			if out.Table != c.table {
				t.Errorf("table %q, want %q", out.Table, c.table)
			}
			if len(sink.runs) != c.published {
				t.Fatalf("%d runs published, want %d", len(sink.runs), c.published)
			}
			if c.published == 0 {
				return
			}
			run := sink.runs[0]
			if run.Key != c.key || run.Bucket != "profiles" || run.ETag != "e1" || run.JobID != 7 || run.Mode != analysis.Compat {
				t.Errorf("run identifies %s/%s@%s job %d mode %s", run.Bucket, run.Key, run.ETag, run.JobID, run.Mode)
			}
			if run.Status != c.status || run.SkipClass != c.skip {
				t.Errorf("run status %q skip %q, want %q %q", run.Status, run.SkipClass, c.status, c.skip)
			}
			if run.Status == analysis.StatusDone {
				if run.Schema != "alice" || run.Username != "alice" {
					t.Errorf("run in schema %q of %q, want alice's", run.Schema, run.Username)
				}
				if run.Rows != 302 || sink.rows[0] != 302 {
					t.Errorf("run has %d rows, %d streamed; the fixture has 302", run.Rows, sink.rows[0])
				}
			}
		})
	}
}

// A processor is reused across objects: an outcome leaves nothing behind
// for the next one (the temporary download is removed).
func TestProcessCleansUp(t *testing.T) {
	dir := t.TempDir()
	p := &Processor{Analyzer: newTestAnalyzer(t), Sink: &fakeSink{}, Catalog: fakeCatalog{},
		Objects:  fakeObjects{files: map[string]string{"alice/run.h5": "12345_0_node01.h5", "alice/xml.h5": "not_hdf5.h5"}},
		Owners:   fakeOwners{names: []string{"alice"}},
		MaxBytes: 1 << 30, TempDir: dir}
	for _, key := range []string{"alice/run.h5", "alice/xml.h5", "alice/gone.h5"} {
		if _, err := p.Process(context.Background(), Object{Bucket: "profiles", Key: key, ETag: "e"}, ProcessOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("%d files left in the download directory", len(left))
	}
}

// An engine that cannot run records the version as failed (a later
// re-scan or an operator retries it), not as a property of the file.
func TestProcessEngineFailure(t *testing.T) {
	a, err := New(Config{Mode: analysis.Compat, Engine: engine.Options{}})
	if err != nil {
		t.Fatal(err)
	}
	a.Close() // the engine is gone: every analysis fails
	sink := &fakeSink{}
	p := &Processor{Analyzer: a, Sink: sink, Catalog: fakeCatalog{},
		Objects: fakeObjects{files: map[string]string{"alice/run.h5": "12345_0_node01.h5"}},
		Owners:  fakeOwners{names: []string{"alice"}}, MaxBytes: 1 << 30, TempDir: t.TempDir()}
	out, err := p.Process(context.Background(), Object{Bucket: "profiles", Key: "alice/run.h5", ETag: "e"}, ProcessOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != analysis.StatusFailed || out.Reason != "analysis failed" || jobOutcome(out, err) != analysis.StatusFailed {
		t.Fatalf("outcome %+v", out)
	}
	if len(sink.runs) != 1 || sink.runs[0].Status != analysis.StatusFailed || sink.runs[0].Error == "" {
		t.Fatalf("published %+v", sink.runs)
	}
}
