package powerloss

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/ebsd/ebsd/internal/keyring"
)

// Config sets the size of a campaign. Zero values take the defaults.
type Config struct {
	CrashPoints int    // power cuts and process kills in all; default 200
	Cycles      int    // cuts per scenario before a fresh file system; default 4
	Workers     int    // concurrent clients (uploads, deletes, copies, reads); default 4
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
	// Alphabet is how many different block contents most writes draw
	// from (the zero block included); default 24. Few, so that blocks
	// deduplicate across snapshots, accounts and crashes, and content
	// every holder left is soon written again (see pool).
	Alphabet int
	// ColdPercent is the share of writes that draw from 65536 other
	// contents instead, so that they are held by one lineage only and die
	// with it; default 30, and negative for none.
	ColdPercent int

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
	if c.Alphabet <= 0 {
		c.Alphabet = 24
	}
	if c.ColdPercent == 0 {
		c.ColdPercent = 30
	}
	return c
}

// Run runs a campaign and returns its report, with an error describing
// the first acknowledgement that did not survive a cut or a collection.
func Run(ctx context.Context, cfg Config) (Report, error) {
	cfg = cfg.withDefaults()
	keys, removeKeys, err := openKeys()
	if err != nil {
		return Report{}, err
	}
	defer removeKeys()
	h := &harness{
		cfg:    cfg,
		rng:    rand.New(rand.NewPCG(cfg.Seed, 0x5eed)),
		pool:   newPool(cfg.Alphabet, coldContents, cfg.ColdPercent, cfg.Seed),
		keys:   keys,
		t:      &tally{r: Report{Snapshots: make(map[string]int)}},
		gcTime: [2]time.Duration{20 * time.Millisecond, 5 * time.Millisecond}, // until measured
	}
	start := time.Now()
	for h.crashPoints() < cfg.CrashPoints {
		err := h.scenario(ctx)
		h.t.add(func(r *Report) {
			r.Elapsed = time.Since(start)
			if err == nil {
				r.Scenarios++
			}
		})
		if err != nil {
			rep := h.t.report()
			return rep, fmt.Errorf("scenario %d: %w", rep.Scenarios, err)
		}
		if cfg.Progress != nil {
			cfg.Progress(h.t.report())
		}
	}
	return h.t.report(), nil
}

type harness struct {
	cfg  Config
	rng  *rand.Rand // the main goroutine's; newRand gives others theirs
	pool *pool
	keys *keyring.Keyring
	t    *tally
	// gcTime is how long a collection takes, averaged, by kindOf: a cut
	// aimed at a collection lands within that much of its start.
	gcMu   sync.Mutex
	gcTime [2]time.Duration
}

// scene is the state of one scenario, carried from cycle to cycle.
type scene struct {
	fs      *vfs.MemFS // what the last cut left
	led     *ledger
	nextIdx atomic.Int32 // fresh block indexes
	clk     *clock
	tokens  *tokenBook
}

// newRand returns a generator of its own, for a goroutine.
func (h *harness) newRand() *rand.Rand { return rand.New(rand.NewPCG(h.rng.Uint64(), h.rng.Uint64())) }

func (h *harness) crashPoints() int { return h.t.report().CrashPoints }

// cutConfig draws how much of what was not synced survives a cut.
func (h *harness) cutConfig() vfs.CrashCloneCfg {
	pct := []int{0, 30, 70, 100}[h.rng.IntN(4)]
	return vfs.CrashCloneCfg{UnsyncedDataPercent: pct, RNG: h.newRand()}
}

// scenario runs cycles on a fresh file system: boot (perhaps cut short
// while recovering), verify, perhaps a collection on its own (perhaps cut
// short), then the load with collections running, cut at a random
// instant. The last cycle ends by deleting everything and checking that
// collections give all the space back.
func (h *harness) scenario(ctx context.Context) error {
	sc := &scene{fs: vfs.NewCrashableMem(), led: newLedger(), tokens: newTokenBook(),
		clk: &clock{t: time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)}}
	for cycle := 0; ; cycle++ {
		in, err := h.boot(ctx, sc)
		if err != nil {
			return fmt.Errorf("cycle %d: %w", cycle, err)
		}
		if err := h.verify(ctx, in, sc); err != nil {
			in.close()
			return fmt.Errorf("cycle %d, after a boot: %w", cycle, err)
		}
		if cycle == h.cfg.Cycles || h.crashPoints() >= h.cfg.CrashPoints {
			if err := h.reclaim(ctx, in, sc); err != nil {
				return fmt.Errorf("cycle %d, deleting everything: %w", cycle, err)
			}
			return nil
		}
		var clone *vfs.MemFS
		if h.rng.IntN(2) == 0 {
			clone, err = h.quietCollection(ctx, in, sc)
		}
		if err == nil && clone == nil {
			clone, err = h.loadAndCut(ctx, in, sc)
		}
		in.close() // its file system is no longer the one checked
		if err != nil {
			return fmt.Errorf("cycle %d: %w", cycle, err)
		}
		sc.fs = clone
	}
}

// verify checks every acknowledgement against in, which runs no load.
func (h *harness) verify(ctx context.Context, in *instance, sc *scene) error {
	c, err := verify(ctx, in, sc.led.freeze(), sc.clk, sc.tokens)
	h.t.add(func(r *Report) {
		r.BlocksChecked += c.blocks
		for st, n := range c.snapshots {
			r.Snapshots[st.String()] += n
		}
		if err == nil {
			r.Verifications++
		}
	})
	return err
}

// boot opens the stores on sc.fs. Sometimes it cuts the power, or kills
// the process, while they recover, and boots again from what that left.
func (h *harness) boot(ctx context.Context, sc *scene) (*instance, error) {
	for {
		if h.rng.IntN(100) >= h.cfg.RecoveryCutPercent {
			return open(ctx, sc.fs, sc.clk, h.keys)
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
			cut <- sc.fs
		}()
		in, err := openKillable(ctx, sc.fs, sc.clk, h.keys, started)
		clone := <-cut
		if err != nil && power {
			return nil, fmt.Errorf("recovery: %w", err)
		}
		if in != nil {
			in.close()
		}
		h.t.add(func(r *Report) {
			if power {
				r.RecoveryCuts++
			} else {
				r.RecoveryKills++
			}
			r.CrashPoints++
		})
		sc.fs = clone
	}
}
