package client

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/smithy-go"
)

var errThrottle = &smithy.GenericAPIError{Code: "RequestThrottledException", Message: "Rate exceeded"}

func TestGate(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	// take fills the gate: every slot in use, so that successes count
	// toward growth.
	take := func(g *gate) []slot {
		var s []slot
		for g.inflight < g.limit {
			sl, _, err := g.acquire(ctx)
			if err != nil {
				t.Fatal(err)
			}
			s = append(s, sl)
		}
		return s
	}
	tests := []struct {
		name       string
		ceiling    int
		run        func(g *gate)
		limit, low int
		throttled  int64
	}{
		{"throttle halves", 8, func(g *gate) {
			s := take(g)
			g.release(s[0], errThrottle)
		}, 4, 4, 1},
		{"one halving per round trip", 8, func(g *gate) {
			// Eight requests sent at 8, all throttled: the answers
			// after the first were sent before the decrease.
			for _, s := range take(g) {
				g.release(s, errThrottle)
			}
		}, 4, 4, 8},
		{"floor of one", 8, func(g *gate) {
			for range 6 {
				s := take(g)
				g.release(s[0], errThrottle)
				for _, x := range s[1:] {
					g.release(x, nil)
				}
			}
		}, 1, 1, 6},
		{"other errors change nothing", 8, func(g *gate) {
			s := take(g)
			g.release(s[0], &smithy.GenericAPIError{Code: "InternalServerException"})
		}, 8, 8, 0},
		{"additive increase", 8, func(g *gate) {
			s := take(g)
			g.release(s[0], errThrottle) // 4
			for _, x := range s[1:] {
				g.release(x, nil) // answers from before: they do not count
			}
			// Each round fills the gate, then empties it: the first
			// answer finds the limit in use and counts, the rest find
			// it not reached. 4 counted successes raise 4 to 5, 5 more
			// raise 5 to 6.
			for range 4 + 5 {
				for _, x := range take(g) {
					g.release(x, nil)
				}
			}
		}, 6, 4, 1},
		{"growth stops at the ceiling", 4, func(g *gate) {
			for range 10 {
				for _, x := range take(g) {
					g.release(x, nil)
				}
			}
		}, 4, 4, 0},
		{"an unused limit does not grow", 8, func(g *gate) {
			s := take(g)
			g.release(s[0], errThrottle) // 4
			for _, x := range s[1:] {
				g.release(x, nil)
			}
			g.wanted = false
			for range 20 { // one request at a time: the limit of 4 is never reached
				x, _, _ := g.acquire(ctx)
				g.release(x, nil)
			}
		}, 4, 4, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newGate(tc.ceiling, log)
			tc.run(g)
			st := g.stats()
			if st.final != tc.limit || st.lowest != tc.low || st.throttled != tc.throttled {
				t.Errorf("limit %d, lowest %d, throttled %d; want %d, %d, %d", st.final, st.lowest, st.throttled, tc.limit, tc.low, tc.throttled)
			}
		})
	}
}

func TestGateWaits(t *testing.T) {
	g := newGate(1, slog.New(slog.DiscardHandler))
	s, waited, err := g.acquire(context.Background())
	if err != nil || waited != 0 {
		t.Fatalf("first acquire: %v, waited %v", err, waited)
	}
	got := make(chan time.Duration)
	go func() {
		_, w, _ := g.acquire(context.Background())
		got <- w
	}()
	time.Sleep(50 * time.Millisecond)
	g.release(s, nil)
	if w := <-got; w < 40*time.Millisecond {
		t.Errorf("second acquire waited %v, want about 50ms", w)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := g.acquire(ctx); err == nil {
		t.Error("acquire on a full gate with a cancelled context succeeded")
	}
	var nilGate *gate
	if _, _, err := nilGate.acquire(ctx); err != nil {
		t.Errorf("a nil gate refused: %v", err)
	}
}

// TestCallGatedQueueTime checks that time queued for a slot does not
// spend a call's TotalTimeout: a call behind a slow request of the same
// transfer must still get its attempt.
func TestCallGatedQueueTime(t *testing.T) {
	c := New(nil, Options{Retry: RetryPolicy{MaxAttempts: 1, AttemptTimeout: time.Second, TotalTimeout: 100 * time.Millisecond}})
	g := newGate(1, c.log)
	held, _, _ := g.acquire(context.Background())
	go func() {
		time.Sleep(300 * time.Millisecond)
		g.release(held, nil)
	}()
	err := c.callGated(context.Background(), g, "test call", false, func(ctx context.Context) error {
		return ctx.Err() // what an SDK call does with an expired context
	})
	if err != nil {
		t.Errorf("call queued 300 ms behind another, with a total timeout of 100 ms: %v", err)
	}
}
