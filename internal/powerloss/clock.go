package powerloss

import (
	"sync"
	"time"
)

// clock is the service's clock: the sweeper moves it forward, so that
// abandoned snapshots time out within a cycle.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
