package api

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultMaxInFlight is the default bound on requests served at once,
// sized to memory: a PutSnapshotBlock or GetSnapshotBlock pins a 512 KiB
// block buffer, 1 MiB for an encrypted snapshot, so 128 of them pin at most
// 128 MiB, which with the ~90 MiB the server uses under load (64 SDK
// uploaders, README "Performance") stays under 256 MiB. It is twice the
// 64 workers of the ebs client, so that one default client never meets it.
const DefaultMaxInFlight = 128

// msgBusy is the message of the 503 a request gets beyond the bound.
const msgBusy = "The server is serving as many requests as it allows; retry later."

// inFlight bounds the requests served at once. A request beyond the bound
// is refused at once, never queued: a queue would hold connections and
// their bodies in memory, which is what the bound is for, and every SDK
// retries a 503 with backoff (spec §5.7).
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

// acquire takes a slot, or reports false when all are taken.
func (f *inFlight) acquire() bool {
	for {
		n := f.n.Load()
		if n >= f.max {
			return false
		}
		if f.n.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (f *inFlight) release() { f.n.Add(-1) }

// collector exports the number of requests in flight.
func (f *inFlight) collector() prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "ebsd_requests_in_flight",
		Help: "EBS direct API requests being served; beyond the -max-in-flight bound they are refused with 503.",
	}, func() float64 { return float64(f.n.Load()) })
}
