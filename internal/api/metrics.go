package api

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ebsd/ebsd/internal/inflight"
	"github.com/ebsd/ebsd/internal/reqmetrics"
	"github.com/ebsd/ebsd/internal/throttle"
)

// outcomeSuccess is the outcome label of a request answered with 2xx; an
// error's outcome is its AWS error type.
const outcomeSuccess = reqmetrics.Success

// metrics are the Prometheus metrics of the wire layer. They exist even
// when no Registerer is given, so that the handler never checks for nil.
type metrics struct {
	// requests are the per-operation counts, durations and bytes, with
	// each operation's children resolved once.
	requests      *reqmetrics.Ops
	blocksWritten prometheus.Counter
	blocksRead    prometheus.Counter

	// throttledBy holds the children of ebsd_throttled_requests_total by
	// operation and scope, resolved once like the requests' children.
	throttledVec *prometheus.CounterVec
	throttledBy  [numOperations][2]prometheus.Counter
}

// newMetrics creates the metrics, with the gauge of busy, and registers
// them all on reg, or none, unless reg is nil.
func newMetrics(reg prometheus.Registerer, busy *inflight.Bound) (*metrics, error) {
	m := &metrics{
		requests: reqmetrics.New("ebsd_", reqmetrics.Help{
			Requests: "EBS direct API requests served, by operation and outcome (success or the AWS error type).",
			Duration: "Time to serve an EBS direct API request, from routing to the last byte written.",
			Received: "Request body bytes read, by operation.",
			Sent:     "Response body bytes written, by operation.",
		}, operationNames[:]),
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
	inFlight := busy.Gauge(prometheus.GaugeOpts{
		Name: "ebsd_requests_in_flight",
		Help: "EBS direct API requests being served; beyond the -max-in-flight bound they are refused with 503.",
	})
	collectors := append(m.requests.Collectors(), m.blocksWritten, m.blocksRead, m.throttledVec, inFlight)
	if err := reqmetrics.Register(reg, collectors...); err != nil {
		return nil, fmt.Errorf("api: register metrics: %w", err)
	}
	return m, nil
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
