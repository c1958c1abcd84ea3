package throttle_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/throttle"
)

// clock is a fake clock that moves only when told.
type clock struct{ ns atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// quotas returns Quotas with only the given limits of op.
func quotas(t testing.TB, op throttle.Op, account, snapshot throttle.Limit) throttle.Quotas {
	t.Helper()
	var q throttle.Quotas
	if err := q.Set(op, throttle.Account, account); err != nil {
		t.Fatal(err)
	}
	if err := q.Set(op, throttle.Snapshot, snapshot); err != nil {
		t.Fatal(err)
	}
	return q
}

// admitted counts how many of n requests Allow admits at the clock's
// current time.
func admitted(l *throttle.Limiter, n int, op throttle.Op, account, snapshot string) int {
	ok := 0
	for range n {
		if _, yes := l.Allow(op, account, snapshot); yes {
			ok++
		}
	}
	return ok
}

// TestBucket checks the token bucket: a rested bucket admits exactly its
// burst at once, then one request per 1/rate, and never stores more than
// its burst however long it rests.
func TestBucket(t *testing.T) {
	tests := []struct {
		name      string
		limit     throttle.Limit
		wantBurst int
		interval  time.Duration
	}{
		{"AWSPut", throttle.Limit{Rate: 1000}, 1000, time.Millisecond},
		{"AWSStart", throttle.Limit{Rate: 10}, 10, 100 * time.Millisecond},
		{"ExplicitBurst", throttle.Limit{Rate: 50, Burst: 3}, 3, 20 * time.Millisecond},
		{"BurstOne", throttle.Limit{Rate: 4, Burst: 1}, 1, 250 * time.Millisecond},
		{"SlowerThanOnePerSecond", throttle.Limit{Rate: 0.5}, 1, 2 * time.Second},
		{"FractionalRate", throttle.Limit{Rate: 2.5}, 3, 400 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{}
			l := throttle.New(quotas(t, throttle.ListSnapshotBlocks, tc.limit, throttle.Limit{}), c.Now)
			const op = throttle.ListSnapshotBlocks
			if got := admitted(l, tc.wantBurst+5, op, "a", ""); got != tc.wantBurst {
				t.Fatalf("rested bucket admitted %d at once, want %d", got, tc.wantBurst)
			}
			c.Advance(tc.interval - 1)
			if got := admitted(l, 1, op, "a", ""); got != 0 {
				t.Fatalf("admitted a request before the interval %v had passed", tc.interval)
			}
			for i := range 5 {
				c.Advance(1)
				if got := admitted(l, 3, op, "a", ""); got != 1 {
					t.Fatalf("interval %d: admitted %d, want 1", i, got)
				}
				c.Advance(tc.interval - 1)
			}
			c.Advance(time.Hour)
			if got := admitted(l, tc.wantBurst+5, op, "a", ""); got != tc.wantBurst {
				t.Fatalf("after an hour's rest admitted %d at once, want %d", got, tc.wantBurst)
			}
		})
	}
}

// TestScopes checks which quota refuses a request, what each scope
// counts, and that a refused request uses up no quota.
func TestScopes(t *testing.T) {
	type step struct {
		op        throttle.Op
		account   string
		snapshot  string
		n         int // requests
		wantOK    int
		wantScope throttle.Scope // of the refusals
	}
	put, get := throttle.PutSnapshotBlock, throttle.GetSnapshotBlock
	tests := []struct {
		name    string
		account throttle.Limit
		snap    throttle.Limit
		steps   []step
	}{
		{"SnapshotQuotaIsPerSnapshot", throttle.Limit{}, throttle.Limit{Rate: 1, Burst: 2}, []step{
			{put, "a", "snap-1", 3, 2, throttle.Snapshot},
			{put, "a", "snap-2", 3, 2, throttle.Snapshot},
		}},
		{"SnapshotQuotaIsPerAccount", throttle.Limit{}, throttle.Limit{Rate: 1, Burst: 2}, []step{
			{put, "a", "snap-1", 3, 2, throttle.Snapshot},
			{put, "b", "snap-1", 3, 2, throttle.Snapshot},
		}},
		{"AccountQuotaSpansSnapshots", throttle.Limit{Rate: 1, Burst: 3}, throttle.Limit{Rate: 1, Burst: 2}, []step{
			{put, "a", "snap-1", 2, 2, 0},
			{put, "a", "snap-2", 2, 1, throttle.Account},
			{put, "b", "snap-2", 2, 2, 0},
		}},
		{"SnapshotAskedFirst", throttle.Limit{Rate: 1, Burst: 2}, throttle.Limit{Rate: 1, Burst: 2}, []step{
			{put, "a", "snap-1", 4, 2, throttle.Snapshot},
		}},
		// snap-2's token, taken before the account refused, is given
		// back: once the account recovers, snap-2 still has two.
		{"RefusedByAccountCostsNoSnapshotToken", throttle.Limit{Rate: 1, Burst: 1}, throttle.Limit{Rate: 0.001, Burst: 2}, []step{
			{put, "a", "snap-1", 1, 1, 0},
			{put, "a", "snap-2", 5, 0, throttle.Account},
		}},
		{"OperationsAreSeparate", throttle.Limit{Rate: 1, Burst: 1}, throttle.Limit{}, []step{
			{put, "a", "snap-1", 2, 1, throttle.Account},
			{get, "a", "snap-1", 2, 2, 0},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{}
			l := throttle.New(quotas(t, put, tc.account, tc.snap), c.Now)
			for i, s := range tc.steps {
				ok := 0
				for range s.n {
					scope, yes := l.Allow(s.op, s.account, s.snapshot)
					if yes {
						ok++
					} else if scope != s.wantScope {
						t.Fatalf("step %d: refused by the %v quota, want %v", i, scope, s.wantScope)
					}
				}
				if ok != s.wantOK {
					t.Fatalf("step %d (%v %s %s): admitted %d of %d, want %d", i, s.op, s.account, s.snapshot, ok, s.n, s.wantOK)
				}
			}
		})
	}

	t.Run("RefundedTokenIsThere", func(t *testing.T) {
		c := &clock{}
		l := throttle.New(quotas(t, put, throttle.Limit{Rate: 1, Burst: 1}, throttle.Limit{Rate: 0.001, Burst: 2}), c.Now)
		admitted(l, 1, put, "a", "snap-1") // uses the account's only token
		admitted(l, 5, put, "a", "snap-2") // refused by the account, refunded
		for range 2 {
			c.Advance(time.Second)
			if got := admitted(l, 1, put, "a", "snap-2"); got != 1 {
				t.Fatal("snap-2 lost tokens to requests the account quota refused")
			}
		}
		c.Advance(time.Second)
		if _, ok := l.Allow(put, "a", "snap-2"); ok {
			t.Fatal("snap-2 admitted a third request with a burst of 2 and a rate of 1/1000 s")
		}
	})
}

// TestNoQuota: an operation without limits is admitted without creating
// any bucket.
func TestNoQuota(t *testing.T) {
	l := throttle.New(throttle.Quotas{}, nil)
	for op := throttle.StartSnapshot; op <= throttle.ListChangedBlocks; op++ {
		if got := admitted(l, 10_000, op, "a", "snap-1"); got != 10_000 {
			t.Errorf("%v: admitted %d of 10000 without quotas", op, got)
		}
	}
	if l.Len() != 0 {
		t.Errorf("%d buckets without quotas", l.Len())
	}
}

// TestEviction: buckets that have refilled are dropped, so memory stays
// bounded however many snapshots are touched, and dropping one changes
// nothing a client can see.
func TestEviction(t *testing.T) {
	c := &clock{}
	op := throttle.PutSnapshotBlock
	l := throttle.New(quotas(t, op, throttle.Limit{}, throttle.Limit{Rate: 1000, Burst: 2}), c.Now)
	peak := 0
	for i := range 20_000 {
		if _, ok := l.Allow(op, "a", fmt.Sprintf("snap-%d", i)); !ok {
			t.Fatalf("a new snapshot's first request was refused")
		}
		c.Advance(100 * time.Microsecond) // 10,000 snapshots a second, each refilled after 1 ms
		peak = max(peak, l.Len())
	}
	// Each shard sweeps when it doubles, and then holds only the ~10
	// buckets used in the last millisecond: 32 shards of at most 64.
	if peak > 32*64 {
		t.Errorf("bucket table peaked at %d buckets for 20000 snapshots touched once", peak)
	}

	// A bucket in debt is never dropped: snap-busy stays refused while
	// thousands of other buckets come and go.
	c.Advance(time.Second)
	admitted(l, 2, op, "a", "snap-busy")
	for i := range 10_000 {
		l.Allow(op, "b", fmt.Sprintf("other-%d", i))
	}
	if _, ok := l.Allow(op, "a", "snap-busy"); ok {
		t.Fatal("a bucket in debt was dropped by a sweep")
	}
}

// TestConcurrent hammers one bucket from many goroutines, while others
// churn buckets so that sweeps run meanwhile: exactly burst +
// elapsed*rate requests may pass, however the compare-and-swaps interleave.
func TestConcurrent(t *testing.T) {
	c := &clock{}
	op := throttle.PutSnapshotBlock
	l := throttle.New(quotas(t, op, throttle.Limit{}, throttle.Limit{Rate: 100_000, Burst: 2000}), c.Now)
	var ok atomic.Int64
	const rounds, perRound = 20, 1000 // 1000 tokens a round, 4000 asks
	for round := range rounds {
		var wg sync.WaitGroup
		start := make(chan struct{}) // so that the goroutines really overlap
		for g := range 4 {
			wg.Add(2)
			go func() {
				defer wg.Done()
				<-start
				for range perRound {
					if _, yes := l.Allow(op, "a", "snap-hot"); yes {
						ok.Add(1)
					}
				}
			}()
			go func() {
				defer wg.Done()
				<-start
				for i := range perRound / 10 {
					l.Allow(op, "a", fmt.Sprintf("cold-%d-%d-%d", round, g, i))
				}
			}()
		}
		close(start)
		wg.Wait()
		c.Advance(10 * time.Millisecond) // 1000 requests' worth
	}
	if got, want := ok.Load(), int64(2000+(rounds-1)*1000); got != want {
		t.Fatalf("admitted %d requests to snap-hot, want exactly %d", got, want)
	}
}
