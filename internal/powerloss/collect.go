package powerloss

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/ebsd/ebsd/internal/gc"
)

// collectTimeout bounds one collection, which takes milliseconds here: a
// collection stuck in a loop fails the campaign instead of hanging it.
const collectTimeout = time.Minute

// loadCompactBytes bounds what one collection during the load copies, so
// that collections follow one another (and the deletes that kick them)
// closely; a collection on its own copies all it chooses.
const loadCompactBytes = 4 << 20

// collect runs one garbage collection on in, as the server's collector
// does: over both stores, draining the service's block writes. Half the
// collections compact every pack with any garbage (MinLive 1), so that
// compaction, the riskiest step, always has work; maxCompact bounds the
// live bytes it copies (0: no bound).
func (h *harness) collect(ctx context.Context, in *instance, rng *rand.Rand, maxCompact int64) (gc.Report, error) {
	ctx, cancel := context.WithTimeout(ctx, collectTimeout)
	defer cancel()
	minLive := 0.5
	if rng.IntN(2) == 0 {
		minLive = 1
	}
	c, err := gc.New(gc.Options{Meta: in.meta, Blocks: in.blocks, Drain: in.svc.DrainWrites,
		MinLive: minLive, MaxCompactBytes: maxCompact, Logger: quiet})
	if err != nil {
		return gc.Report{}, err
	}
	rep, err := c.Collect(ctx)
	if err != nil {
		return rep, err
	}
	h.gcMu.Lock()
	t := &h.gcTime[kindOf(maxCompact)]
	*t = (3**t + rep.Duration) / 4
	h.gcMu.Unlock()
	h.t.add(func(r *Report) {
		r.Collections++
		r.CollectTime += rep.Duration
		r.Purged += rep.Purged
		r.KeysSwept += rep.Sweep.Swept
		r.KeysKept += rep.Sweep.Kept
		r.PacksCompacted += rep.Compact.PacksCompacted
		r.BytesReclaimed += rep.Compact.BytesReclaimed
	})
	return rep, nil
}

// kindOf tells collections with a bound on compaction (the load's) from
// those without, which take longer.
func kindOf(maxCompact int64) int {
	if maxCompact > 0 {
		return 1
	}
	return 0
}

// gcDelay draws how long after a collection's start to cut: anywhere in
// it, going by how long collections of its kind take.
func (h *harness) gcDelay(maxCompact int64) time.Duration {
	h.gcMu.Lock()
	d := h.gcTime[kindOf(maxCompact)] * 5 / 4
	h.gcMu.Unlock()
	return time.Duration(h.rng.Int64N(int64(d) + 1))
}

// gcState is what the load's collector shares: whether a collection runs
// (for the cutter), a kick to start the next one at once (a worker that
// just deleted something), and a signal that one ended (for the
// verifier).
type gcState struct {
	mu      sync.Mutex
	running bool
	kickc   chan struct{}
	ended   chan struct{}
}

func newGCState() *gcState {
	return &gcState{kickc: make(chan struct{}, 1), ended: make(chan struct{}, 1)}
}

func (g *gcState) set(running bool) {
	g.mu.Lock()
	g.running = running
	g.mu.Unlock()
}

func (g *gcState) isRunning() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.running
}

// kick asks for a collection now; nil-safe, for workers with no collector.
func (g *gcState) kick() {
	if g == nil {
		return
	}
	select {
	case g.kickc <- struct{}{}:
	default:
	}
}

// waitRunning returns once a collection runs, or after timeout.
func (g *gcState) waitRunning(timeout time.Duration) {
	for deadline := time.Now().Add(timeout); !g.isRunning() && time.Now().Before(deadline); {
		time.Sleep(50 * time.Microsecond)
	}
}

// collectPause bounds the pause between two collections of the load.
// Idle between them, the collector starts one as soon as a delete kicks
// it, while what the delete left is still being read (a re-seal copy's
// job, a read in flight).
const collectPause = 10 * time.Millisecond

// collectLoop collects while the load runs: after a pause of up to
// collectPause, or at once when a worker kicks it.
func (h *harness) collectLoop(ctx context.Context, in *instance, g *gcState, rng *rand.Rand) error {
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
			return nil
		case <-g.kickc:
		case <-time.After(time.Duration(rng.Int64N(int64(collectPause)))):
		}
		g.set(true)
		_, err := h.collect(ctx, in, rng, loadCompactBytes)
		g.set(false)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("collection: %w", err)
		}
		select {
		case g.ended <- struct{}{}:
		default:
		}
	}
	return nil
}

// verifyLoop follows the collections while the load runs: once one ends,
// it reads every readable snapshot back and checks that every deleted one
// is gone. Each pass starts after the collection that triggered it, and
// covers those that end while it runs by the next pass; the collections
// meanwhile run on, so reads meet compactions.
func (h *harness) verifyLoop(ctx context.Context, in *instance, sc *scene, g *gcState) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-g.ended:
		}
		ids, frozen := sc.led.readables(nil, "")
		n, err := verifyViews(ctx, in.svc, sc.led, ids, frozen, sc.tokens, sc.clk)
		if err == nil {
			err = verifyAllDeleted(ctx, in.svc, frozen, sc.tokens)
		}
		h.t.add(func(r *Report) { r.BlocksChecked += n })
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("after a collection during the load: %w", err)
		}
	}
}

// quietCollection runs one collection with no load. A third of the time
// it cuts the power or kills the process in the middle of it and returns
// what that left; otherwise it verifies everything again, and returns nil.
func (h *harness) quietCollection(ctx context.Context, in *instance, sc *scene) (*vfs.MemFS, error) {
	rng := h.newRand()
	if h.rng.IntN(3) != 0 {
		if _, err := h.collect(ctx, in, rng, 0); err != nil {
			return nil, fmt.Errorf("collection: %w", err)
		}
		if err := h.verify(ctx, in, sc); err != nil {
			return nil, fmt.Errorf("after a collection: %w", err)
		}
		return nil, nil
	}
	power := h.rng.IntN(2) == 0
	cfg := h.cutConfig()
	delay := h.gcDelay(0)
	g := &gcState{running: true}
	done := make(chan error, 1)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		_, err := h.collect(cctx, in, rng, 0)
		g.set(false)
		done <- err
	}()
	time.Sleep(delay)
	midGC := g.isRunning()
	clone := sc.fs
	if power {
		clone = in.fs.cut(cfg)
	} else {
		in.fs.kill()
	}
	h.t.add(func(r *Report) {
		r.CrashPoints++
		if !power {
			r.Kills++
		}
		if midGC {
			r.CollectionCuts++
		}
	})
	if err := <-done; err != nil && !midGC {
		return nil, fmt.Errorf("collection before the cut: %w", err)
	}
	return clone, nil
}
