package client

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// gate bounds how many block requests of one transfer are in flight, and
// adapts the bound to throttling the way TCP adapts its window (AIMD):
// every throttled answer halves the limit (down to 1), and every limit
// successes in a row while the limit was in use raise it by one (up to
// the ceiling, --workers). Throttling is the service saying "fewer", and
// retrying at the same concurrency only earns more of it: 64 workers
// against a service that takes 4 at a time would have 60 requests
// throttled in every round until blocks ran out of attempts.
//
// Only one halving per round trip: the answers to requests sent before
// the last decrease say nothing about the new limit, so a burst of them
// does not drive the limit to 1 (each slot carries the epoch it was
// taken in, and a decrease starts a new epoch).
//
// A nil *gate admits everything: calls that do not move blocks (listing,
// start, complete) are not gated.
type gate struct {
	log     *slog.Logger
	ceiling int

	mu        sync.Mutex
	limit     int
	inflight  int
	waiting   int           // acquire calls blocked on a full gate
	wanted    bool          // someone waited since the limit last grew: the limit is in use
	ok        int           // successes since the limit last changed
	epoch     uint64        // bumped by every decrease
	freed     chan struct{} // closed (and replaced) when a slot frees or the limit grows
	throttled int64         // throttled answers
	lowest    int           // lowest limit reached
}

// slot is one admitted request.
type slot struct{ epoch uint64 }

func newGate(ceiling int, log *slog.Logger) *gate {
	ceiling = max(ceiling, 1)
	return &gate{log: log, ceiling: ceiling, limit: ceiling, lowest: ceiling, freed: make(chan struct{})}
}

// acquire waits for a free slot and returns it with how long it waited:
// time spent queued behind the limit is not the service's to account for
// (see Client.callGated).
func (g *gate) acquire(ctx context.Context) (slot, time.Duration, error) {
	if g == nil {
		return slot{}, 0, nil
	}
	var began time.Time
	g.mu.Lock()
	for g.inflight >= g.limit {
		if began.IsZero() {
			began = time.Now()
		}
		g.wanted = true
		g.waiting++
		freed := g.freed
		g.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			g.mu.Lock()
			g.waiting--
			g.mu.Unlock()
			return slot{}, 0, context.Cause(ctx)
		}
		g.mu.Lock()
		g.waiting--
	}
	g.inflight++
	s := slot{epoch: g.epoch}
	g.mu.Unlock()
	var waited time.Duration
	if !began.IsZero() {
		waited = time.Since(began)
	}
	return s, waited, nil
}

// release returns s with the outcome of its request: a throttle lowers
// the limit, a success may raise it, anything else leaves it.
func (g *gate) release(s slot, err error) {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	used := g.inflight >= g.limit || g.waiting > 0 || g.wanted
	g.inflight--
	switch {
	case err == nil:
		// Growth only from requests sent at the current limit, and only
		// while the limit is what holds the transfer back: a limit
		// nobody reaches proves nothing, and growing it would let a
		// later burst overshoot by far.
		if s.epoch != g.epoch || !used || g.limit >= g.ceiling {
			break
		}
		if g.ok++; g.ok >= g.limit {
			g.limit++
			g.ok, g.wanted = 0, false
			g.log.Debug("raising concurrency", "to", g.limit, "of", g.ceiling)
		}
	case IsThrottle(err):
		g.throttled++
		if s.epoch != g.epoch {
			break // sent before the last decrease: already answered
		}
		from := g.limit
		g.limit = max(g.limit/2, 1)
		g.lowest = min(g.lowest, g.limit)
		g.epoch++
		g.ok, g.wanted = 0, false
		g.log.Info("throttled by the service: lowering concurrency", "from", from, "to", g.limit, "of", g.ceiling, "err", err)
	}
	close(g.freed)
	g.freed = make(chan struct{})
}

// gateStats is what a gate did during a transfer.
type gateStats struct {
	throttled int64 // throttled answers
	lowest    int   // lowest concurrency reached
	final     int   // concurrency at the end
}

func (g *gate) stats() gateStats {
	if g == nil {
		return gateStats{}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return gateStats{throttled: g.throttled, lowest: g.lowest, final: g.limit}
}
