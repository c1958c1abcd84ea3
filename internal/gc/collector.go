package gc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
)

// ErrRunning is returned by Collect while another collection runs.
var ErrRunning = errors.New("gc: a collection is already running")

// Options configure a Collector.
type Options struct {
	Meta   store.MetaCollector // required
	Blocks store.Collectable   // required
	// Drain waits out the block writes in flight (the service's
	// DrainWrites); nil when there are none, as offline.
	Drain func(context.Context) error
	// MinLive is the live fraction below which a pack is compacted; 0
	// means 0.5. MaxCompactBytes bounds the live bytes one collection
	// copies; 0 means no bound.
	MinLive         float64
	MaxCompactBytes int64
	// CompactRate bounds compaction's bytes per second while blocks are
	// written (store.CompactOptions.Rate); 0 means no bound.
	CompactRate int64
	Logger      *slog.Logger          // nil discards
	Registerer  prometheus.Registerer // nil registers nothing
}

// Report is what one collection did.
type Report struct {
	Snapshots   int    // records in the view
	Roots       int    // snapshots whose mappings were kept
	LiveKeys    int64  // distinct keys marked live
	Purged      int    // tombstones and failed snapshots purged
	Fence       uint64 // the epoch other processes' writes were fenced at; 0 when the stores are this process's
	Sweep       store.SweepReport
	Compact     store.CompactReport
	Duration    time.Duration
	MarkTime    time.Duration
	SweepTime   time.Duration
	CompactTime time.Duration

	// UniqueBytes is, per account, the distinct non-zero keys its root
	// snapshots map × the block size: what it stores, a block shared
	// with another account counted for both (docs/gc.md §11).
	UniqueBytes map[string]int64
}

// Collector collects garbage, one collection at a time.
type Collector struct {
	opts    Options
	log     *slog.Logger
	metrics *metrics
	mu      sync.Mutex // held by a collection
}

// New returns a Collector.
func New(opts Options) (*Collector, error) {
	if opts.Meta == nil || opts.Blocks == nil {
		return nil, errors.New("gc: New needs a MetaCollector and a Collectable block store")
	}
	if opts.MinLive == 0 {
		opts.MinLive = 0.5
	}
	c := &Collector{opts: opts, log: opts.Logger}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	c.metrics = m
	return c, nil
}

// Collect runs one collection (docs/gc.md §4): arm the block store, drain
// the writes in flight, mark from a consistent view, purge what nothing
// needs, sweep, compact. It returns ErrRunning when a collection runs.
func (c *Collector) Collect(ctx context.Context) (Report, error) {
	if !c.mu.TryLock() {
		return Report{}, ErrRunning
	}
	defer c.mu.Unlock()
	ctx, release, err := c.lease(ctx)
	if err != nil {
		return Report{}, err
	}
	defer release()
	start := time.Now()
	rep, err := c.collect(ctx)
	rep.Duration = time.Since(start)
	c.metrics.observe(rep, err)
	if err != nil {
		c.log.ErrorContext(ctx, "garbage collection failed", "err", err, "duration", rep.Duration)
		return rep, err
	}
	c.log.InfoContext(ctx, "garbage collection done",
		"fence", rep.Fence, "snapshots", rep.Snapshots, "roots", rep.Roots, "live_keys", rep.LiveKeys, "purged", rep.Purged,
		"swept_keys", rep.Sweep.Swept, "swept_bytes", rep.Sweep.SweptBytes,
		"packs_compacted", rep.Compact.PacksCompacted, "packs_removed", rep.Compact.PacksRemoved,
		"bytes_copied", rep.Compact.BytesCopied, "bytes_reclaimed", rep.Compact.BytesReclaimed,
		"duration", rep.Duration)
	return rep, nil
}

func (c *Collector) collect(ctx context.Context) (Report, error) {
	var rep Report
	// Arm before the drain: a write that enters after the drain began
	// must find its touches recorded (write_gate.go in package snapshot).
	// Then fence out other processes' writes (fence.go), and only then
	// take the view to mark from.
	disarm := c.opts.Blocks.Arm()
	defer disarm()
	if c.opts.Drain != nil {
		if err := c.opts.Drain(ctx); err != nil {
			return rep, fmt.Errorf("drain block writes: %w", err)
		}
	}
	var err error
	if rep.Fence, err = c.fence(ctx); err != nil {
		return rep, err
	}

	t := time.Now()
	live, purge, err := c.mark(ctx, &rep)
	rep.MarkTime = time.Since(t)
	if err != nil {
		return rep, err
	}
	for _, id := range purge {
		if err := c.opts.Meta.PurgeSnapshot(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
			return rep, fmt.Errorf("purge %s: %w", id, err)
		}
		rep.Purged++
	}

	t = time.Now()
	if rep.Sweep, err = c.opts.Blocks.Sweep(ctx, live); err != nil {
		return rep, fmt.Errorf("sweep: %w", err)
	}
	rep.SweepTime = time.Since(t)
	t = time.Now()
	rep.Compact, err = c.opts.Blocks.Compact(ctx, store.CompactOptions{MinLive: c.opts.MinLive, MaxBytes: c.opts.MaxCompactBytes, Rate: c.opts.CompactRate})
	rep.CompactTime = time.Since(t)
	if err != nil {
		return rep, fmt.Errorf("compact: %w", err)
	}
	return rep, nil
}

// mark reads one consistent view of the metadata and returns the live keys
// and the snapshots to purge.
func (c *Collector) mark(ctx context.Context, rep *Report) (liveSet, []string, error) {
	view, err := c.opts.Meta.MarkView(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("mark view: %w", err)
	}
	defer view.Close()
	recs := make(map[string]store.Snapshot)
	err = view.Snapshots(ctx, func(s store.Snapshot) (bool, error) {
		recs[s.ID] = s
		return true, nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("mark: read snapshots: %w", err)
	}
	roots := rootSet(recs)
	live := make(liveSet)
	unique := make(map[string]int64)
	// Account by account, so that a key's last account tells whether
	// this account counted it already.
	for n, acct := range byAccount(recs, roots) {
		for _, id := range acct.roots {
			err := view.OwnBlocks(ctx, id, 0, func(b store.IndexedRef) (bool, error) {
				if b.Ref.Digest == ebs.ZeroBlockDigest {
					return true, nil
				}
				if last, ok := live[b.Ref.Key]; !ok || last != int32(n) {
					live[b.Ref.Key] = int32(n)
					unique[acct.owner] += ebs.BlockSize
				}
				return true, nil
			})
			if err != nil {
				return nil, nil, fmt.Errorf("mark: blocks of %s: %w", id, err)
			}
		}
	}
	rep.Snapshots, rep.Roots, rep.LiveKeys = len(recs), len(roots), int64(len(live))
	rep.UniqueBytes = unique
	return live, purgeList(recs, roots), nil
}

// Measure marks without collecting: it reports what a collection's mark
// would find (snapshots, roots, live keys, each account's unique bytes) and
// changes nothing. ebsd usage runs it.
func (c *Collector) Measure(ctx context.Context) (Report, error) {
	var rep Report
	start := time.Now()
	_, _, err := c.mark(ctx, &rep)
	rep.MarkTime = time.Since(start)
	rep.Duration = rep.MarkTime
	return rep, err
}

// Run collects every interval until ctx is done, the first time after
// first. A failed collection is logged and retried at the next interval.
func (c *Collector) Run(ctx context.Context, first, interval time.Duration) {
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := c.Collect(ctx); errors.Is(err, ErrRunning) {
			c.log.InfoContext(ctx, "garbage collection skipped: one is already running")
		}
		t.Reset(interval)
	}
}
