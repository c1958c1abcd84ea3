package api

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ebsd/ebsd/internal/throttle"
)

// outcomeSuccess is the outcome label of a request answered with 2xx; an
// error's outcome is its AWS error type.
const outcomeSuccess = "success"

// metrics are the Prometheus metrics of the wire layer. They exist even
// when no Registerer is given, so that the handler never checks for nil.
type metrics struct {
	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	received      *prometheus.CounterVec
	sent          *prometheus.CounterVec
	blocksWritten prometheus.Counter
	blocksRead    prometheus.Counter

	// throttledBy holds the children of ebsd_throttled_requests_total by
	// operation and scope, resolved once like byOp.
	throttledVec *prometheus.CounterVec
	throttledBy  [numOperations][2]prometheus.Counter

	// byOp holds the children of each operation, resolved once: looking a
	// child up by label values on every request hashes the labels.
	byOp [numOperations]opMetrics
}

type opMetrics struct {
	success  prometheus.Counter
	duration prometheus.Observer
	received prometheus.Counter
	sent     prometheus.Counter
}

// newMetrics creates the metrics and registers them on reg, unless reg is
// nil.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ebsd_requests_total",
			Help: "EBS direct API requests served, by operation and outcome (success or the AWS error type).",
		}, []string{"operation", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ebsd_request_duration_seconds",
			Help: "Time to serve an EBS direct API request, from routing to the last byte written.",
			// 0.25 ms to about 8 s: a local PutSnapshotBlock takes about a
			// millisecond, a slow backend or a large listing seconds.
			Buckets: prometheus.ExponentialBuckets(0.00025, 2, 16),
		}, []string{"operation"}),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ebsd_received_bytes_total",
			Help: "Request body bytes read, by operation.",
		}, []string{"operation"}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ebsd_sent_bytes_total",
			Help: "Response body bytes written, by operation.",
		}, []string{"operation"}),
		blocksWritten: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ebsd_blocks_written_total",
			Help: "Blocks written by successful PutSnapshotBlock requests.",
		}),
		blocksRead: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ebsd_blocks_read_total",
			Help: "Blocks served in full by GetSnapshotBlock.",
		}),
	}
	m.throttledVec = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ebsd_throttled_requests_total",
		Help: "Requests refused for exceeding a request-rate quota (-throttle), by operation and scope (account or snapshot).",
	}, []string{"operation", "scope"})
	// Only the quotas that exist (spec §7.10) get a series from the start.
	for op := opStartSnapshot; op < numOperations; op++ {
		m.throttledBy[op][throttle.Account] = m.throttledVec.WithLabelValues(op.String(), throttle.Account.String())
	}
	for _, op := range []operation{opPutSnapshotBlock, opGetSnapshotBlock} {
		m.throttledBy[op][throttle.Snapshot] = m.throttledVec.WithLabelValues(op.String(), throttle.Snapshot.String())
	}
	for op := range numOperations {
		name := op.String()
		m.byOp[op] = opMetrics{
			success:  m.requests.WithLabelValues(name, outcomeSuccess),
			duration: m.duration.WithLabelValues(name),
			received: m.received.WithLabelValues(name),
			sent:     m.sent.WithLabelValues(name),
		}
	}
	if reg == nil {
		return m, nil
	}
	collectors := []prometheus.Collector{m.requests, m.duration, m.received, m.sent, m.blocksWritten, m.blocksRead, m.throttledVec}
	for i, c := range collectors {
		if err := reg.Register(c); err != nil {
			for _, done := range collectors[:i] {
				reg.Unregister(done)
			}
			return nil, fmt.Errorf("api: register metrics: %w", err)
		}
	}
	return m, nil
}

// observe records one served request.
func (m *metrics) observe(op operation, outcome string, d time.Duration, received, sent int64) {
	if op >= numOperations {
		op = opUnknown
	}
	o := &m.byOp[op]
	if outcome == outcomeSuccess {
		o.success.Inc()
	} else {
		m.requests.WithLabelValues(op.String(), outcome).Inc()
	}
	o.duration.Observe(d.Seconds())
	o.received.Add(float64(received))
	o.sent.Add(float64(sent))
}

// throttled records a request refused by a quota of scope s.
func (m *metrics) throttled(op operation, s throttle.Scope) {
	if op >= numOperations || int(s) >= len(m.throttledBy[op]) {
		return
	}
	if c := m.throttledBy[op][s]; c != nil {
		c.Inc()
		return
	}
	m.throttledVec.WithLabelValues(op.String(), s.String()).Inc()
}
