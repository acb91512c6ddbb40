package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// PoolStats is a database pool's statistics at one moment. The PostgreSQL
// adapter reads them from its driver (postgres.ExportPoolStats), so this
// package stays free of drivers.
type PoolStats struct {
	Acquired, Idle, Constructing, Max         int64
	Acquires, EmptyAcquires, CanceledAcquires int64
	NewConns                                  int64
	AcquireDuration                           time.Duration
}

// The database pools whose statistics are exported, by name.
var (
	poolsMu sync.Mutex
	pools   = map[string]func() PoolStats{}
)

// SetPool exports the statistics that stats reads under the label
// pool=name (nil stops exporting it). A process has one pool per database
// role, "main" for the functions' own.
func SetPool(name string, stats func() PoolStats) {
	poolsMu.Lock()
	defer poolsMu.Unlock()
	if stats == nil {
		delete(pools, name)
		return
	}
	pools[name] = stats
}

var (
	poolConns          = desc("db_pool_connections", "Connections of the database pool by state (acquired, idle, constructing).", "pool", "state")
	poolMax            = desc("db_pool_max_connections", "The pool's connection limit (pool_max_conns).", "pool")
	poolAcquires       = desc("db_pool_acquires_total", "Successful connection acquisitions.", "pool")
	poolEmptyAcquires  = desc("db_pool_empty_acquires_total", "Acquisitions that had to wait because no idle connection was free: the pool is too small.", "pool")
	poolCanceled       = desc("db_pool_canceled_acquires_total", "Acquisitions given up because the caller's context ended.", "pool")
	poolAcquireSeconds = desc("db_pool_acquire_seconds_total", "Total time spent acquiring connections.", "pool")
	poolNew            = desc("db_pool_new_connections_total", "Connections opened.", "pool")
)

// poolCollector reads the pools' statistics at scrape time.
type poolCollector struct{}

func (poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolConns, poolMax, poolAcquires, poolEmptyAcquires, poolCanceled, poolAcquireSeconds, poolNew} {
		ch <- d
	}
}

func (poolCollector) Collect(ch chan<- prometheus.Metric) {
	poolsMu.Lock()
	defer poolsMu.Unlock()
	for name, stats := range pools {
		s := stats()
		gauge := func(d *prometheus.Desc, v float64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{name}, labels...)...)
		}
		counter := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, name)
		}
		gauge(poolConns, float64(s.Acquired), "acquired")
		gauge(poolConns, float64(s.Idle), "idle")
		gauge(poolConns, float64(s.Constructing), "constructing")
		gauge(poolMax, float64(s.Max))
		counter(poolAcquires, float64(s.Acquires))
		counter(poolEmptyAcquires, float64(s.EmptyAcquires))
		counter(poolCanceled, float64(s.CanceledAcquires))
		counter(poolAcquireSeconds, s.AcquireDuration.Seconds())
		counter(poolNew, float64(s.NewConns))
	}
}
