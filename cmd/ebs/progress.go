package main

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/ebsd/ebsd/internal/client"
)

// newObserver picks how progress is shown: a bar on a terminal, a plain
// line every few seconds otherwise (CI logs), nothing with --quiet.
func newObserver(m *Main, g *Globals) progressObserver {
	switch {
	case g.Quiet || g.JSON && !isTerminal(m.Stderr):
		return &silent{}
	case isTerminal(m.Stderr):
		return &barObserver{w: m.Stderr}
	default:
		return &lineObserver{w: m.Stderr, every: 5 * time.Second}
	}
}

// progressObserver is a client.Observer that also keeps totals.
type progressObserver interface {
	client.Observer
	// Retries is how many retries the transfer needed.
	Retries() int64
}

// counts is what every observer tallies.
type counts struct {
	retries                atomic.Int64
	blocks, bytes, scanned atomic.Int64
}

func (c *counts) Retries() int64 { return c.retries.Load() }

type silent struct{ counts }

func (s *silent) Begin(string, int64, int64)              {}
func (s *silent) Block(client.Outcome, int64)             {}
func (s *silent) Retry(string, int, time.Duration, error) { s.retries.Add(1) }
func (s *silent) End()                                    {}

// barObserver draws an mpb bar: bytes of the image done, MiB/s, blocks/s
// and ETA.
type barObserver struct {
	counts
	w     io.Writer
	mu    sync.Mutex
	p     *mpb.Progress
	bar   *mpb.Bar
	start time.Time
}

func (b *barObserver) Begin(phase string, totalBlocks, totalBytes int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.blocks.Store(0)
	b.start = time.Now()
	b.p = mpb.New(mpb.WithOutput(b.w), mpb.WithWidth(40), mpb.WithRefreshRate(200*time.Millisecond))
	b.bar = b.p.New(totalBytes, mpb.BarStyle(),
		mpb.PrependDecorators(decor.Name(phase+" ", decor.WCSyncSpaceR), decor.CountersKibiByte("% .1f / % .1f")),
		mpb.AppendDecorators(
			decor.AverageSpeed(decor.SizeB1024(0), " % .1f"),
			decor.Any(func(decor.Statistics) string {
				el := time.Since(b.start).Seconds()
				if el <= 0 {
					return ""
				}
				return fmt.Sprintf(" %.0f blocks/s", float64(b.blocks.Load())/el)
			}),
			decor.Name(" ETA "), decor.AverageETA(decor.ET_STYLE_GO),
		))
}

func (b *barObserver) Block(_ client.Outcome, bytes int64) {
	b.blocks.Add(1)
	b.bytes.Add(bytes)
	if bar := b.current(); bar != nil {
		bar.IncrInt64(client.BlockSize)
	}
}

func (b *barObserver) current() *mpb.Bar {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.bar
}

func (b *barObserver) Retry(string, int, time.Duration, error) { b.retries.Add(1) }

func (b *barObserver) End() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bar != nil {
		b.bar.SetTotal(-1, true) // completes a bar made with total 0
		// A bar made with a total ignores SetTotal: one that did not reach
		// it (a failed or interrupted transfer) must be aborted, or Wait
		// never returns.
		b.bar.Abort(false)
		b.p.Wait()
		b.bar, b.p = nil, nil
	}
}

// lineObserver prints a progress line every few seconds.
type lineObserver struct {
	counts
	w      io.Writer
	every  time.Duration
	mu     sync.Mutex
	phase  string
	total  int64
	start  time.Time
	stop   chan struct{}
	closed chan struct{}
}

func (l *lineObserver) Begin(phase string, totalBlocks, _ int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.phase, l.total, l.start = phase, totalBlocks, time.Now()
	l.blocks.Store(0)
	l.stop, l.closed = make(chan struct{}), make(chan struct{})
	go func(stop, closed chan struct{}) {
		defer close(closed)
		t := time.NewTicker(l.every)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				l.print()
			}
		}
	}(l.stop, l.closed)
}

func (l *lineObserver) print() {
	l.mu.Lock()
	phase, total, start := l.phase, l.total, l.start
	l.mu.Unlock()
	done := l.blocks.Load()
	el := time.Since(start).Seconds()
	rate := float64(done) / max(el, 1e-9)
	line := fmt.Sprintf("%s: %d/%d blocks", phase, done, total)
	if total > 0 {
		line += fmt.Sprintf(" (%.0f%%)", 100*float64(done)/float64(total))
	}
	line += fmt.Sprintf(", %.0f blocks/s, %.1f MiB/s", rate, float64(l.bytes.Load())/(1<<20)/max(el, 1e-9))
	if rate > 0 && total > done {
		line += fmt.Sprintf(", ETA %v", time.Duration(float64(total-done)/rate*float64(time.Second)).Round(time.Second))
	}
	if r := l.retries.Load(); r > 0 {
		line += fmt.Sprintf(", %d retries", r)
	}
	fmt.Fprintln(l.w, line)
}

func (l *lineObserver) Block(_ client.Outcome, bytes int64) {
	l.blocks.Add(1)
	l.bytes.Add(bytes)
}

func (l *lineObserver) Retry(string, int, time.Duration, error) { l.retries.Add(1) }

func (l *lineObserver) End() {
	l.mu.Lock()
	stop, closed := l.stop, l.closed
	l.stop = nil
	l.mu.Unlock()
	if stop != nil {
		close(stop)
		<-closed
		l.print()
	}
}
