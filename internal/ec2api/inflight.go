package ec2api

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// inFlight bounds the requests served at once. A request beyond the bound
// is refused at once, never queued: its body would be held in memory,
// which is what the bound is for.
type inFlight struct {
	max int64
	n   atomic.Int64
}

func newInFlight(max int) *inFlight {
	if max <= 0 {
		max = DefaultMaxInFlight
	}
	return &inFlight{max: int64(max)}
}

func (f *inFlight) acquire() bool {
	if f.n.Add(1) > f.max {
		f.n.Add(-1)
		return false
	}
	return true
}

func (f *inFlight) release() { f.n.Add(-1) }

func (f *inFlight) collector() prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "ebsd_ec2api_requests_in_flight",
		Help: "EC2 and STS Query API requests being served; beyond the bound they are refused with 503.",
	}, func() float64 { return float64(f.n.Load()) })
}
