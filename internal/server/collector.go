package server

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ebsd/ebsd/internal/gc"
)

// gcFirstRun is how long after start-up the first collection runs: late
// enough not to slow the start, early enough that a restart to get space
// back gets it soon.
const gcFirstRun = time.Minute

// GCOptions configure the garbage collector of a Server.
type GCOptions struct {
	// Interval is how often it runs while the server serves; 0 turns it
	// off (Collect still works).
	Interval time.Duration
	// MinLive and CompactBytes are gc.Options' MinLive and MaxCompactBytes.
	MinLive      float64
	CompactBytes int64
	// CompactRate is gc.Options' CompactRate.
	CompactRate int64
}

// newCollector returns the collector over the server's stores.
func (s *Server) newCollector(reg prometheus.Registerer) (*gc.Collector, error) {
	c, err := gc.New(gc.Options{
		Meta:            s.meta,
		Blocks:          s.blocks,
		Drain:           s.service.DrainWrites,
		MinLive:         s.opts.GC.MinLive,
		MaxCompactBytes: s.opts.GC.CompactBytes,
		CompactRate:     s.opts.GC.CompactRate,
		Logger:          s.opts.Logger,
		Registerer:      reg,
	})
	if err != nil {
		return nil, fmt.Errorf("garbage collector: %w", err)
	}
	return c, nil
}

// Collect runs one garbage collection now (ebsd gc, tests).
func (s *Server) Collect(ctx context.Context) (gc.Report, error) { return s.gc.Collect(ctx) }

// runCollector collects every GC.Interval until ctx is done. In
// distributed mode every node runs it: the collection lease
// (store.Leaser) lets one collect at a time, and the fence
// (store.Fenced) keeps the other nodes' writes safe.
func (s *Server) runCollector(ctx context.Context) {
	if s.opts.GC.Interval <= 0 {
		return
	}
	first := min(gcFirstRun, s.opts.GC.Interval)
	s.gc.Run(ctx, first, s.opts.GC.Interval)
}

// MeasureUsage marks without collecting (ebsd usage): each account's
// unique stored bytes, among the rest of a mark's report.
func (s *Server) MeasureUsage(ctx context.Context) (gc.Report, error) { return s.gc.Measure(ctx) }
