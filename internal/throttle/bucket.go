package throttle

import (
	"math"
	"sync/atomic"
)

// dead is the arrival time of a bucket dropped from its table: a request
// that finds it must look its bucket up again.
const dead = math.MinInt64

// bucket is a token bucket kept as the generic cell rate algorithm keeps
// it. tat, the theoretical arrival time, is when the bucket will be full
// again, in nanoseconds since the limiter's epoch; each admitted request
// pushes it one interval further. A request is refused when admitting it
// would put tat more than burst intervals ahead of now, which is the same
// as finding fewer than one token in a bucket of capacity burst.
type bucket struct {
	tat atomic.Int64
}

// rule is the interval and tolerance of a bucket's quota.
type rule struct {
	interval  int64 // nanoseconds per request; 0 means no limit
	tolerance int64 // burst * interval: how far ahead of now tat may go
}

func newRule(l Limit) rule {
	if l.Rate == 0 {
		return rule{}
	}
	interval := max(1, int64(math.Round(1e9/l.Rate)))
	return rule{interval: interval, tolerance: l.burst() * interval}
}

// outcome is what take did.
type outcome uint8

const (
	admitted outcome = iota
	refused
	evicted // the bucket is dead; look it up again
)

// take admits one request at now, if r allows it.
func (b *bucket) take(now int64, r *rule) outcome {
	for {
		old := b.tat.Load()
		if old == dead {
			return evicted
		}
		next := max(old, now) + r.interval
		if next-now > r.tolerance {
			return refused
		}
		if b.tat.CompareAndSwap(old, next) {
			return admitted
		}
	}
}

// refund gives back a request admitted by take, when another quota
// refused it after all.
func (b *bucket) refund(r *rule) {
	for {
		old := b.tat.Load()
		if old == dead || b.tat.CompareAndSwap(old, old-r.interval) {
			return
		}
	}
}

// evict marks the bucket dead if it is full at now, and reports whether it
// did. A full bucket admits exactly what a new one would.
func (b *bucket) evict(now int64) bool {
	old := b.tat.Load()
	return old != dead && old <= now && b.tat.CompareAndSwap(old, dead)
}
