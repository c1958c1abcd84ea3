package ec2api

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ebsd/ebsd/internal/inflight"
	"github.com/ebsd/ebsd/internal/reqmetrics"
)

// outcomeSuccess is the outcome label of a request answered with 200; an
// error's outcome is its error code.
const outcomeSuccess = reqmetrics.Success

// newMetrics returns the Prometheus metrics of the EC2 and STS Query API,
// named like the EBS API's (internal/api/metrics.go) with an ec2api_
// infix, with the gauge of busy, and registers them all on reg, or none,
// unless reg is nil. They exist even without a Registerer, so the handler
// never checks for nil.
func newMetrics(reg prometheus.Registerer, busy *inflight.Bound) (*reqmetrics.Ops, error) {
	var names [numOperations]string
	for op := range numOperations {
		names[op] = op.String()
	}
	m := reqmetrics.New("ebsd_ec2api_", reqmetrics.Help{
		Requests: "EC2 and STS Query API requests served, by operation and outcome (success or the error code).",
		Duration: "Time to serve an EC2 or STS Query API request, from reading its body to the last byte written.",
		Received: "EC2 and STS Query API request body bytes read, by operation.",
		Sent:     "EC2 and STS Query API response body bytes written, by operation.",
	}, names[:])
	inFlight := busy.Gauge(prometheus.GaugeOpts{
		Name: "ebsd_ec2api_requests_in_flight",
		Help: "EC2 and STS Query API requests being served; beyond the bound they are refused with 503.",
	})
	if err := reqmetrics.Register(reg, append(m.Collectors(), inFlight)...); err != nil {
		return nil, fmt.Errorf("ec2api: register metrics: %w", err)
	}
	return m, nil
}
