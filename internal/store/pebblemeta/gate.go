package pebblemeta

import "sync"

// gate counts the calls in flight so that Close can wait for them before
// closing the database (which Pebble does not allow while it is in use),
// and refuses calls after Close. Unlike a RWMutex it lets a call re-enter
// the store from a callback while Close waits.
type gate struct {
	mu      sync.Mutex
	drained sync.Cond // signalled when inFlight drops to 0 after close
	closed  bool
	n       int
}

func (g *gate) init() { g.drained.L = &g.mu }

// enter admits a call and reports true, or reports false after close.
func (g *gate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.n++
	return true
}

// leave ends a call that enter admitted.
func (g *gate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n--
	if g.closed && g.n == 0 {
		g.drained.Broadcast()
	}
}

// close refuses further calls and waits for those in flight. It reports
// false when the gate was already closed.
func (g *gate) close() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.closed = true
	for g.n > 0 {
		g.drained.Wait()
	}
	return true
}
