package ec2api

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// outcomeSuccess is the outcome label of a request answered with 200; an
// error's outcome is its error code.
const outcomeSuccess = "success"

// metrics are the Prometheus metrics of the EC2 and STS Query API, named
// like the EBS API's (internal/api/metrics.go) with an ec2api_ infix. They
// exist even without a Registerer, so the handler never checks for nil.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	received *prometheus.CounterVec
	sent     *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, busy *inFlight) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ebsd_ec2api_requests_total",
			Help: "EC2 and STS Query API requests served, by operation and outcome (success or the error code).",
		}, []string{"operation", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ebsd_ec2api_request_duration_seconds",
			Help:    "Time to serve an EC2 or STS Query API request, from reading its body to the last byte written.",
			Buckets: prometheus.ExponentialBuckets(0.00025, 2, 16),
		}, []string{"operation"}),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ebsd_ec2api_received_bytes_total",
			Help: "EC2 and STS Query API request body bytes read, by operation.",
		}, []string{"operation"}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ebsd_ec2api_sent_bytes_total",
			Help: "EC2 and STS Query API response body bytes written, by operation.",
		}, []string{"operation"}),
	}
	if reg == nil {
		return m, nil
	}
	collectors := []prometheus.Collector{m.requests, m.duration, m.received, m.sent, busy.collector()}
	for i, c := range collectors {
		if err := reg.Register(c); err != nil {
			for _, done := range collectors[:i] {
				reg.Unregister(done)
			}
			return nil, fmt.Errorf("ec2api: register metrics: %w", err)
		}
	}
	return m, nil
}

// observe records one served request.
func (m *metrics) observe(op operation, outcome string, d time.Duration, received, sent int64) {
	name := op.String()
	m.requests.WithLabelValues(name, outcome).Inc()
	m.duration.WithLabelValues(name).Observe(d.Seconds())
	m.received.WithLabelValues(name).Add(float64(received))
	m.sent.WithLabelValues(name).Add(float64(sent))
}
