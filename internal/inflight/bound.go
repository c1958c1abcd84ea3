// Package inflight bounds the requests a server serves at once.
package inflight

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Bound counts the requests being served and refuses one beyond its
// maximum. A refused request is not queued: a queue would hold connections
// and their bodies in memory, which is what the bound is for, and every
// SDK retries a 503 with backoff. It is safe for concurrent use.
type Bound struct {
	max int64
	n   atomic.Int64
}

// New returns a Bound of max requests at once, or of def when max <= 0
// (an option left zero).
func New(max, def int) *Bound {
	if max <= 0 {
		max = def
	}
	return &Bound{max: int64(max)}
}

// Acquire takes a slot, or reports false when all are taken. It is a
// compare-and-swap loop rather than an Add undone on failure, so the count
// never passes the bound, not even for an instant that the gauge could
// report.
func (b *Bound) Acquire() bool {
	for {
		n := b.n.Load()
		if n >= b.max {
			return false
		}
		if b.n.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// Release gives back a slot taken by Acquire.
func (b *Bound) Release() { b.n.Add(-1) }

// InFlight returns the number of slots taken.
func (b *Bound) InFlight() int64 { return b.n.Load() }

// Max returns the bound.
func (b *Bound) Max() int64 { return b.max }

// Gauge returns a gauge of InFlight, named and described by opts.
func (b *Bound) Gauge(opts prometheus.GaugeOpts) prometheus.Collector {
	return prometheus.NewGaugeFunc(opts, func() float64 { return float64(b.n.Load()) })
}
