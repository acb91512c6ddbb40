package metrics

import (
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// The database pools whose statistics are exported, by name.
var (
	poolsMu sync.Mutex
	pools   = map[string]*pgxpool.Pool{}
)

// SetPool exports the statistics of a pgx pool under the label pool=name
// (nil stops exporting it). A process has one pool per database role,
// "main" for the functions' own.
func SetPool(name string, p *pgxpool.Pool) {
	poolsMu.Lock()
	defer poolsMu.Unlock()
	if p == nil {
		delete(pools, name)
		return
	}
	pools[name] = p
}

var (
	poolConns = prometheus.NewDesc(Namespace+"_db_pool_connections",
		"Connections of the database pool by state (acquired, idle, constructing).", []string{"pool", "state"}, nil)
	poolMax = prometheus.NewDesc(Namespace+"_db_pool_max_connections",
		"The pool's connection limit (pool_max_conns).", []string{"pool"}, nil)
	poolAcquires = prometheus.NewDesc(Namespace+"_db_pool_acquires_total",
		"Successful connection acquisitions.", []string{"pool"}, nil)
	poolEmptyAcquires = prometheus.NewDesc(Namespace+"_db_pool_empty_acquires_total",
		"Acquisitions that had to wait because no idle connection was free: the pool is too small.", []string{"pool"}, nil)
	poolCanceled = prometheus.NewDesc(Namespace+"_db_pool_canceled_acquires_total",
		"Acquisitions given up because the caller's context ended.", []string{"pool"}, nil)
	poolAcquireSeconds = prometheus.NewDesc(Namespace+"_db_pool_acquire_seconds_total",
		"Total time spent acquiring connections.", []string{"pool"}, nil)
	poolNew = prometheus.NewDesc(Namespace+"_db_pool_new_connections_total",
		"Connections opened.", []string{"pool"}, nil)
)

// poolCollector reads pgxpool.Stat at scrape time.
type poolCollector struct{}

func (poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolConns, poolMax, poolAcquires, poolEmptyAcquires, poolCanceled, poolAcquireSeconds, poolNew} {
		ch <- d
	}
}

func (poolCollector) Collect(ch chan<- prometheus.Metric) {
	poolsMu.Lock()
	defer poolsMu.Unlock()
	for name, p := range pools {
		s := p.Stat()
		gauge := func(d *prometheus.Desc, v float64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{name}, labels...)...)
		}
		counter := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, name)
		}
		gauge(poolConns, float64(s.AcquiredConns()), "acquired")
		gauge(poolConns, float64(s.IdleConns()), "idle")
		gauge(poolConns, float64(s.ConstructingConns()), "constructing")
		gauge(poolMax, float64(s.MaxConns()))
		counter(poolAcquires, float64(s.AcquireCount()))
		counter(poolEmptyAcquires, float64(s.EmptyAcquireCount()))
		counter(poolCanceled, float64(s.CanceledAcquireCount()))
		counter(poolAcquireSeconds, s.AcquireDuration().Seconds())
		counter(poolNew, float64(s.NewConnsCount()))
	}
}
