package s3blocks

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ebsd/ebsd/internal/pack"
	"github.com/ebsd/ebsd/internal/store"
)

// armTimeout bounds Arm's one index statement: Arm has no context.
const armTimeout = time.Minute

// sweepBatch is how many candidates one conditional DELETE carries.
const sweepBatch = 1024

// collectState is what Arm leaves for Sweep.
type collectState struct {
	mu     sync.Mutex
	arms   int
	fence  uint64 // the epoch the latest Arm advanced to
	armErr error  // why the latest Arm failed: Sweep refuses to run
	// run serializes Sweep and Compact on this node; the caller
	// guarantees one collection at a time across nodes (a lease).
	run sync.Mutex
}

// Arm implements store.Collectable. Touches are recorded in the shared
// index, not in this process: Arm advances the index's epoch, and every
// node's Puts that start afterwards touch, or index, their keys at that
// epoch or later, which Sweep keeps (see Index). So a Put on another node
// is protected like one on this node, and the drain of the collector is
// still what covers the writes that started before Arm. If the epoch
// cannot be advanced, Sweep returns that error and deletes nothing.
func (s *Store) Arm() (disarm func()) {
	ctx, cancel := context.WithTimeout(context.Background(), armTimeout)
	defer cancel()
	fence, err := s.index.Arm(ctx)
	s.gc.mu.Lock()
	s.gc.arms++
	s.gc.fence, s.gc.armErr = fence, err
	s.gc.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.gc.mu.Lock()
			s.gc.arms--
			s.gc.mu.Unlock()
		})
	}
}

var _ store.EpochSource = (*Store)(nil)

// Epoch implements store.EpochSource: the index's epoch, which every Put
// that starts afterwards touches or indexes its key at, or later (Index).
func (s *Store) Epoch(ctx context.Context) (uint64, error) {
	e, err := s.index.Epoch(ctx)
	if err != nil {
		return 0, fmt.Errorf("s3blocks: epoch: %w", err)
	}
	return e, nil
}

// armed returns the fence of the current arm.
func (s *Store) armed() (uint64, error) {
	s.gc.mu.Lock()
	defer s.gc.mu.Unlock()
	switch {
	case s.gc.arms == 0:
		return 0, errors.New("s3blocks: sweep: not armed")
	case s.gc.armErr != nil:
		return 0, fmt.Errorf("s3blocks: sweep: arm failed: %w", s.gc.armErr)
	}
	return s.gc.fence, nil
}

// entrySize is the bytes an entry takes in its group object.
func entrySize(loc Location) int64 { return pack.EntryHeaderSize + int64(loc.StoredLen) }

// Sweep implements store.Collectable: it scans the index and deletes each
// key that live does not hold and that was touched before the fence, by a
// conditional DELETE that a concurrent touch wins (docs/gc.md §9). It
// records each group's live bytes for Compact.
func (s *Store) Sweep(ctx context.Context, live store.LiveSet) (store.SweepReport, error) {
	var rep store.SweepReport
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return rep, fmt.Errorf("s3blocks: sweep: %w", store.ErrClosed)
	}
	fence, err := s.armed()
	if err != nil {
		return rep, err
	}
	s.gc.run.Lock()
	defer s.gc.run.Unlock()
	defer s.contents.invalidate()
	// Only groups sealed before the scan get live bytes: a group sealed
	// during it has rows behind the scan's cursor that it did not see.
	groups, err := s.index.Groups(ctx)
	if err != nil {
		return rep, fmt.Errorf("s3blocks: sweep: %w", err)
	}
	liveBytes := make(map[int64]int64)
	for _, g := range groups {
		rep.PackBytes += g.Size
		if g.State == GroupSealed {
			liveBytes[g.ID] = 0
		}
	}
	var cands []IndexEntry
	deleteCands := func() error {
		if len(cands) == 0 {
			return nil
		}
		deleted, err := s.index.DeleteUntouched(ctx, fence, cands)
		if err != nil {
			return err
		}
		gone := make(map[IndexEntry]bool, len(deleted))
		for _, e := range deleted {
			gone[e] = true
			rep.Swept++
			rep.SweptBytes += entrySize(e.Loc)
		}
		for _, e := range cands {
			if !gone[e] {
				rep.Kept++ // touched since the scan read it
				countLive(liveBytes, e.Loc, &rep)
			}
		}
		cands = cands[:0]
		return nil
	}
	err = s.index.Scan(ctx, func(r IndexRow) error {
		rep.Scanned++
		switch {
		case live.Has(r.Key):
			countLive(liveBytes, r.Loc, &rep)
		case r.Touched >= fence:
			rep.Kept++
			countLive(liveBytes, r.Loc, &rep)
		default:
			cands = append(cands, r.IndexEntry)
			if len(cands) >= sweepBatch {
				return deleteCands()
			}
		}
		return nil
	})
	if err == nil {
		err = deleteCands()
	}
	if err == nil {
		err = s.index.SetLiveBytes(ctx, liveBytes)
	}
	if err != nil {
		return rep, fmt.Errorf("s3blocks: sweep: %w", err)
	}
	return rep, nil
}

func countLive(live map[int64]int64, loc Location, rep *store.SweepReport) {
	n := entrySize(loc)
	rep.LiveBytes += n
	if _, ok := live[loc.Group]; ok {
		live[loc.Group] += n
	}
}
