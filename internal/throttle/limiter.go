package throttle

import (
	"hash/maphash"
	"strings"
	"sync"
	"time"
)

// Limiter admits or refuses requests by the quotas it was made with. It is
// safe for concurrent use.
type Limiter struct {
	rules  [numOps][numScopes]rule
	now    func() time.Time
	epoch  time.Time
	seed   maphash.Seed
	shards [numShards]shard
}

// numShards spreads the bucket table so that creating a bucket, which
// takes a shard's write lock, rarely stops requests to other buckets.
const numShards = 32

// minSweep is the size below which a shard is never swept.
const minSweep = 64

// shard is one part of the bucket table.
type shard struct {
	mu      sync.RWMutex
	buckets map[key]*bucket
	sweepAt int // sweep for full buckets when the map reaches this size
	_       [24]byte
}

// key names a bucket. snapshot is "" for a per-account quota; a
// per-snapshot bucket is also keyed by account, so that one account's
// requests can never use up another's quota, even for a snapshot ID it
// does not own.
type key struct {
	op       Op
	scope    Scope
	account  string
	snapshot string
}

// New returns a Limiter enforcing q. now is its clock; nil means time.Now.
func New(q Quotas, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	l := &Limiter{now: now, epoch: now(), seed: maphash.MakeSeed()}
	for op := range numOps {
		for s := range numScopes {
			l.rules[op][s] = newRule(q.limits[op][s])
		}
	}
	for i := range l.shards {
		l.shards[i].buckets = make(map[key]*bucket)
		l.shards[i].sweepAt = minSweep
	}
	return l
}

// Allow takes one request of op by account, to snapshot when op has a
// per-snapshot quota. When a quota refuses it, Allow returns false and the
// quota's scope; the per-snapshot quota is asked first, as the more
// specific, and a request refused by one quota uses up none of the other.
func (l *Limiter) Allow(op Op, account, snapshot string) (Scope, bool) {
	if op >= numOps {
		return 0, true
	}
	r := &l.rules[op]
	if r[Account].interval == 0 && r[Snapshot].interval == 0 {
		return 0, true
	}
	now := int64(l.now().Sub(l.epoch))
	var taken *bucket
	if r[Snapshot].interval != 0 {
		b, ok := l.take(key{op: op, scope: Snapshot, account: account, snapshot: snapshot}, &r[Snapshot], now)
		if !ok {
			return Snapshot, false
		}
		taken = b
	}
	if r[Account].interval != 0 {
		if _, ok := l.take(key{op: op, scope: Account, account: account}, &r[Account], now); !ok {
			if taken != nil {
				taken.refund(&r[Snapshot])
			}
			return Account, false
		}
	}
	return 0, true
}

// take takes a request from k's bucket.
func (l *Limiter) take(k key, r *rule, now int64) (*bucket, bool) {
	sh := &l.shards[l.shardOf(k)]
	for {
		b := sh.lookup(k, now)
		switch b.take(now, r) {
		case admitted:
			return b, true
		case refused:
			return nil, false
		}
		// Swept between lookup and take: a new bucket replaces it.
	}
}

func (l *Limiter) shardOf(k key) uint64 {
	s := k.account
	if k.scope == Snapshot {
		s = k.snapshot
	}
	return (maphash.String(l.seed, s) + uint64(k.op)) % numShards
}

// lookup returns k's bucket, creating it full.
func (sh *shard) lookup(k key, now int64) *bucket {
	sh.mu.RLock()
	b := sh.buckets[k]
	sh.mu.RUnlock()
	if b != nil {
		return b
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if b = sh.buckets[k]; b != nil {
		return b
	}
	if len(sh.buckets) >= sh.sweepAt {
		sh.sweep(now)
	}
	b = &bucket{}
	b.tat.Store(now)
	// The strings may point into a request; the table outlives it.
	k.account, k.snapshot = strings.Clone(k.account), strings.Clone(k.snapshot)
	sh.buckets[k] = b
	return b
}

// sweep drops the full buckets of sh, and sets the size of the next sweep
// to twice what is left, so that sweeping costs O(1) per bucket created.
// The caller holds sh.mu.
func (sh *shard) sweep(now int64) {
	for k, b := range sh.buckets {
		if b.evict(now) {
			delete(sh.buckets, k)
		}
	}
	sh.sweepAt = max(minSweep, 2*len(sh.buckets))
}

// Len returns the number of buckets held, for tests and metrics.
func (l *Limiter) Len() int {
	n := 0
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.RLock()
		n += len(sh.buckets)
		sh.mu.RUnlock()
	}
	return n
}
