package packblocks

import (
	"context"
	"time"
)

// busyWindow is how long after an append the store counts as serving
// writes, for compaction's pacing: long enough to span the gaps between
// the groups of a steady upload, short enough that compaction gets the
// disk back soon after the upload stops.
const busyWindow = 250 * time.Millisecond

// writeBehind is how many bytes compaction writes to its output pack
// between two requests to start their writeback (docs/gc.md §6.1, C3).
// Without them the output's dirty pages pile up to the size of a pack
// and go to the disk at C4's fsync all at once, while Puts' fdatasyncs
// queue behind them for seconds.
const writeBehind = 8 << 20

// paceCredit is how far behind its budget compaction's pacing may fall
// and catch up without sleeping.
const paceCredit = 50 * time.Millisecond

// pacer spaces compaction's copying at rate bytes per second while Puts
// run (docs/gc.md §4 "Pacing"), and lets it run at the disk's speed when
// none do: a collection must not halve an upload's throughput, nor take
// hours on an idle server. It is a token bucket with a small burst
// (paceCredit): each copied byte is due 1/rate seconds after the one
// before, and a pause in the store's writes forgives what was due.
type pacer struct {
	rate int64       // bytes per second while busy; 0 or less: unpaced
	busy func() bool // whether Puts are running
	due  time.Time   // when the bytes paced so far are done
	// slept and paced are what pacing did, and total every byte it was
	// told of, busy or not, for the compaction's log line.
	slept time.Duration
	paced int64
	total int64
	// sleep is time.Sleep under a context; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
	now   func() time.Time
}

func newPacer(rate int64, busy func() bool) *pacer {
	return &pacer{rate: rate, busy: busy, sleep: sleepCtx, now: time.Now}
}

// pace accounts for n bytes read or written by compaction and waits, while
// the store is busy, until they are due. It waits in steps of at least a
// millisecond, so that a fast disk does not turn pacing into a timer storm.
func (p *pacer) pace(ctx context.Context, n int64) error {
	if p == nil {
		return nil
	}
	p.total += n
	if p.rate <= 0 {
		return nil
	}
	now := p.now()
	if !p.busy() {
		p.due = now
		return nil
	}
	// The time the copying itself took counts toward its budget, up to
	// paceCredit: a copy slowed by the disk is not slowed further, and
	// does not make up for it later with a burst.
	if earliest := now.Add(-paceCredit); p.due.Before(earliest) {
		p.due = earliest
	}
	p.due = p.due.Add(time.Duration(n * int64(time.Second) / p.rate))
	p.paced += n
	if wait := p.due.Sub(now); wait >= time.Millisecond {
		p.slept += wait
		return p.sleep(ctx, wait)
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// noteAppend records that a Put is appending now, for busy.
func (s *Store) noteAppend(now time.Time) { s.lastAppend.Store(now.UnixNano()) }

// writesRunning reports whether a Put is in progress or appended within
// busyWindow. A Put waiting for its group's fdatasync counts: when
// compaction slows the disk, every uploader may be waiting at once, and
// judging by appends alone would then unpace compaction exactly when it
// hurts most (seen: uploads at 0.62 of their rate, compaction mostly
// unpaced).
func (s *Store) writesRunning() bool {
	return s.putsActive.Load() > 0 || time.Since(time.Unix(0, s.lastAppend.Load())) < busyWindow
}
