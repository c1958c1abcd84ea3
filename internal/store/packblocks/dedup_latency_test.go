package packblocks_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store/packblocks"
)

// TestDedupLatency measures, under the same load of concurrent writers, the
// median latency of Puts of new blocks and of blocks already stored (dedup
// hits), on the real file system. Stored blocks are shared across accounts,
// so a dedup hit that returned faster would tell any account whether some
// account stored a given block: the hit must wait for a group sync like a
// write does, and on an idle store, where a group of dedup hits alone has
// no data to sync, as long as a recent sync of data took (see doc.go,
// Timing).
func TestDedupLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("measures fdatasync latencies")
	}
	s := mustOpen(t, packblocks.Options{Dir: t.TempDir()})
	ctx := t.Context()
	block := func(seed uint64) (ebs.Digest, []byte) {
		data := make([]byte, ebs.BlockSize)
		for i := range 8 {
			data[i] = byte(seed >> (8 * i))
		}
		return ebs.Sum(data), data
	}
	const stored = 16
	for i := range uint64(stored) {
		key, data := block(i)
		if err := s.Put(ctx, key, data); err != nil {
			t.Fatal(err)
		}
	}
	seq := uint64(1 << 32)
	measure := func(samples int) (fresh, dedup time.Duration) {
		var f, d []time.Duration
		for i := range samples {
			seq++
			for _, k := range []uint64{seq, uint64(i % stored)} {
				key, data := block(k)
				start := time.Now()
				if err := s.Put(ctx, key, data); err != nil {
					t.Fatal(err)
				}
				if k == seq {
					f = append(f, time.Since(start))
				} else {
					d = append(d, time.Since(start))
				}
			}
		}
		return median(f), median(d)
	}

	idleFresh, idleDedup := measure(15)

	loadCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for w := range uint64(4) {
		wg.Go(func() {
			for i := uint64(0); loadCtx.Err() == nil; i++ {
				key, data := block(w<<40 | 1<<48 | i)
				if err := s.Put(loadCtx, key, data); err != nil && loadCtx.Err() == nil {
					t.Errorf("load Put: %v", err)
					return
				}
			}
		})
	}
	fresh, dedup := measure(30)
	stop()
	wg.Wait()

	t.Logf("p50 under a load of 4 writers: new block %v, dedup hit %v; idle store: new block %v, dedup hit %v",
		fresh, dedup, idleFresh, idleDedup)
	if dedup < fresh/3 {
		t.Errorf("under load a dedup hit takes %v at the median, a new block %v: the hit is told apart", dedup, fresh)
	}
	if idleDedup < idleFresh/3 {
		t.Errorf("on an idle store a dedup hit takes %v at the median, a new block %v: the hit is told apart", idleDedup, idleFresh)
	}
}

func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}
