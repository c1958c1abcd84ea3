package pebblemeta

import (
	"testing"
	"time"
)

// TestGateExclusive checks the section in which the store swaps its
// database: it runs alone, holds new calls back until it ends, gives up
// rather than deadlock when a call in flight waits for one of those, and
// does not outlive close.
func TestGateExclusive(t *testing.T) {
	t.Run("runs alone and holds calls back", func(t *testing.T) {
		var g gate
		g.init()
		if !g.enter() {
			t.Fatal("enter refused")
		}
		ran := make(chan bool)
		inside := make(chan struct{})
		release := make(chan struct{})
		go func() {
			ran <- g.exclusive(5*time.Second, func() {
				close(inside)
				<-release
			})
		}()
		select {
		case <-inside:
			t.Fatal("exclusive ran with a call in flight")
		case <-time.After(50 * time.Millisecond):
		}
		g.leave()
		<-inside
		entered := make(chan struct{})
		go func() {
			g.enter()
			close(entered)
		}()
		select {
		case <-entered:
			t.Fatal("a call entered during the exclusive section")
		case <-time.After(50 * time.Millisecond):
		}
		close(release)
		if !<-ran {
			t.Fatal("exclusive reported false")
		}
		<-entered
		g.leave()
	})

	t.Run("gives up on a re-entrant call", func(t *testing.T) {
		var g gate
		g.init()
		g.enter() // the outer call, whose callback re-enters below
		res := make(chan bool)
		go func() { res <- g.exclusive(100*time.Millisecond, func() { t.Error("fn ran") }) }()
		time.Sleep(20 * time.Millisecond)
		if !g.enter() { // waits for the section, which waits for us
			t.Fatal("re-entrant enter refused")
		}
		if <-res {
			t.Fatal("exclusive reported true")
		}
		g.leave()
		g.leave()
	})

	t.Run("close ends a waiting section", func(t *testing.T) {
		var g gate
		g.init()
		g.enter()
		res := make(chan bool)
		go func() { res <- g.exclusive(time.Minute, func() { t.Error("fn ran") }) }()
		time.Sleep(20 * time.Millisecond)
		closed := make(chan bool)
		go func() { closed <- g.close() }()
		if <-res {
			t.Fatal("exclusive ran after close")
		}
		g.leave()
		if !<-closed {
			t.Fatal("close reported false")
		}
		if g.enter() {
			t.Fatal("enter admitted after close")
		}
	})
}
