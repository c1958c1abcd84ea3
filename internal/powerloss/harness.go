package powerloss

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// Config sets the size of a campaign. Zero values take the defaults.
type Config struct {
	CrashPoints int    // power cuts and process kills in all; default 200
	Cycles      int    // cuts per scenario before a fresh file system; default 4
	Workers     int    // concurrent uploaders; default 4
	Seed        uint64 // the campaign is reproducible from it, up to goroutine scheduling

	// MaxOps bounds how many acknowledgements a cycle's load makes before
	// its cut: the cut comes after a uniform [0, MaxOps) of them, and a
	// random instant (up to Jitter) later, so that it lands in the middle
	// of operations; default 60. Counting acknowledgements rather than
	// time keeps the work per cut the same on a slow machine or under the
	// race detector.
	MaxOps int
	// Jitter bounds the delay between the last counted acknowledgement and
	// the cut; default 2ms.
	Jitter time.Duration
	// RecoveryCutPercent is the chance that a boot is cut short, by a power
	// cut or a process kill, while recovery runs; default 25.
	RecoveryCutPercent int

	// Progress, when not nil, is called after every scenario.
	Progress func(Report)
}

func (c Config) withDefaults() Config {
	if c.CrashPoints <= 0 {
		c.CrashPoints = 200
	}
	if c.Cycles <= 0 {
		c.Cycles = 4
	}
	if c.Workers <= 0 {
		c.Workers = 4
	}
	if c.MaxOps <= 0 {
		c.MaxOps = 60
	}
	if c.Jitter <= 0 {
		c.Jitter = 2 * time.Millisecond
	}
	if c.RecoveryCutPercent == 0 {
		c.RecoveryCutPercent = 25
	}
	return c
}

// Report is what a campaign did and checked.
type Report struct {
	Scenarios     int
	CrashPoints   int // power cuts and process kills, during recovery included
	RecoveryCuts  int // power cuts that landed while recovery ran
	Kills         int // process kills (the page cache survives them)
	RecoveryKills int // process kills while recovery ran
	Snapshots     map[string]int
	BlocksChecked int // acknowledged blocks read back, counted once per check
	Elapsed       time.Duration
}

func (r Report) String() string {
	return fmt.Sprintf("%d crash points: %d power cuts (%d during recovery) and %d process kills (%d during recovery), in %d scenarios; %d acknowledged block reads verified; snapshots checked by state %v; %v",
		r.CrashPoints, r.CrashPoints-r.Kills-r.RecoveryKills, r.RecoveryCuts, r.Kills+r.RecoveryKills, r.RecoveryKills,
		r.Scenarios, r.BlocksChecked, r.Snapshots, r.Elapsed.Round(time.Millisecond))
}

// Run runs a campaign and returns its report, with an error describing
// the first acknowledgement that did not survive a cut.
func Run(ctx context.Context, cfg Config) (Report, error) {
	cfg = cfg.withDefaults()
	h := &harness{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x5eed)), pool: newPool(24, cfg.Seed),
		rep: Report{Snapshots: make(map[string]int)}}
	start := time.Now()
	for h.rep.CrashPoints < cfg.CrashPoints {
		if err := h.scenario(ctx); err != nil {
			h.rep.Elapsed = time.Since(start)
			return h.rep, fmt.Errorf("scenario %d: %w", h.rep.Scenarios, err)
		}
		h.rep.Scenarios++
		h.rep.Elapsed = time.Since(start)
		if cfg.Progress != nil {
			cfg.Progress(h.rep)
		}
	}
	return h.rep, nil
}

type harness struct {
	cfg  Config
	rng  *rand.Rand
	pool *pool
	rep  Report
}

// newRand returns a generator of its own, for a goroutine.
func (h *harness) newRand() *rand.Rand { return rand.New(rand.NewPCG(h.rng.Uint64(), h.rng.Uint64())) }

// cutConfig draws how much of what was not synced survives a cut.
func (h *harness) cutConfig() vfs.CrashCloneCfg {
	pct := []int{0, 30, 70, 100}[h.rng.IntN(4)]
	return vfs.CrashCloneCfg{UnsyncedDataPercent: pct, RNG: h.newRand()}
}

// scenario runs cycles of boot, verify, load and cut on a fresh file
// system, and a last boot and verify.
func (h *harness) scenario(ctx context.Context) error {
	fs := vfs.NewCrashableMem()
	led := newLedger()
	var nextIdx atomic.Int32
	clk := &clock{t: time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)}
	for cycle := 0; ; cycle++ {
		in, booted, err := h.boot(ctx, fs, clk)
		if err != nil {
			return fmt.Errorf("cycle %d: %w", cycle, err)
		}
		fs = booted
		frozen := led.freeze()
		c, err := verify(ctx, in, frozen)
		if err != nil {
			in.close()
			return fmt.Errorf("cycle %d, after a power cut: %w", cycle, err)
		}
		h.rep.BlocksChecked += c.blocks
		for st, n := range c.snapshots {
			h.rep.Snapshots[st.String()] += n
		}
		if cycle == h.cfg.Cycles || h.rep.CrashPoints >= h.cfg.CrashPoints {
			return in.close()
		}
		clone, err := h.loadAndCut(ctx, in, fs, led, &nextIdx, clk)
		in.close() // its file system is no longer the one checked
		if err != nil {
			return fmt.Errorf("cycle %d: %w", cycle, err)
		}
		fs = clone
	}
}

// boot opens the stores on fs. Sometimes it cuts the power, or kills the
// process, while they recover, and boots again from what that left.
func (h *harness) boot(ctx context.Context, fs *vfs.MemFS, clk *clock) (*instance, *vfs.MemFS, error) {
	for {
		if h.rng.IntN(100) >= h.cfg.RecoveryCutPercent {
			in, err := open(ctx, fs, clk)
			return in, fs, err
		}
		delay := time.Duration(h.rng.Int64N(int64(4 * time.Millisecond)))
		power := h.rng.IntN(2) == 0
		cfg := h.cutConfig()
		started := make(chan *instance, 1)
		cut := make(chan *vfs.MemFS, 1)
		go func() {
			time.Sleep(delay)
			in := <-started // the process being booted, wherever it is
			if power {
				cut <- in.fs.cut(cfg)
				return
			}
			in.fs.kill()
			cut <- fs
		}()
		in, err := openKillable(ctx, fs, clk, started)
		clone := <-cut
		if err != nil && power {
			return nil, nil, fmt.Errorf("recovery: %w", err)
		}
		if in != nil {
			in.close()
		}
		if power {
			h.rep.RecoveryCuts++
		} else {
			h.rep.RecoveryKills++
		}
		h.rep.CrashPoints++
		fs = clone
	}
}

// loadAndCut runs the workload and the sweeper on in, cuts the power or
// kills the process at a random instant, and returns what that left. The
// ledger is rolled back to what it held at that instant: what the service
// acknowledged later may or may not have survived.
func (h *harness) loadAndCut(ctx context.Context, in *instance, fs *vfs.MemFS, led *ledger, nextIdx *atomic.Int32, clk *clock) (*vfs.MemFS, error) {
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
	for w := range h.cfg.Workers {
		wl := &workload{svc: in.svc, ledger: led, pool: h.pool, nextIdx: nextIdx, rng: h.newRand(),
			account: fmt.Sprintf("1000000000%02d", w%2)}
		wg.Go(func() {
			if err := wl.run(loadCtx); err != nil {
				fail(err)
			}
		})
	}
	wg.Go(func() {
		for loadCtx.Err() == nil {
			time.Sleep(time.Millisecond)
			clk.advance(3 * time.Minute)
			if err := in.svc.Sweep(loadCtx); err != nil && loadCtx.Err() == nil {
				fail(fmt.Errorf("sweep: %w", err))
			}
		}
	})

	target := led.acknowledged() + h.rng.IntN(h.cfg.MaxOps)
	for deadline := time.Now().Add(10 * time.Second); led.acknowledged() < target && time.Now().Before(deadline); {
		time.Sleep(100 * time.Microsecond)
	}
	time.Sleep(time.Duration(h.rng.Int64N(int64(h.cfg.Jitter))))
	power := h.rng.IntN(2) == 0
	cfg := h.cutConfig()
	cutMu.Lock()
	isCut = true
	err := failed
	cutMu.Unlock()
	frozen := led.freeze()
	clone := fs
	if power {
		clone = in.fs.cut(cfg)
	} else {
		in.fs.kill()
		h.rep.Kills++
	}
	h.rep.CrashPoints++
	stop()
	wg.Wait()
	led.restore(frozen)
	if err != nil {
		return nil, fmt.Errorf("before the cut: %w", err)
	}
	return clone, nil
}
