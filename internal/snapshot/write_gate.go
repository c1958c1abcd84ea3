package snapshot

import (
	"context"
	"sync"
)

// writeGate lets the garbage collector wait out the block writes that may
// have deduplicated onto a stored key before the collection began.
//
// A write stores its block (BlockStore.Put, which may find the key already
// stored) and then maps it (MetaStore.PutBlock). The collector arms the
// block store first, so that every Put from then on touches its key and
// the sweep keeps it; then it drains the gate, which waits for every write
// that entered before; only then does it take its view to mark from. A
// write that entered before the drain has therefore committed its mapping
// into the view (or failed), and one that entered after touched its key:
// either way its key survives. This is docs/gc.md's fence (I6) for one
// process, where the server sees every writer; the window a drain waits
// for is one Put and one PutBlock, never a request body.
type writeGate struct {
	mu  sync.Mutex
	cur *sync.WaitGroup
}

// enter marks the start of a block write; the caller calls leave when the
// write's mapping is committed or the write failed.
func (g *writeGate) enter() (leave func()) {
	g.mu.Lock()
	if g.cur == nil {
		g.cur = new(sync.WaitGroup)
	}
	wg := g.cur
	wg.Add(1)
	g.mu.Unlock()
	return wg.Done
}

// drain returns once every write that entered before the call has left, or
// when ctx is done.
func (g *writeGate) drain(ctx context.Context) error {
	g.mu.Lock()
	old := g.cur
	g.cur = new(sync.WaitGroup)
	g.mu.Unlock()
	if old == nil {
		return nil
	}
	done := make(chan struct{})
	go func() { old.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// DrainWrites returns once every block write (PutSnapshotBlock, a copy
// job's block) that started before the call has committed its mapping or
// failed. The garbage collector calls it after arming the block store and
// before taking its mark view (see writeGate).
func (s *Service) DrainWrites(ctx context.Context) error { return s.gate.drain(ctx) }
