package snapshot

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
)

// copyJobWorkers is how many blocks one copy job seals and stores at once:
// enough to fill a group commit of the block store.
const copyJobWorkers = 8

// copyJobPage is how many blocks of the source's view one step reads.
const copyJobPage = 256

// copyFailedMessage is the StateMessage of a copy whose source could not
// be read.
const copyFailedMessage = "Copy failed: a block of the source snapshot is missing or damaged"

// copyJobs tracks the copy jobs of a Service: at most one per copy, run
// by Run's goroutines, resumed after a restart by Sweep.
type copyJobs struct {
	kickc   chan string // copies to start now
	mu      sync.Mutex
	running map[string]bool
	wg      sync.WaitGroup
}

func (c *copyJobs) init() {
	c.kickc = make(chan string, 64)
	c.running = make(map[string]bool)
}

// kick asks Run to start the job of copy id; when Run is busy or absent,
// the next Sweep starts it.
func (c *copyJobs) kick(id string) {
	select {
	case c.kickc <- id:
	default:
	}
}

// start runs the job of copy id in a goroutine unless it runs already.
func (s *Service) startCopy(ctx context.Context, id string) {
	c := &s.copies
	c.mu.Lock()
	if c.running[id] {
		c.mu.Unlock()
		return
	}
	c.running[id] = true
	c.wg.Add(1)
	c.mu.Unlock()
	go func() {
		defer func() {
			c.mu.Lock()
			delete(c.running, id)
			c.mu.Unlock()
			c.wg.Done()
		}()
		ran, err := s.withLease(ctx, "copy/"+id, func(ctx context.Context) error {
			return s.runCopy(ctx, id)
		})
		if !ran && err == nil {
			s.log.DebugContext(ctx, "copy job runs on another node", "snapshot", id)
			return
		}
		if errors.Is(err, store.ErrNotFound) {
			s.log.InfoContext(ctx, "copy job stopped: the copy was deleted", "snapshot", id)
			return
		}
		if err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "copy job failed; the next sweep retries it", "snapshot", id, "err", err)
		}
	}()
}

// runCopy seals every block of the source's view into copy id and then
// completes it. It is idempotent: a restarted job skips the blocks the copy
// already has. The source stays readable meanwhile even if deleted: the
// collector keeps what a copy in progress reads (docs/gc.md §3.3).
func (s *Service) runCopy(ctx context.Context, id string) error {
	rec, err := s.meta.GetSnapshot(ctx, id)
	if err != nil || rec.State != store.StateCopying {
		return err
	}
	src, err := s.meta.GetSnapshot(ctx, rec.CopySourceID)
	if err != nil {
		return fmt.Errorf("source %s: %w", rec.CopySourceID, err)
	}
	chain, err := s.chain(ctx, src)
	if err != nil {
		return err
	}
	var n int64
	for start := int32(0); ; {
		refs, err := s.meta.ViewBlocks(ctx, chain, start, copyJobPage)
		if err != nil {
			return err
		}
		if err := s.copyPage(ctx, rec, src, refs); err != nil {
			if errors.Is(err, store.ErrNotWritable) {
				return nil // the copy was deleted
			}
			if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrCorrupt) {
				return s.failCopy(ctx, id, err)
			}
			return err
		}
		n += int64(len(refs))
		if len(refs) < copyJobPage {
			break
		}
		start = refs[len(refs)-1].Index + 1
	}
	now := s.now()
	_, err = s.meta.UpdateSnapshot(ctx, id, func(r *store.Snapshot) error {
		if r.State != store.StateCopying {
			return errUnchanged
		}
		r.State, r.CompleteTime, r.FullBlocks = store.StateCompleted, now, n
		return nil
	})
	if errors.Is(err, errUnchanged) {
		return nil
	}
	if err == nil {
		s.log.InfoContext(ctx, "snapshot copy completed", "snapshot", id, "source", src.ID, "blocks", n)
	}
	return err
}

// copyPage seals and stores one page of the source's blocks into copy rec,
// skipping the indexes the copy already has.
func (s *Service) copyPage(ctx context.Context, rec, src store.Snapshot, refs []store.IndexedRef) error {
	if len(refs) == 0 {
		return nil
	}
	idx := make([]int32, len(refs))
	for i, r := range refs {
		idx[i] = r.Index
	}
	_, have, err := s.meta.ResolveBlocks(ctx, []string{rec.ID}, idx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan store.IndexedRef)
	errs := make(chan error, copyJobWorkers)
	var wg sync.WaitGroup
	for range copyJobWorkers {
		wg.Go(func() {
			for r := range work {
				if err := s.copyBlock(ctx, rec, src, r); err != nil {
					errs <- err
					cancel()
					return
				}
			}
		})
	}
feed:
	for i, r := range refs {
		if have[i] {
			continue
		}
		select {
		case work <- r:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return ctx.Err()
}

// copyBlock reads one block of src and writes it, sealed under the copy's
// key, into copy rec.
func (s *Service) copyBlock(ctx context.Context, rec, src store.Snapshot, r store.IndexedRef) error {
	buf := s.getBuf()
	defer s.putBuf(buf)
	data, err := s.loadBlock(ctx, src, r.Ref, (*buf)[:0])
	if err != nil {
		return fmt.Errorf("read block %d of %s: %w", r.Index, src.ID, err)
	}
	if r.Ref.Digest != ebs.ZeroBlockDigest && ebs.Sum(data) != r.Ref.Digest {
		return fmt.Errorf("block %d of %s does not match its checksum: %w", r.Index, src.ID, store.ErrCorrupt)
	}
	return s.writeBlock(ctx, rec, r.Index, r.Ref.Digest, data)
}

// failCopy puts a copy whose source cannot be read in the error state, as
// AWS shows a failed copy.
func (s *Service) failCopy(ctx context.Context, id string, cause error) error {
	now := s.now()
	_, err := s.meta.UpdateSnapshot(ctx, id, func(r *store.Snapshot) error {
		if r.State != store.StateCopying {
			return errUnchanged
		}
		r.State, r.StateMessage, r.CompleteTime = store.StateError, copyFailedMessage, now
		return nil
	})
	if errors.Is(err, errUnchanged) {
		return nil
	}
	s.log.ErrorContext(ctx, "snapshot copy failed", "snapshot", id, "err", cause)
	return err
}
