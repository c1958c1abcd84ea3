package gc

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ebsd/ebsd/internal/reqmetrics"
)

// metrics are the collector's Prometheus metrics.
type metrics struct {
	runs      *prometheus.CounterVec
	duration  prometheus.Gauge
	lastRun   prometheus.Gauge
	swept     prometheus.Counter
	reclaimed prometheus.Counter
	live      prometheus.Gauge
	garbage   prometheus.Gauge
	unique    *prometheus.GaugeVec
}

// maxAccountSeries bounds the accounts ebsd_account_unique_bytes has a
// series for: the largest ones, so that many small accounts cannot blow
// up the scrape.
const maxAccountSeries = 1000

// newMetrics creates the metrics and registers them all on reg, or none,
// unless reg is nil.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ebsd_gc_runs_total", Help: "Garbage collections, by result (ok or error).",
		}, []string{"result"}),
		duration: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ebsd_gc_last_duration_seconds", Help: "How long the last garbage collection took.",
		}),
		lastRun: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ebsd_gc_last_run_timestamp_seconds", Help: "When the last garbage collection ended (Unix time).",
		}),
		swept: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ebsd_gc_keys_swept_total", Help: "Stored blocks no snapshot reads, removed from the index.",
		}),
		reclaimed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ebsd_gc_bytes_reclaimed_total", Help: "Pack bytes given back to the file system by compaction.",
		}),
		live: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ebsd_gc_live_bytes", Help: "Stored bytes of live blocks, as the last collection measured.",
		}),
		garbage: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ebsd_gc_garbage_bytes", Help: "Pack bytes holding no live block after the last collection.",
		}),
		unique: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ebsd_account_unique_bytes",
			Help: "Distinct non-zero blocks an account's snapshots map, in bytes, as the last collection marked them " +
				"(a block shared with another account counts for both); the largest " + fmt.Sprint(maxAccountSeries) + " accounts.",
		}, []string{"account"}),
	}
	m.runs.WithLabelValues("ok")
	m.runs.WithLabelValues("error")
	err := reqmetrics.Register(reg, m.runs, m.duration, m.lastRun, m.swept, m.reclaimed, m.live, m.garbage, m.unique)
	if err != nil {
		return nil, fmt.Errorf("gc: register metrics: %w", err)
	}
	return m, nil
}

func (m *metrics) observe(r Report, err error) {
	if err != nil {
		m.runs.WithLabelValues("error").Inc()
		return
	}
	m.runs.WithLabelValues("ok").Inc()
	m.duration.Set(r.Duration.Seconds())
	m.lastRun.SetToCurrentTime()
	m.swept.Add(float64(r.Sweep.Swept))
	if r.Compact.BytesReclaimed > 0 {
		m.reclaimed.Add(float64(r.Compact.BytesReclaimed))
	}
	m.live.Set(float64(r.Sweep.LiveBytes))
	garbage := r.Sweep.PackBytes - r.Compact.BytesReclaimed - r.Sweep.LiveBytes
	if garbage < 0 {
		garbage = 0
	}
	m.garbage.Set(float64(garbage))
	m.unique.Reset()
	for acct, n := range largest(r.UniqueBytes, maxAccountSeries) {
		m.unique.WithLabelValues(acct).Set(float64(n))
	}
}

// largest returns the n entries of m with the largest values.
func largest(m map[string]int64, n int) map[string]int64 {
	if len(m) <= n {
		return m
	}
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int { return cmp.Compare(m[b], m[a]) })
	out := make(map[string]int64, n)
	for _, k := range keys[:n] {
		out[k] = m[k]
	}
	return out
}
