// Command bench-queue measures the analysis queue on a whole local stack
// (`make bench-queue`): its own PostgreSQL and MinIO, uploads through
// presigned PUTs, MinIO's webhook, the queue and in-process workers.
//
//  1. burst: one big upload (a generated profile, 2,000,000 rows by
//     default) and 49 small ones from 5 users, on 2 workers: PUT→table
//     latency of the small files, and whether each was done before the
//     big one;
//  2. throughput: 200 small files queued, then analysed by 1, 2 and 4
//     workers: files per minute;
//  3. logins: login p99 idle, and while 50 deliveries at a time hit the
//     webhook.
package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/benchwrap/backend/cmd/internal/benchcli"
	"github.com/benchwrap/backend/cmd/internal/localstack"
	"github.com/benchwrap/backend/shared/analysis"
	"github.com/benchwrap/backend/shared/analyzer"
	"github.com/benchwrap/backend/shared/engine"
	"github.com/benchwrap/backend/shared/hdf5"
	"github.com/benchwrap/backend/shared/hdf5/gen"
	"github.com/benchwrap/backend/shared/postgres"
	"github.com/benchwrap/backend/testkit/devserver"
	"github.com/benchwrap/backend/testkit/testenv"
)

func main() {
	bigRows := flag.Int("big-rows", 2_000_000, "energy rows of the big upload")
	small := flag.Int("small", 49, "small uploads in the burst")
	files := flag.Int("files", 200, "small files for the throughput runs")
	workers := flag.String("workers", "1,2,4", "worker counts for the throughput runs")
	logins := flag.Int("logins", 200, "logins per login measurement")
	partsFlag := flag.String("parts", "burst,throughput,logins", "what to measure (comma-separated)")
	flag.BoolVar(&perJob, "per-job", false, "also print each small file's timings")
	mode := flag.String("mode", "", "analysis mode of the workers (default: the service's, ANALYZE_MODE or corrected)")
	benchcli.Main("bench-queue", func() error {
		if *mode != "" {
			os.Setenv("ANALYZE_MODE", *mode)
		}
		parts = map[string]bool{}
		for _, p := range strings.Split(*partsFlag, ",") {
			parts[strings.TrimSpace(p)] = true
		}
		counts, err := benchcli.Counts("workers", *workers)
		if err != nil {
			return err
		}
		return run(*bigRows, *small, *files, counts, *logins)
	})
}

// parts are the measurements to run (-parts).
var parts map[string]bool

type bench struct {
	s     *localstack.Stack
	pool  *pgxpool.Pool
	users []user
	small []byte
}

type user struct{ name, access string }

func run(bigRows, nSmall, nFiles int, counts []int, nLogins int) error {
	ctx := context.Background()
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	dir, err := os.MkdirTemp("", "bench-queue-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	port, err := devserver.FreePort()
	if err != nil {
		return err
	}
	s, err := localstack.Start(ctx, localstack.Options{Dir: dir, GatewayAddr: "127.0.0.1:0", FastPostgres: true,
		MinIOAddr: fmt.Sprintf("127.0.0.1:%d", port), NoWorkers: true})
	if err != nil {
		return err
	}
	defer s.Close()
	pool, err := postgres.Open(ctx, s.DatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	b := &bench{s: s, pool: pool}
	if b.small, err = os.ReadFile(filepath.Join(testenv.FixtureDir(), "12345_batch_node01.h5")); err != nil {
		return err
	}
	for i := range 5 {
		name := fmt.Sprintf("bench%d%s", i, testenv.Name("")[:4])
		access, err := b.register(name)
		if err != nil {
			return err
		}
		b.users = append(b.users, user{name, access})
	}

	if parts["components"] {
		if err := components(ctx, filepath.Join(testenv.FixtureDir(), "12345_batch_node01.h5")); err != nil {
			return err
		}
	}
	var keys []string
	if parts["burst"] {
		if keys, err = b.burst(ctx, bigRows, nSmall); err != nil {
			return err
		}
	}
	if parts["throughput"] {
		if err := b.throughput(ctx, nFiles, counts); err != nil {
			return err
		}
	}
	if parts["logins"] {
		if err := b.loginLoad(ctx, keys, nLogins); err != nil {
			return err
		}
	}
	return nil
}

// burst: one big upload, then nSmall small ones from every user, on 2
// workers. It returns the small files' keys.
func (b *bench) burst(ctx context.Context, bigRows, nSmall int) ([]string, error) {
	s := b.s
	big, err := bigFile(bigRows)
	if err != nil {
		return nil, err
	}
	if os.Getenv("ANALYZE_SMALL_BYTES") == "" && len(big) <= 16<<20 {
		// A scaled-down big file still goes to the large lane.
		os.Setenv("ANALYZE_SMALL_BYTES", fmt.Sprint(len(big)/2))
	}
	mode := cmp.Or(os.Getenv("ANALYZE_MODE"), "corrected")
	fmt.Printf("burst: 1 upload of %d rows (%.1f MiB) + %d small uploads from %d users, 2 workers, %s mode\n",
		bigRows, float64(len(big))/(1<<20), nSmall, len(b.users), mode)
	os.Setenv("ANALYZE_CONCURRENCY", "2")
	if err := s.StartWorkers(ctx); err != nil {
		return nil, err
	}
	bigKey, bigPut, err := b.upload(b.users[0], "big.h5", big)
	if err != nil {
		return nil, err
	}
	var keys []string
	putAt := map[string]time.Time{bigKey: bigPut}
	for i := range nSmall {
		u := b.users[i%len(b.users)]
		k, at, err := b.upload(u, fmt.Sprintf("small-%03d.h5", i), b.small)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
		putAt[k] = at
	}
	bigDone, err := b.waitTable(bigKey, 30*time.Minute)
	if err != nil {
		return nil, err
	}
	var lat []time.Duration
	doneAt := map[string]time.Time{}
	before := 0
	for _, k := range keys {
		done, err := b.waitTable(k, time.Minute)
		if err != nil {
			return nil, err
		}
		doneAt[k] = done
		lat = append(lat, done.Sub(putAt[k]))
		if done.Before(bigDone) {
			before++
		}
	}
	fmt.Printf("  big file: PUT→table %.1f s\n", bigDone.Sub(bigPut).Seconds())
	fmt.Printf("  small files: PUT→table p50 %.2f s, p99 %.2f s, max %.2f s; %d of %d done before the big file\n",
		pct(lat, 50).Seconds(), pct(lat, 99).Seconds(), slices.Max(lat).Seconds(), before, len(lat))
	enq, err := b.enqueuedAt(keys)
	if err != nil {
		return nil, err
	}
	var queued []time.Duration
	for _, k := range keys {
		queued = append(queued, doneAt[k].Sub(enq[k]))
	}
	// PUT→enqueue is MinIO's delivery (its persistent queue is replayed
	// every 3 s); enqueue→table is the queue's own part.
	fmt.Printf("  small files: enqueue→table p50 %.2f s, p99 %.2f s\n", pct(queued, 50).Seconds(), pct(queued, 99).Seconds())
	if err := s.StopWorkers(); err != nil {
		return nil, err
	}
	if err := b.printPhases("  phases of the big file", []string{bigKey}, putAt); err != nil {
		return nil, err
	}
	if err := b.printPhases("  phases of the small files", keys, putAt); err != nil {
		return nil, err
	}
	return keys, nil
}

// throughput: nFiles small files queued, then analysed by each worker
// count.
func (b *bench) throughput(ctx context.Context, nFiles int, counts []int) error {
	s := b.s
	fmt.Printf("throughput: %d small files queued, then analysed\n", nFiles)
	for _, n := range counts {
		var keys []string
		for i := range nFiles {
			u := b.users[i%len(b.users)]
			k, _, err := b.upload(u, fmt.Sprintf("tp%d-%03d.h5", n, i), b.small)
			if err != nil {
				return err
			}
			keys = append(keys, k)
		}
		if err := b.waitQueued(keys, 2*time.Minute); err != nil {
			return err
		}
		os.Setenv("ANALYZE_CONCURRENCY", fmt.Sprint(n))
		os.Setenv("ANALYZE_USER_CONCURRENCY", fmt.Sprint(n))
		t0 := time.Now()
		if err := s.StartWorkers(ctx); err != nil {
			return err
		}
		for _, k := range keys {
			if _, err := b.waitTable(k, 10*time.Minute); err != nil {
				return err
			}
		}
		secs := time.Since(t0).Seconds()
		if err := s.StopWorkers(); err != nil {
			return err
		}
		fmt.Printf("  %d worker(s): %.1f s, %.0f files/min\n", n, secs, float64(nFiles)/secs*60)
		if err := b.printPhases(fmt.Sprintf("    phases (%d workers)", n), keys, nil); err != nil {
			return err
		}
	}
	os.Unsetenv("ANALYZE_USER_CONCURRENCY")
	return nil
}

// loginLoad: login latency idle, and while 50 deliveries at a time hit
// the webhook (replays of keys and events for missing objects).
func (b *bench) loginLoad(ctx context.Context, keys []string, nLogins int) error {
	s := b.s
	if len(keys) == 0 {
		for i := range 5 {
			k, _, err := b.upload(b.users[i], "login-load.h5", b.small)
			if err != nil {
				return err
			}
			keys = append(keys, k)
		}
	}
	os.Setenv("ANALYZE_CONCURRENCY", "2")
	if err := s.StartWorkers(ctx); err != nil {
		return err
	}
	defer s.StopWorkers()
	idle, err := b.logins(nLogins)
	if err != nil {
		return err
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var deliveries, failed int
	var mu sync.Mutex
	token, err := os.ReadFile(filepath.Join(s.SecretsDir, "webhook-token"))
	if err != nil {
		return err
	}
	for w := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				// Replays of the burst's events and events for new keys
				// of every user (most refused after a stat): enqueue load.
				key := keys[(w+i)%len(keys)]
				if i%2 == 1 {
					key = b.users[w%len(b.users)].name + fmt.Sprintf("/missing-%d-%d.h5", w, i)
				}
				body := fmt.Sprintf(`{"Records":[{"eventName":"s3:ObjectCreated:Put","s3":{"bucket":{"name":"benchwrap"},"object":{"key":%q}}}]}`, url.QueryEscape(key))
				st, _, err := b.post("/function/analyze", body, "Bearer "+string(token))
				mu.Lock()
				deliveries++
				if err != nil || st != 200 {
					failed++
				}
				mu.Unlock()
			}
		}()
	}
	busy, err := b.logins(nLogins)
	close(stop)
	wg.Wait()
	if err != nil {
		return err
	}
	fmt.Printf("logins (%d, 4 at a time): idle p50 %.0f ms p99 %.0f ms; during 50 concurrent deliveries (%d delivered, %d failed) p50 %.0f ms p99 %.0f ms (%.2f× idle p99)\n",
		nLogins, ms(pct(idle, 50)), ms(pct(idle, 99)), deliveries, failed, ms(pct(busy, 50)), ms(pct(busy, 99)),
		float64(pct(busy, 99))/float64(pct(idle, 99)))
	return nil
}

// components times the per-file steps of a small file's analysis in
// isolation, without the queue: the HDF5 metadata probe in a child
// process, opening the file in-process, an engine's start, and the
// whole compat analysis on a warm engine.
func components(ctx context.Context, path string) error {
	const n = 20
	mode, err := analysis.ParseMode(cmp.Or(os.Getenv("ANALYZE_MODE"), "corrected"))
	if err != nil {
		return err
	}
	timeIt := func(f func() error) (time.Duration, error) {
		t0 := time.Now()
		for range n {
			if err := f(); err != nil {
				return 0, err
			}
		}
		return time.Since(t0) / n, nil
	}
	open := func(isolate bool) func() error {
		return func() error {
			r, err := hdf5.Open(path, hdf5.Options{Isolate: isolate})
			if err == nil {
				r.Close()
			}
			return err
		}
	}
	probe, err := timeIt(open(true))
	if err != nil {
		return err
	}
	plain, err := timeIt(open(false))
	if err != nil {
		return err
	}
	start, err := timeIt(func() error {
		a, err := analyzer.New(analyzer.Config{Mode: mode})
		if err == nil {
			a.Close()
		}
		return err
	})
	if err != nil {
		return err
	}
	warm := func(isolate bool) (time.Duration, error) {
		a, err := analyzer.New(analyzer.Config{Mode: mode, Engine: engine.Options{Reader: hdf5.Options{Isolate: isolate}}})
		if err != nil {
			return 0, err
		}
		defer a.Close()
		return timeIt(func() error { _, err := a.Analyze(ctx, path, "bench"); return err })
	}
	withProbe, err := warm(true)
	if err != nil {
		return err
	}
	noProbe, err := warm(false)
	if err != nil {
		return err
	}
	fmt.Printf("components of a small file (%d runs each, ms): HDF5 open with the isolated probe %.1f, without %.1f; engine start %.1f; %s analysis on a warm engine %.1f (without the probe %.1f)\n",
		n, ms(probe), ms(plain), ms(start), mode, ms(withProbe), ms(noProbe))
	return nil
}

// printPhases prints p50/p99 (and the mean) of each recorded phase of the
// keys' jobs (analysis_jobs.timings), and of PUT→enqueue when the PUT
// times are known.
// perJob: printPhases also prints each job's phases, in the order the
// jobs were created.
var perJob bool

func (b *bench) printPhases(title string, keys []string, putAt map[string]time.Time) error {
	rows, err := b.pool.Query(context.Background(), `SELECT DISTINCT ON (object_key) object_key, created_at, coalesce(timings, '{}')
		FROM analysis_jobs WHERE object_key = ANY($1) AND status = 'analysed' ORDER BY object_key, id DESC`, keys)
	if err != nil {
		return err
	}
	defer rows.Close()
	phases := map[string][]float64{}
	for rows.Next() {
		var key string
		var created time.Time
		var t map[string]float64
		if err := rows.Scan(&key, &created, &t); err != nil {
			return err
		}
		if at, ok := putAt[key]; ok {
			phases["enqueue"] = append(phases["enqueue"], created.Sub(at).Seconds())
		}
		for k, v := range t {
			phases[k] = append(phases[k], v)
		}
		if perJob {
			names := slices.Sorted(maps.Keys(t))
			line := fmt.Sprintf("    %s %s", created.Format("15:04:05.000"), key)
			for _, k := range names {
				line += fmt.Sprintf(" %s=%.3f", k, t[k])
			}
			fmt.Println(line)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	fmt.Println(title + " (seconds; p50/p99/mean):")
	// enqueue: PUT → the webhook's job row; wait: job row → the attempt
	// that worked it; then that attempt's phases in order.
	for _, name := range []string{"enqueue", "wait", "pickup", "snoozes", "slot", "engine", "lookup", "download", "transform", "publish", "after"} {
		v := phases[name]
		if len(v) == 0 {
			continue
		}
		slices.Sort(v)
		sum := 0.0
		for _, x := range v {
			sum += x
		}
		p := func(q int) float64 { return v[max(0, min(len(v)-1, (len(v)*q+99)/100-1))] }
		fmt.Printf("    %-9s %7.3f %7.3f %7.3f\n", name, p(50), p(99), sum/float64(len(v)))
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func pct(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(0, min(len(s)-1, i-1))]
}

// bigFile generates the big profile once and keeps it in the cache.
func bigFile(rows int) ([]byte, error) {
	cache := os.Getenv("BENCHWRAP_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "benchwrap")
	}
	p := filepath.Join(cache, fmt.Sprintf("bench-queue-%d.h5", rows))
	if b, err := os.ReadFile(p); err == nil {
		return b, nil
	}
	dir, err := os.MkdirTemp("", "bench-queue-gen-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	spec := gen.Default()
	spec.JobID, spec.Rows, spec.Seed = 778, rows, 42
	spec.Series = []string{gen.SeriesEnergy}
	t0 := time.Now()
	files, err := gen.Write(dir, spec)
	if err != nil {
		return nil, err
	}
	fmt.Printf("generated %d rows in %.0f s (cached in %s)\n", rows, time.Since(t0).Seconds(), p)
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, err
	}
	if err := os.Rename(files[0], p); err != nil {
		return nil, err
	}
	return os.ReadFile(p)
}

func (b *bench) post(path, body, auth string) (int, []byte, error) {
	req, err := http.NewRequest("POST", b.s.GatewayURL+path, bytes.NewReader([]byte(body)))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

func (b *bench) register(name string) (string, error) {
	body, _ := json.Marshal(map[string]string{"username": name, "password": "password-123"})
	st, out, err := b.post("/auth/register", string(body), "")
	if err != nil || st != 201 {
		return "", fmt.Errorf("register %s: %d %s %v", name, st, out, err)
	}
	var m map[string]any
	_ = json.Unmarshal(out, &m)
	return m["access"].(string), nil
}

// upload presigns and PUTs an object; it returns the key and when the PUT
// completed.
func (b *bench) upload(u user, name string, data []byte) (string, time.Time, error) {
	st, out, err := b.post("/api/storage/presign/upload?object_name="+url.QueryEscape(name), "", "Bearer "+u.access)
	if err != nil || st != 200 {
		return "", time.Time{}, fmt.Errorf("presign %s: %d %s %v", name, st, out, err)
	}
	var p struct {
		Key     string            `json:"key"`
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers"`
	}
	if err := json.Unmarshal(out, &p); err != nil {
		return "", time.Time{}, err
	}
	req, err := http.NewRequest("PUT", p.URL, bytes.NewReader(data))
	if err != nil {
		return "", time.Time{}, err
	}
	for k, v := range p.Headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", time.Time{}, err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return "", time.Time{}, fmt.Errorf("PUT %s: %s", name, resp.Status)
	}
	return p.Key, time.Now(), nil
}

// waitTable waits for the key's catalog row and returns when it was
// committed.
func (b *bench) waitTable(key string, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		var done time.Time
		var status string
		err := b.pool.QueryRow(context.Background(), `SELECT finished_at, status FROM analysis_runs WHERE object_key = $1 ORDER BY id DESC LIMIT 1`, key).Scan(&done, &status)
		if err == nil {
			if status != "done" {
				return time.Time{}, fmt.Errorf("%s: %s", key, status)
			}
			return done, nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("%s: no table after %s", key, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// enqueuedAt returns when the webhook recorded each key's (latest) job.
func (b *bench) enqueuedAt(keys []string) (map[string]time.Time, error) {
	rows, err := b.pool.Query(context.Background(), `SELECT DISTINCT ON (object_key) object_key, created_at FROM analysis_jobs
		WHERE object_key = ANY($1) ORDER BY object_key, id DESC`, keys)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var k string
		var at time.Time
		if err := rows.Scan(&k, &at); err != nil {
			return nil, err
		}
		out[k] = at
	}
	return out, rows.Err()
}

// waitQueued waits until MinIO has delivered every key's event.
func (b *bench) waitQueued(keys []string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var n int
		if err := b.pool.QueryRow(context.Background(), `SELECT count(*) FROM analysis_jobs WHERE object_key = ANY($1) AND status = 'queued'`, keys).Scan(&n); err != nil {
			return err
		}
		if n == len(keys) {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("events not all delivered")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// logins runs n logins, 4 at a time, and returns their latencies.
func (b *bench) logins(n int) ([]time.Duration, error) {
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	var wg sync.WaitGroup
	next := make(chan int)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				u := b.users[i%len(b.users)]
				body, _ := json.Marshal(map[string]string{"username": u.name, "password": "password-123"})
				t0 := time.Now()
				st, out, err := b.post("/auth/login", string(body), "")
				d := time.Since(t0)
				mu.Lock()
				if (err != nil || st != 200) && firstErr == nil {
					firstErr = fmt.Errorf("login: %d %s %v", st, out, err)
				}
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return lat, firstErr
}
