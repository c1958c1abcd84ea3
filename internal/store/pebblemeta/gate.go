package pebblemeta

import (
	"sync"
	"time"
)

// gate counts the calls in flight so that Close can wait for them before
// closing the database (which Pebble does not allow while it is in use),
// and refuses calls after Close. Unlike a RWMutex it lets a call re-enter
// the store from a callback while Close waits.
//
// exclusive runs a function with no call in flight, holding new calls
// back meanwhile: the store reopens its database that way. A call that
// re-enters from a callback would wait for it forever, so exclusive gives
// up after a deadline instead of deadlocking, and the caller retries later.
type gate struct {
	mu      sync.Mutex
	drained sync.Cond // signalled when n drops to 0, and at exclusive's deadline
	resumed sync.Cond // signalled when an exclusive section ends
	closed  bool
	paused  bool // an exclusive section waits or runs: new calls wait
	n       int
}

func (g *gate) init() {
	g.drained.L = &g.mu
	g.resumed.L = &g.mu
}

// enter admits a call and reports true, or reports false after close.
func (g *gate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for g.paused && !g.closed {
		g.resumed.Wait()
	}
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
	if (g.closed || g.paused) && g.n == 0 {
		g.drained.Broadcast()
	}
}

// close refuses further calls and waits for those in flight and for an
// exclusive section that runs. It reports false when the gate was already
// closed.
func (g *gate) close() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.closed = true
	g.resumed.Broadcast() // calls waiting for a pause to end are refused now
	g.drained.Broadcast() // an exclusive section still waiting gives up
	for g.paused {
		g.resumed.Wait()
	}
	for g.n > 0 {
		g.drained.Wait()
	}
	return true
}

// exclusive waits up to wait for the calls in flight to leave, holding new
// calls back, then runs fn with none in flight and lets the held calls in.
// It reports false, without running fn, when the gate is closed or the
// calls in flight did not leave in time.
func (g *gate) exclusive(wait time.Duration, fn func()) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed || g.paused {
		return false
	}
	g.paused = true
	defer func() {
		g.paused = false
		g.resumed.Broadcast()
	}()
	expired := false
	t := time.AfterFunc(wait, func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		expired = true
		g.drained.Broadcast()
	})
	defer t.Stop()
	for g.n > 0 && !expired && !g.closed {
		g.drained.Wait()
	}
	if g.n > 0 || g.closed {
		return false
	}
	// New calls wait on paused, and close on paused too: fn runs alone
	// without holding mu, which the timer and those waiters need.
	g.mu.Unlock()
	defer g.mu.Lock()
	fn()
	return true
}
