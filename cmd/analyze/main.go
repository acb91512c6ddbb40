// Command analyze is the batch analyzer (the original's duckdb_analysis.py):
// it analyses Slurm HDF5 profiles from local paths and from the bucket,
// writing tables and the run catalog to PostgreSQL or to a DuckDB file.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/benchwrap/backend/shared/account"
	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/analyzer"
	"github.com/benchwrap/backend/shared/app"
	"github.com/benchwrap/backend/shared/config"
	"github.com/benchwrap/backend/shared/duckdb/store"
	"github.com/benchwrap/backend/shared/engine"
	"github.com/benchwrap/backend/shared/hdf5"
	"github.com/benchwrap/backend/shared/logging"
	"github.com/benchwrap/backend/shared/minio"
	"github.com/benchwrap/backend/shared/notification"
	"github.com/benchwrap/backend/shared/postgres"
	"github.com/benchwrap/backend/shared/pricing"
	"github.com/benchwrap/backend/shared/queue"
	"github.com/benchwrap/backend/shared/storage"
)

const usage = `usage: analyze [flags] PATH...
       analyze worker              (run analysis workers; see analyze worker -h)
       analyze queue [retry ID]    (show the analysis queue, retry a failed job)

Analyses Slurm HDF5 profiles (files, or directories searched for *.h5) and
objects under --minio-prefix, into job_<name> tables plus the catalog
table analysis_runs, in PostgreSQL (--postgres) or a DuckDB file (--duckdb).

Exit status: 0 when every file was analysed or skipped with a reason,
1 when any failed unexpectedly, 2 for usage errors.

flags:
`

type options struct {
	mode        string
	postgresURL string
	duckdbPath  string
	schema      string
	skipBatch   bool
	minioPrefix string
	minioSet    bool
	rescan      bool
	dryRun      bool
	csvDir      string
	jsonOut     bool
	maxRows     int64
	price       string
	carbon      string
}

func main() {
	logging.Setup()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopProfile := startProfile()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stopProfile()
	os.Exit(code)
}

func parse(args []string, stderr io.Writer) (options, []string, error) {
	var o options
	fl := flag.NewFlagSet("analyze", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() { fmt.Fprint(stderr, usage); fl.PrintDefaults() }
	fl.StringVar(&o.mode, "mode", string(analysis.Corrected), "analysis mode: corrected, or compat (the original's semantics, defects included)")
	fl.StringVar(&o.price, "price", os.Getenv("ANALYZE_PRICE"), "electricity price: smard[:REGION], file:PATH (epoch_seconds,eur_per_mwh) or fixed:EUR_PER_KWH; off by default (ANALYZE_PRICE)")
	fl.StringVar(&o.carbon, "carbon", os.Getenv("ANALYZE_CARBON"), "carbon intensity: file:PATH (epoch_seconds,g_co2_per_kwh) or fixed:G_PER_KWH; off by default (ANALYZE_CARBON)")
	fl.StringVar(&o.postgresURL, "postgres", "", "write to this PostgreSQL database")
	fl.StringVar(&o.duckdbPath, "duckdb", "analysis.duckdb", "without --postgres, write to this DuckDB file")
	fl.StringVar(&o.schema, "schema", "public", "schema of the tables made from local files")
	fl.BoolVar(&o.skipBatch, "skip-batch", false, "leave out files with 'batch' in their name")
	fl.StringVar(&o.minioPrefix, "minio-prefix", "", "also analyse the .h5 objects under this prefix of the bucket (MINIO_* settings)")
	fl.BoolVar(&o.rescan, "rescan", false, "with --minio-prefix: enqueue the objects into the analysis queue (workers analyse each version once; failed ones are queued again) (needs --postgres)")
	fl.BoolVar(&o.dryRun, "dry-run", false, "compute without writing tables or the catalog")
	fl.StringVar(&o.csvDir, "csv", "", "also write each table as DIR/<table>.csv")
	fl.BoolVar(&o.jsonOut, "json", false, "print one JSON object per file on stdout")
	fl.Int64Var(&o.maxRows, "max-rows", hdf5.DefaultMaxRows, "largest dataset or table, in rows (ANALYZE_MAX_ROWS)")
	if v := os.Getenv("ANALYZE_MAX_ROWS"); v != "" {
		_ = fl.Set("max-rows", v)
	}
	if err := fl.Parse(args); err != nil {
		return o, nil, err
	}
	fl.Visit(func(f *flag.Flag) {
		if f.Name == "minio-prefix" {
			o.minioSet = true
		}
	})
	if _, err := analysis.ParseMode(o.mode); err != nil {
		return o, nil, err
	}
	if o.rescan && (!o.minioSet || o.postgresURL == "") {
		return o, nil, errors.New("--rescan needs --minio-prefix and --postgres")
	}
	if fl.NArg() == 0 && !o.minioSet {
		return o, nil, errors.New("nothing to analyse: give PATHs or --minio-prefix")
	}
	return o, fl.Args(), nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	// The process's wiring, as the functions': settings now, the pool
	// and the object store on first use.
	a, err := app.New()
	if err != nil {
		fmt.Fprintln(stderr, "analyze: settings:", err)
		return 2
	}
	defer a.Close()
	if len(args) > 0 {
		switch args[0] {
		case "worker":
			return runWorker(ctx, a, args[1:], stderr)
		case "queue":
			return runQueue(ctx, a, args[1:], stdout, stderr)
		}
	}
	o, paths, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "analyze:", err)
		return 2
	}
	files, err := discover(paths, o.skipBatch)
	if err != nil {
		fmt.Fprintln(stderr, "analyze:", err)
		return 2
	}
	b, err := newBatch(ctx, a, o, stdout, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "analyze:", err)
		return 1
	}
	defer b.close()
	for i, f := range files {
		if ctx.Err() != nil {
			break
		}
		b.progress(i+1, len(files), f)
		b.file(ctx, f)
	}
	if o.minioSet && ctx.Err() == nil {
		b.objects(ctx, o.minioPrefix)
	}
	b.progressDone()
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "analyze: interrupted")
		return 1
	}
	if b.failed > 0 {
		return 1
	}
	return 0
}

// discover expands directories into their *.h5 files (sorted, recursive).
func discover(paths []string, skipBatch bool) ([]string, error) {
	var out []string
	add := func(p string) {
		if skipBatch && strings.Contains(filepath.Base(p), "batch") {
			return
		}
		out = append(out, p)
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			add(p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(d.Name(), ".h5") {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Strings(found)
		for _, f := range found {
			add(f)
		}
	}
	return out, nil
}

// batch holds what every file of a run shares.
type batch struct {
	app      *app.App
	o        options
	stdout   io.Writer
	stderr   io.Writer
	tty      bool
	analyzer *analyzer.Analyzer
	sink     analyzer.Sink
	pool     *pgxpool.Pool
	store    *store.Store
	failed   int
}

func newBatch(ctx context.Context, a *app.App, o options, stdout, stderr io.Writer) (*batch, error) {
	b := &batch{app: a, o: o, stdout: stdout, stderr: stderr}
	if f, ok := stderr.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			b.tty = true
		}
	}
	var err error
	switch {
	case o.dryRun:
	case o.postgresURL != "":
		if b.pool, err = postgres.Open(ctx, o.postgresURL); err != nil {
			b.close()
			return nil, err
		}
		if err := postgres.Migrate(ctx, b.pool); err != nil {
			b.close()
			return nil, err
		}
		b.sink = postgres.Sink{Pool: b.pool}
	default:
		if b.store, err = store.OpenStore(ctx, o.duckdbPath); err != nil {
			b.close()
			return nil, err
		}
		b.sink = b.store
	}
	// SMARD blocks are cached where the results go, so each is fetched once.
	var cache pricing.BlockCache
	switch {
	case b.pool != nil:
		cache = postgres.PriceCache{Pool: b.pool}
	case b.store != nil:
		cache = b.store.PriceCache()
	}
	price, err := pricing.Parse(o.price, cache)
	if err != nil {
		b.close()
		return nil, err
	}
	carbon, err := pricing.ParseCarbon(o.carbon)
	if err != nil {
		b.close()
		return nil, err
	}
	b.analyzer, err = analyzer.New(analyzer.Config{Mode: analysis.Mode(o.mode), Price: price, Carbon: carbon,
		Engine: engine.Options{MaxRows: o.maxRows, Reader: hdf5.Options{MaxRows: o.maxRows, Isolate: true}}})
	if err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

func (b *batch) close() {
	if b.analyzer != nil {
		b.analyzer.Close()
	}
	if b.pool != nil {
		b.pool.Close()
	}
	if b.store != nil {
		b.store.Close()
	}
}

// file analyses one local file.
func (b *batch) file(ctx context.Context, path string) {
	started := time.Now()
	b.analyzer.Lock()
	defer b.analyzer.Unlock()
	// The file's hash on the other core, while it is analysed.
	hash := make(chan string, 1)
	go func() {
		sum, _ := analyzer.FileSHA256(path)
		hash <- sum
	}()
	out, err := b.analyzer.Analyze(ctx, path, path)
	if err != nil {
		b.fail(path, started, err)
		return
	}
	run := analyzer.NewRun(out, b.o.schema, started)
	run.Source, run.Path = "file", path
	run.SHA256 = <-hash
	b.publish(ctx, out, &run, started)
}

// publish writes the CSV and the sink's table and record, and reports.
func (b *batch) publish(ctx context.Context, out analyzer.Output, run *analysis.Run, started time.Time) {
	if b.o.csvDir != "" && out.Skip == nil {
		if err := b.writeCSV(ctx, out); err != nil {
			b.fail(out.File, started, err)
			return
		}
	}
	if b.sink != nil {
		if err := b.sink.Publish(ctx, out.Result, out.RowSource(), run); err != nil {
			b.fail(out.File, started, err)
			return
		}
	}
	// The summary's NULL counts come with the table's first scan; a dry
	// run without --csv has not scanned it.
	if err := b.analyzer.Complete(ctx); err != nil {
		b.fail(out.File, started, err)
		return
	}
	secs := time.Since(started).Seconds()
	line := analyzer.NewLine(out, run.Status, secs)
	b.report(line, run)
}

func (b *batch) writeCSV(ctx context.Context, out analyzer.Output) error {
	if err := os.MkdirAll(b.o.csvDir, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(b.o.csvDir, analysis.Identifier(out.Table)+".csv"))
	if err != nil {
		return err
	}
	if err := out.WriteCSV(ctx, f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (b *batch) report(line analyzer.Line, run *analysis.Run) {
	attrs := []any{"file", line.File, "status", line.Status, "rows", line.Rows, "seconds", line.Seconds}
	if line.Table != nil {
		attrs = append(attrs, "table", run.Schema+"."+analysis.Identifier(*line.Table))
	}
	if line.SkipReason != nil {
		attrs = append(attrs, "skip_reason", *line.SkipReason, "detail", run.Error)
	}
	slog.Info("analyzed", attrs...)
	if b.o.jsonOut {
		writeJSONLine(b.stdout, line)
	}
}

func (b *batch) fail(file string, started time.Time, err error) {
	b.failed++
	slog.Error("analysis failed", "file", file, "error", err, "seconds", time.Since(started).Seconds())
	if b.o.jsonOut {
		writeJSONLine(b.stdout, analyzer.Line{File: filepath.Base(file), Status: analysis.StatusFailed, Error: err.Error(),
			Columns: []string{}, DTypes: []analysis.DType{}, Seconds: time.Since(started).Seconds()})
	}
}

func (b *batch) progress(i, n int, name string) {
	if b.tty {
		fmt.Fprintf(b.stderr, "\r\033[K[%d/%d] %s", i, n, filepath.Base(name))
	}
}

func (b *batch) progressDone() {
	if b.tty {
		fmt.Fprint(b.stderr, "\r\033[K")
	}
}

// objects analyses the bucket's .h5 objects under prefix. With a database
// they go through the analyze function's processor (the owner's schema,
// once per ETag with --rescan); otherwise each is downloaded and analysed
// like a local file.
func (b *batch) objects(ctx context.Context, prefix string) {
	store, err := b.app.Objects()
	if err != nil {
		b.fail("minio:"+prefix, time.Now(), err)
		return
	}
	var objs []storage.Object
	err = store.Objects(ctx, prefix, func(o storage.Object) error {
		if strings.HasSuffix(o.Key, ".h5") && !(b.o.skipBatch && strings.Contains(filepath.Base(o.Key), "batch")) {
			objs = append(objs, o)
		}
		return nil
	})
	if err != nil {
		b.fail("minio:"+prefix, time.Now(), err)
		return
	}
	if b.o.rescan {
		b.enqueue(ctx, store, objs)
		return
	}
	var proc *analyzer.Processor
	if b.pool != nil {
		proc = &analyzer.Processor{Analyzer: b.analyzer, Sink: b.sink, Catalog: postgres.Catalog{Pool: b.pool}, Objects: store,
			Owners: postgres.Accounts{Pool: b.pool}, MaxBytes: 1 << 62}
	}
	for i, o := range objs {
		if ctx.Err() != nil {
			return
		}
		b.progress(i+1, len(objs), o.Key)
		started := time.Now()
		if proc == nil {
			b.downloaded(ctx, store, o, started)
			continue
		}
		out, err := proc.Process(ctx, analyzer.Object{Bucket: store.Bucket(), Key: o.Key, ETag: o.ETag, Size: o.Size},
			analyzer.ProcessOptions{Force: true})
		if err != nil {
			b.fail(o.Key, started, err)
			continue
		}
		if out.Status == analysis.StatusFailed {
			b.failed++
		}
		slog.Info("analyzed object", "key", o.Key, "status", out.Status, "table", out.Table, "reason", out.Reason,
			"seconds", time.Since(started).Seconds())
		if b.o.jsonOut {
			writeJSONLine(b.stdout, out)
		}
	}
}

// enqueue puts the objects into the analysis queue, as the webhook does
// (the same checks against the store); a version whose job failed is
// queued again.
func (b *batch) enqueue(ctx context.Context, store *minio.Store, objs []storage.Object) {
	var qs queue.Settings
	if err := config.Load(&qs); err != nil {
		b.fail("queue", time.Now(), err)
		return
	}
	q, err := queue.New(b.pool, qs)
	if err != nil {
		b.fail("queue", time.Now(), err)
		return
	}
	in := &queue.Intake{Queue: q, Objects: store, Owners: postgres.Accounts{Pool: b.pool}, Bucket: store.Bucket()}
	for i, o := range objs {
		if ctx.Err() != nil {
			return
		}
		b.progress(i+1, len(objs), o.Key)
		started := time.Now()
		d, err := in.Accept(ctx, notification.Event{Name: "s3:ObjectCreated:Rescan", Bucket: store.Bucket(), Key: o.Key, ETag: o.ETag, Size: o.Size})
		if err == nil && d.Status == analysis.JobFailed {
			_, err = q.Retry(ctx, d.JobID)
			d.Status, d.Reason = analysis.JobQueued, "failed job queued again"
		}
		if err != nil {
			b.fail(o.Key, started, err)
			continue
		}
		slog.Info("enqueued object", "key", o.Key, "status", d.Status, "reason", d.Reason, "job", d.JobID)
		if b.o.jsonOut {
			writeJSONLine(b.stdout, d)
		}
	}
}

// downloaded analyses an object as a local file, into its owner's schema
// when its key starts with a valid username.
func (b *batch) downloaded(ctx context.Context, store interface {
	Download(context.Context, string, string, io.Writer, int64) (int64, error)
}, o storage.Object, started time.Time) {
	f, err := os.CreateTemp("", "analyze-*.h5")
	if err != nil {
		b.fail(o.Key, started, err)
		return
	}
	defer os.Remove(f.Name())
	_, err = store.Download(ctx, o.Key, o.ETag, f, 1<<62)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		b.fail(o.Key, started, err)
		return
	}
	schema := b.o.schema
	name := o.Key
	if owner, rest, ok := strings.Cut(o.Key, "/"); ok && account.ValidateUsername(owner) == nil {
		schema, name = owner, strings.ReplaceAll(rest, "/", "_")
	}
	b.analyzer.Lock()
	defer b.analyzer.Unlock()
	out, err := b.analyzer.Analyze(ctx, f.Name(), name)
	if err != nil {
		b.fail(o.Key, started, err)
		return
	}
	run := analyzer.NewRun(out, schema, started)
	run.Source, run.Key, run.ETag, run.Size = "minio", o.Key, o.ETag, o.Size
	b.publish(ctx, out, &run, started)
}
