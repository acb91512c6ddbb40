package pricing

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// BlockCache keeps fetched SMARD files by key. Implementations:
// postgres.PriceCache and the DuckDB store's PriceCache.
type BlockCache interface {
	// Get returns the body stored under key; ok is false when there is none.
	Get(ctx context.Context, key string) (body []byte, ok bool, err error)
	// Put stores body under key, replacing what was there.
	Put(ctx context.Context, key string, body []byte) error
}

// SMARD defaults.
const (
	DefaultSMARDURL   = "https://www.smard.de/app/chart_data"
	DefaultFilter     = 4169 // day-ahead price
	DefaultRegion     = "DE-LU"
	DefaultResolution = "quarterhour"
	DefaultTimeout    = 20 * time.Second
	DefaultParallel   = 4
)

// maxBody bounds a SMARD file (a week of quarter-hours is about 25 kB).
const maxBody = 32 << 20

// steps are the resolutions supported, with how long a point's price
// holds. The coarser SMARD resolutions (day and up) follow the German
// calendar and are of no use for a job's cost.
var steps = map[string]float64{"quarterhour": 900, "hour": 3600}

var regionRE = regexp.MustCompile(`^[A-Za-z0-9-]{1,32}$`)

// SMARD fetches day-ahead prices (EUR/MWh) from the SMARD chart data API:
// {BaseURL}/{Filter}/{Region}/index_{Resolution}.json lists the start
// times (ms) of the blocks, one a week, and each block is
// {BaseURL}/{Filter}/{Region}/{Filter}_{Region}_{Resolution}_{start}.json
// with "series": [[ms, price or null], ...]. A price holds from its time
// for one resolution step; a null is a gap.
//
// Blocks are fetched concurrently (Parallel at a time, each request within
// Timeout). Cache policy, with a Cache:
//   - A block is settled when it is not the newest in the index and it
//     ended (the next block started) before Now. SMARD does not revise
//     published day-ahead prices, so a settled block is fetched once,
//     stored, and then always read from the cache.
//   - Other blocks (this week's, whose later prices are still null, and
//     any later one) are fetched every time and never stored.
//   - The index is fetched every time and stored, except when the stored
//     index shows that every block the range needs is settled and all of
//     them are in the cache: then nothing is fetched at all. When fetching
//     the index fails, the stored one is used (noted in Series.Notes), so
//     jobs of past weeks are still priced while SMARD is unreachable.
//
// Zero fields take the defaults; Now defaults to time.Now and Client to
// http.DefaultClient.
type SMARD struct {
	BaseURL    string
	Filter     int
	Region     string
	Resolution string
	Client     *http.Client
	Timeout    time.Duration
	Parallel   int
	Cache      BlockCache
	Now        func() time.Time
}

func (s *SMARD) String() string {
	c, _ := s.config()
	return fmt.Sprintf("smard:%s:%s (filter %d)", c.region, c.res, c.filter)
}

type smardConfig struct {
	base     string
	filter   int
	region   string
	res      string
	step     float64
	client   *http.Client
	timeout  time.Duration
	parallel int
	cache    BlockCache
	now      func() time.Time
}

func (s *SMARD) config() (smardConfig, error) {
	c := smardConfig{
		base: strings.TrimRight(s.BaseURL, "/"), filter: s.Filter, region: s.Region, res: s.Resolution,
		client: s.Client, timeout: s.Timeout, parallel: s.Parallel, cache: s.Cache, now: s.Now,
	}
	if c.base == "" {
		c.base = DefaultSMARDURL
	}
	if c.filter == 0 {
		c.filter = DefaultFilter
	}
	if c.region == "" {
		c.region = DefaultRegion
	}
	if c.res == "" {
		c.res = DefaultResolution
	}
	if c.client == nil {
		c.client = http.DefaultClient
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.parallel <= 0 {
		c.parallel = DefaultParallel
	}
	if c.now == nil {
		c.now = time.Now
	}
	var ok bool
	if c.step, ok = steps[c.res]; !ok {
		return c, fmt.Errorf("pricing: SMARD resolution %q: want quarterhour or hour", c.res)
	}
	if !regionRE.MatchString(c.region) {
		return c, fmt.Errorf("pricing: SMARD region %q is not a region code", c.region)
	}
	if c.filter < 0 {
		return c, fmt.Errorf("pricing: SMARD filter %d is negative", c.filter)
	}
	return c, nil
}

func (c *smardConfig) dir() string { return fmt.Sprintf("%s/%d/%s", c.base, c.filter, c.region) }
func (c *smardConfig) indexURL() string {
	return fmt.Sprintf("%s/index_%s.json", c.dir(), c.res)
}
func (c *smardConfig) blockURL(start int64) string {
	return fmt.Sprintf("%s/%d_%s_%s_%d.json", c.dir(), c.filter, c.region, c.res, start)
}
func (c *smardConfig) key(what string) string {
	return fmt.Sprintf("smard/%d/%s/%s/%s", c.filter, c.region, c.res, what)
}

// block is one weekly file of the index.
type block struct {
	start, end int64 // ms; end is the next block's start, MaxInt64 for the newest
	settled    bool
	body       []byte // fetched, to be stored
	points     []smardPoint
	loaded     bool
}

type smardPoint struct {
	ms int64
	v  float64 // NaN for null
}

// Series returns the prices of the blocks that overlap [from, to], whole.
func (s *SMARD) Series(ctx context.Context, from, to time.Time) (*Series, error) {
	c, err := s.config()
	if err != nil {
		return nil, err
	}
	var notes []string
	note := func(format string, a ...any) { notes = append(notes, fmt.Sprintf("smard: "+format, a...)) }
	fromMs, toMs, nowMs := from.UnixMilli(), to.UnixMilli(), c.now().UnixMilli()

	// The stored index, and the shortcut when it says nothing can change.
	var stored []byte
	var storedIndex []int64
	if c.cache != nil {
		body, ok, err := c.cache.Get(ctx, c.key("index"))
		switch {
		case err != nil:
			note("read the stored index: %v", err)
		case ok:
			if storedIndex, err = parseIndex(body); err != nil {
				note("stored index: %v", err)
			} else {
				stored = body
			}
		}
	}
	if storedIndex != nil {
		blocks := pick(storedIndex, fromMs, toMs, nowMs)
		if len(blocks) > 0 && allSettled(blocks) {
			if c.loadCached(ctx, blocks, note) == 0 {
				return c.series(blocks, notes)
			}
		}
	}

	index, body, err := c.fetchIndex(ctx)
	if err != nil {
		if storedIndex == nil {
			return nil, err
		}
		note("index not fetched, used the stored one: %v", err)
		index = storedIndex
	} else if c.cache != nil && !bytes.Equal(body, stored) {
		if err := c.cache.Put(ctx, c.key("index"), body); err != nil {
			note("store the index: %v", err)
		}
	}
	blocks := pick(index, fromMs, toMs, nowMs)
	if len(blocks) == 0 {
		return nil, fmt.Errorf("smard: the index starts after the job (first block %s): %w",
			time.UnixMilli(index[0]).UTC().Format(time.RFC3339), ErrNoData)
	}
	if c.cache != nil {
		c.loadCached(ctx, blocks, note)
	}
	if err := c.fetchBlocks(ctx, blocks); err != nil {
		return nil, err
	}
	if c.cache != nil {
		for _, b := range blocks {
			if b.settled && b.body != nil {
				if err := c.cache.Put(ctx, c.key(strconv.FormatInt(b.start, 10)), b.body); err != nil {
					note("store block %d: %v", b.start, err)
				}
			}
		}
	}
	return c.series(blocks, notes)
}

// pick returns the blocks of index whose [start, next start) overlaps
// [from, to].
func pick(index []int64, from, to, now int64) []*block {
	var out []*block
	for i, start := range index {
		end := int64(math.MaxInt64)
		if i+1 < len(index) {
			end = index[i+1]
		}
		if start <= to && end > from {
			out = append(out, &block{start: start, end: end, settled: i+1 < len(index) && end <= now})
		}
	}
	return out
}

func allSettled(blocks []*block) bool {
	for _, b := range blocks {
		if !b.settled {
			return false
		}
	}
	return true
}

// loadCached fills the settled blocks found in the cache and returns how
// many settled blocks are still missing. A stored block that does not
// parse is fetched again.
func (c *smardConfig) loadCached(ctx context.Context, blocks []*block, note func(string, ...any)) int {
	missing := 0
	for _, b := range blocks {
		if !b.settled || b.loaded {
			continue
		}
		body, ok, err := c.cache.Get(ctx, c.key(strconv.FormatInt(b.start, 10)))
		if err != nil {
			note("read stored block %d: %v", b.start, err)
		}
		if err == nil && ok {
			pts, perr := parseBlock(body)
			if perr == nil {
				b.points, b.loaded = pts, true
				continue
			}
			note("stored block %d: %v", b.start, perr)
		}
		missing++
	}
	return missing
}

func (c *smardConfig) fetchIndex(ctx context.Context) ([]int64, []byte, error) {
	body, err := c.get(ctx, c.indexURL())
	if err != nil {
		return nil, nil, fmt.Errorf("smard: index: %w", err)
	}
	index, err := parseIndex(body)
	if err != nil {
		return nil, nil, fmt.Errorf("smard: index %s: %w", c.indexURL(), err)
	}
	return index, body, nil
}

// fetchBlocks fetches the blocks not loaded, Parallel at a time; the first
// failure cancels the others and is returned.
func (c *smardConfig) fetchBlocks(ctx context.Context, blocks []*block) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, c.parallel)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	fail := func(err error) {
		mu.Lock()
		if first == nil {
			first = err
		}
		mu.Unlock()
		cancel()
	}
	for _, b := range blocks {
		if b.loaded {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				fail(ctx.Err())
				return
			}
			defer func() { <-sem }()
			body, err := c.get(ctx, c.blockURL(b.start))
			if err == nil {
				b.points, err = parseBlock(body)
			}
			if err != nil {
				fail(fmt.Errorf("smard: block %s: %w", time.UnixMilli(b.start).UTC().Format(time.RFC3339), err))
				return
			}
			b.body, b.loaded = body, true
		}()
	}
	wg.Wait()
	return first
}

// get fetches url within the timeout.
func (c *smardConfig) get(ctx context.Context, url string) ([]byte, error) {
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	timedOut := func(err error) error {
		if ctx.Err() == nil && errors.Is(rctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("GET %s: no answer within %s", url, c.timeout)
		}
		return err
	}
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, timedOut(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, timedOut(fmt.Errorf("GET %s: %w", url, err))
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("GET %s: more than %d bytes", url, maxBody)
	}
	return body, nil
}

func parseIndex(body []byte) ([]int64, error) {
	var doc struct {
		Timestamps []int64 `json:"timestamps"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("not an index: %w", err)
	}
	if len(doc.Timestamps) == 0 {
		return nil, errors.New("the index lists no blocks")
	}
	for i := 1; i < len(doc.Timestamps); i++ {
		if doc.Timestamps[i] <= doc.Timestamps[i-1] {
			return nil, fmt.Errorf("index timestamps not increasing at %d", i)
		}
	}
	return doc.Timestamps, nil
}

func parseBlock(body []byte) ([]smardPoint, error) {
	var doc struct {
		Series [][]*float64 `json:"series"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("not a block: %w", err)
	}
	if doc.Series == nil {
		return nil, errors.New("the block has no series")
	}
	pts := make([]smardPoint, 0, len(doc.Series))
	for i, p := range doc.Series {
		if len(p) != 2 || p[0] == nil || *p[0] != math.Trunc(*p[0]) || math.Abs(*p[0]) > 1<<53 {
			return nil, fmt.Errorf("series point %d is not [ms, value]", i)
		}
		v := math.NaN()
		if p[1] != nil {
			v = *p[1]
		}
		pts = append(pts, smardPoint{ms: int64(*p[0]), v: v})
	}
	return pts, nil
}

// series joins the blocks' points: each price holds one step, or until
// the next point when that is sooner.
func (c *smardConfig) series(blocks []*block, notes []string) (*Series, error) {
	var pts []smardPoint
	for _, b := range blocks {
		pts = append(pts, b.points...)
	}
	sort.SliceStable(pts, func(i, j int) bool { return pts[i].ms < pts[j].ms })
	iv := make([]Interval, 0, len(pts))
	for i, p := range pts {
		if i+1 < len(pts) && pts[i+1].ms == p.ms {
			continue // the same time twice: the later block's wins
		}
		start := float64(p.ms) / 1000
		end := start + c.step
		if i+1 < len(pts) {
			end = min(end, float64(pts[i+1].ms)/1000)
		}
		iv = append(iv, Interval{Start: start, End: end, Value: p.v})
	}
	s, err := NewSeries(iv)
	if err != nil {
		return nil, err
	}
	s.Notes = notes
	return s, nil
}
