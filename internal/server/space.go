package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/store/pebblemeta"
)

// spaceGuard is the BlockStore the service writes blocks through. While
// the metadata store reports its disk full (pebblemeta's CheckSpace: it
// is read-only, or less than the minimum is free) it refuses a block
// before the block takes any space, so that what is left stays for
// Pebble's flushes: Pebble panics when it cannot write its log. The
// service turns the refusal, like any ENOSPC, into a retryable 503.
//
// It logs when it starts and stops refusing, once each time, as the disk
// fills and is freed.
type spaceGuard struct {
	store.BlockStore
	meta    *pebblemeta.Store
	log     *slog.Logger
	dataDir string
	full    *atomic.Bool // refusing
}

func newSpaceGuard(blocks store.BlockStore, meta *pebblemeta.Store, log *slog.Logger, dataDir string) spaceGuard {
	return spaceGuard{BlockStore: blocks, meta: meta, log: log, dataDir: dataDir, full: new(atomic.Bool)}
}

// Put implements store.BlockStore.
func (g spaceGuard) Put(ctx context.Context, key ebs.Digest, data []byte) error {
	if err := g.meta.CheckSpace(); err != nil {
		if !g.full.Swap(true) {
			g.log.Warn("the disk holding the data directory is full: refusing blocks until space is freed",
				"data_dir", g.dataDir, "err", err)
		}
		return fmt.Errorf("server: block not stored: %w", err)
	}
	if g.full.Swap(false) {
		g.log.Info("the disk holding the data directory has free space again: accepting blocks", "data_dir", g.dataDir)
	}
	err := g.BlockStore.Put(ctx, key, data)
	if errors.Is(err, syscall.ENOSPC) {
		// Full before the margin ran out (another writer, or a margin
		// of 0): say how much is free, if the check now sees it.
		if serr := g.meta.CheckSpace(); serr != nil {
			err = fmt.Errorf("%w (%w)", err, serr)
		}
	}
	return err
}

// spaceErr returns the *store.SpaceError of whichever store is short of
// space (the metadata store below its minimum, or either store open
// read-only until space is freed), or nil.
func (s *Server) spaceErr() *store.SpaceError {
	var serr *store.SpaceError
	if s.pebble != nil && errors.As(s.pebble.CheckSpace(), &serr) {
		return serr
	}
	if s.packs != nil && errors.As(s.packs.SpaceErr(), &serr) {
		return serr
	}
	return nil
}

// health is the body of /healthz: "ok", or what is wrong and what still
// works. A full disk is not an outage (reads are served, writes resume by
// themselves), so /healthz still answers 200: a probe that restarts ebsd
// would not free any space.
func (s *Server) health(w io.Writer) {
	if serr := s.spaceErr(); serr != nil {
		fmt.Fprintf(w, "degraded: the disk holding the data directory %s is full (%s); "+
			"serving reads, refusing writes until space is freed\n", s.opts.DataDir, serr.FreeSpace())
		return
	}
	fmt.Fprintln(w, "ok")
}

// logSpace says at start-up, plainly, that the data directory's disk is
// full, how much is needed, and what happens meanwhile.
func (s *Server) logSpace() {
	if serr := s.spaceErr(); serr != nil {
		s.opts.Logger.Error("the disk holding the data directory is full: serving reads only; "+
			"writes get a retryable error until space is freed, then resume by themselves",
			"data_dir", s.opts.DataDir, "free_bytes", serr.Free, "need_bytes", serr.Need, "err", serr)
	}
}

// registerSpaceMetrics exports whether the data directory's disk counts as
// full, read at scrape time, for an alert that fires before clients see
// errors.
func registerSpaceMetrics(reg prometheus.Registerer, s *Server) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "ebsd_storage_full",
		Help: "1 while the data directory's disk has less than the minimum free space (-min-free-space) and writes are refused, else 0.",
	}, func() float64 {
		if s.spaceErr() != nil {
			return 1
		}
		return 0
	}))
}

// openAbandoning runs open and returns what it returns, or ctx's error as
// soon as ctx ends. A store's open cannot be interrupted (Pebble retries
// a failing flush forever on a full disk), and when ctx ends the process
// is about to exit: the open is left to finish in the background, and
// what it opens then is closed.
func openAbandoning[T io.Closer](ctx context.Context, open func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := open()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		go func() {
			if r := <-done; r.err == nil {
				_ = r.v.Close()
			}
		}()
		var zero T
		return zero, fmt.Errorf("interrupted: %w", ctx.Err())
	}
}
