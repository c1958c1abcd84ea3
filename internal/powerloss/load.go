package powerloss

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// loadAndCut runs the workload, the sweeper and back-to-back collections
// on in, then cuts the power or kills the process at a random instant
// (half the time aimed at a collection in progress), and returns what that
// left. The ledger is rolled back to what it held at that instant: what
// the service acknowledged later may or may not have survived.
func (h *harness) loadAndCut(ctx context.Context, in *instance, sc *scene) (*vfs.MemFS, error) {
	loadCtx, stop := context.WithCancel(ctx)
	defer stop()
	var (
		wg     sync.WaitGroup
		cutMu  sync.Mutex
		isCut  bool
		failed error
	)
	fail := func(err error) {
		cutMu.Lock()
		defer cutMu.Unlock()
		if !isCut && failed == nil {
			failed = err
		}
	}
	g := newGCState()
	for w := range h.cfg.Workers {
		wl := &workload{svc: in.svc, meta: in.meta, ledger: sc.led, pool: h.pool, nextIdx: &sc.nextIdx,
			rng: h.newRand(), account: accounts[w%len(accounts)], clk: sc.clk, tokens: sc.tokens, tally: h.t, gc: g}
		wg.Go(func() {
			if err := wl.run(loadCtx); err != nil {
				fail(err)
			}
		})
	}
	wg.Go(func() {
		for loadCtx.Err() == nil {
			time.Sleep(time.Millisecond)
			sc.clk.advance(3 * time.Minute)
			// The sweep skips a snapshot purged after its scan found it
			// (timeout.go), and ScanSnapshots a record purged behind its
			// index (storetest ScanRacesPurge): no sweep error is forgiven.
			if err := in.svc.Sweep(loadCtx); err != nil && loadCtx.Err() == nil {
				fail(fmt.Errorf("sweep: %w", err))
			}
		}
	})
	rng := h.newRand()
	wg.Go(func() {
		if err := h.collectLoop(loadCtx, in, g, rng); err != nil {
			fail(err)
		}
	})
	wg.Go(func() {
		if err := h.verifyLoop(loadCtx, in, sc, g); err != nil {
			fail(err)
		}
	})

	target := sc.led.acknowledged() + h.rng.IntN(h.cfg.MaxOps)
	for deadline := time.Now().Add(10 * time.Second); sc.led.acknowledged() < target && time.Now().Before(deadline); {
		time.Sleep(100 * time.Microsecond)
	}
	if h.rng.IntN(2) == 0 {
		g.waitRunning(2 * time.Second)
		time.Sleep(h.gcDelay(loadCompactBytes))
	} else {
		time.Sleep(time.Duration(h.rng.Int64N(int64(h.cfg.Jitter))))
	}
	power := h.rng.IntN(2) == 0
	cfg := h.cutConfig()
	cutMu.Lock()
	isCut = true
	err := failed
	cutMu.Unlock()
	clone := sc.fs
	var midGC bool
	frozen := sc.led.freezeDuring(func() {
		midGC = g.isRunning()
		if power {
			clone = in.fs.cut(cfg)
		} else {
			in.fs.kill()
		}
	})
	h.t.add(func(r *Report) {
		r.CrashPoints++
		if !power {
			r.Kills++
		}
		if midGC {
			r.CollectionCuts++
		}
	})
	stop()
	wg.Wait()
	sc.led.restore(frozen)
	if err != nil {
		return nil, fmt.Errorf("before the cut: %w", err)
	}
	return clone, nil
}
