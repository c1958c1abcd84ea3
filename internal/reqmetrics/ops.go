package reqmetrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Success is the outcome label of a request answered without an error; an
// error's outcome is its error type or code.
const Success = "success"

// Help is the help text of each of the four metrics of [Ops].
type Help struct {
	Requests, Duration, Received, Sent string
}

// Ops are the request metrics of a set of operations, labelled by
// operation name: prefix+"requests_total" by operation and outcome,
// prefix+"request_duration_seconds", prefix+"received_bytes_total" and
// prefix+"sent_bytes_total". They exist whether or not they are
// registered, so that a handler never checks for nil.
type Ops struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	received *prometheus.CounterVec
	sent     *prometheus.CounterVec

	// byOp holds the children of each operation, resolved once: looking a
	// child up by label values on every request hashes the labels.
	byOp []opChildren
}

type opChildren struct {
	name     string
	success  prometheus.Counter
	duration prometheus.Observer
	received prometheus.Counter
	sent     prometheus.Counter
}

// New returns the metrics of the operations named by names, indexed as
// Observe's op. names[0] is the operation of a request that matches none.
func New(prefix string, help Help, names []string) *Ops {
	m := &Ops{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: prefix + "requests_total",
			Help: help.Requests,
		}, []string{"operation", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: prefix + "request_duration_seconds",
			Help: help.Duration,
			// 0.25 ms to about 8 s: a local PutSnapshotBlock takes about a
			// millisecond, a slow backend or a large listing seconds.
			Buckets: prometheus.ExponentialBuckets(0.00025, 2, 16),
		}, []string{"operation"}),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: prefix + "received_bytes_total",
			Help: help.Received,
		}, []string{"operation"}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: prefix + "sent_bytes_total",
			Help: help.Sent,
		}, []string{"operation"}),
		byOp: make([]opChildren, len(names)),
	}
	for op, name := range names {
		m.byOp[op] = opChildren{
			name:     name,
			success:  m.requests.WithLabelValues(name, Success),
			duration: m.duration.WithLabelValues(name),
			received: m.received.WithLabelValues(name),
			sent:     m.sent.WithLabelValues(name),
		}
	}
	return m
}

// Collectors returns the metrics, to register.
func (m *Ops) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.requests, m.duration, m.received, m.sent}
}

// Observe records one served request of operation op, an index into the
// names given to New; one out of range counts as names[0]. outcome is
// Success or the error's type.
func (m *Ops) Observe(op int, outcome string, d time.Duration, received, sent int64) {
	if uint(op) >= uint(len(m.byOp)) {
		op = 0
	}
	o := &m.byOp[op]
	if outcome == Success {
		o.success.Inc()
	} else {
		m.requests.WithLabelValues(o.name, outcome).Inc()
	}
	o.duration.Observe(d.Seconds())
	o.received.Add(float64(received))
	o.sent.Add(float64(sent))
}
