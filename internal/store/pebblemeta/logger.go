package pebblemeta

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Pebble retries a failing flush or compaction at once and logs each
// failure: on a full disk that is a thousand lines a second, written to a
// log that may sit on the same disk. errorBurst lines pass, then one per
// errorEvery, carrying the count of those left out.
const (
	errorBurst = 5
	errorEvery = 10 * time.Second
)

// pebbleLogger routes Pebble's log messages to slog: its routine chatter at
// Debug level, its errors at Error level, rate-limited.
type pebbleLogger struct {
	l      *slog.Logger
	limit  *rateLimit
	prefix string // names the store in messages, as there may be several
}

func newPebbleLogger(l *slog.Logger, dir string) pebbleLogger {
	return pebbleLogger{l: l, limit: &rateLimit{burst: errorBurst, every: errorEvery}, prefix: dir}
}

func (p pebbleLogger) Infof(format string, args ...any) {
	if p.l.Enabled(context.Background(), slog.LevelDebug) {
		p.l.Debug(fmt.Sprintf(format, args...), "component", "pebble", "dir", p.prefix)
	}
}

func (p pebbleLogger) Errorf(format string, args ...any) {
	ok, dropped := p.limit.allow(time.Now())
	if !ok {
		return
	}
	attrs := []any{"component", "pebble", "dir", p.prefix}
	if dropped > 0 {
		attrs = append(attrs, "suppressed", dropped)
	}
	p.l.Error(fmt.Sprintf(format, args...), attrs...)
}

// Fatalf logs and ends the process, as Pebble's own logger does: Pebble
// calls it when it cannot go on safely (its log could not be written, on
// a full disk say), and if it returns Pebble carries on as if the write
// had worked. A panic in the caller's goroutine would be recovered by the
// wire layer, which turns a handler's panic into a 500, and leave a
// broken database serving; so the panic is raised on a goroutine of its
// own, which nothing recovers, and the caller waits for the end.
func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.l.Error(msg, "component", "pebble", "dir", p.prefix)
	go func() { panic("pebble: " + msg) }()
	select {}
}

// rateLimit lets burst events through, then one per every; it counts the
// events it refuses so that the next one let through can say how many.
type rateLimit struct {
	burst int
	every time.Duration

	mu      sync.Mutex
	tokens  int
	started bool
	last    time.Time // when tokens were last refilled
	dropped int
}

// allow reports whether an event at now may pass, and how many were
// refused since the last one that did.
func (r *rateLimit) allow(now time.Time) (bool, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.started {
		r.started, r.tokens, r.last = true, r.burst, now
	}
	if n := int(now.Sub(r.last) / r.every); n > 0 {
		r.tokens = min(r.burst, r.tokens+n)
		r.last = r.last.Add(time.Duration(n) * r.every)
	}
	if r.tokens == 0 {
		r.dropped++
		return false, 0
	}
	r.tokens--
	dropped := r.dropped
	r.dropped = 0
	return true, dropped
}
