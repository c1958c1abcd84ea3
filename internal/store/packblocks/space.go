package packblocks

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ebsd/ebsd/internal/store"
)

// DefaultMinFreeBytes is the default Options.MinFreeBytes: room for the
// index's Pebble to flush its memtables and write a new log, with a margin
// for writes racing the check. (pebblemeta's default, for the same reason.)
const DefaultMinFreeBytes = 64 << 20

// spaceCheckEvery is how often a read-only store looks for free space.
const spaceCheckEvery = time.Second

// SpaceErr returns a *store.SpaceError while the store is read-only for lack of
// space, and nil otherwise.
func (s *Store) SpaceErr() error {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if !s.readOnly {
		return nil
	}
	return s.spaceError()
}

// spaceError describes the store's space now. Its Free is 0 when the file
// system cannot tell.
func (s *Store) spaceError() *store.SpaceError {
	free, _ := s.freeBytes()
	need, _ := s.needToOpen()
	return &store.SpaceError{Dir: s.opts.Dir, Free: free, Need: need, ReadOnly: true}
}

// freeBytes returns the bytes available on the store's file system, and
// whether it could tell (vfs.MemFS cannot, by default).
func (s *Store) freeBytes() (uint64, bool) {
	u, err := s.fs.GetDiskUsage(s.opts.Dir)
	if err != nil {
		return 0, false
	}
	return u.AvailBytes, true
}

// needToOpen returns the bytes that must be free to open the index for
// writing: the margin plus a table as large as the log to replay.
func (s *Store) needToOpen() (uint64, error) {
	names, err := s.fs.List(s.indexDir)
	if err != nil {
		return 0, err
	}
	var wal uint64
	for _, name := range names {
		if !strings.HasSuffix(name, ".log") {
			continue
		}
		fi, err := s.fs.Stat(s.fs.PathJoin(s.indexDir, name))
		if err != nil {
			return 0, err
		}
		wal += uint64(fi.Size())
	}
	return uint64(max(s.opts.MinFreeBytes, 0)) + wal, nil
}

// enoughSpace reports whether the index may be opened for writing; an
// error, a *store.SpaceError, says why not. A file system that cannot tell its
// free space, or a negative MinFreeBytes, always has enough.
func (s *Store) enoughSpace() (bool, error) {
	if s.opts.MinFreeBytes < 0 {
		return true, nil
	}
	free, known := s.freeBytes()
	if !known {
		return true, nil
	}
	need, err := s.needToOpen()
	if err != nil {
		return false, fmt.Errorf("packblocks: open: %w", err)
	}
	if free >= need {
		return true, nil
	}
	return false, &store.SpaceError{Dir: s.opts.Dir, Free: free, Need: need}
}

// indexExists reports whether the index holds a database: an empty one
// cannot be opened read-only.
func (s *Store) indexExists() (bool, error) {
	names, err := s.fs.List(s.indexDir)
	if err != nil {
		return false, fmt.Errorf("packblocks: open: %w", err)
	}
	for _, name := range names {
		if strings.HasPrefix(name, "marker.manifest.") {
			return true, nil
		}
	}
	return false, nil
}

// readOnlyStats sets the counters of a store opened read-only, from the
// index's block count and the pack files as they are (recovery, which
// would count them, is deferred).
func (s *Store) readOnlyStats() error {
	blocks, err := readU64(s.db, keyCount)
	if err != nil {
		return err
	}
	ids, err := s.listPacks()
	if err != nil {
		return err
	}
	var bytes int64
	for _, id := range ids {
		fi, err := s.fs.Stat(s.packPath(id))
		if err != nil {
			return fmt.Errorf("packblocks: open: %w", err)
		}
		bytes += fi.Size()
	}
	s.stats.packs.Store(int64(len(ids)))
	s.stats.bytes.Store(bytes)
	s.stats.blocks.Store(int64(blocks))
	return nil
}

// watchSpace runs until Close, or until the store is writable: every
// spaceCheckEvery, once enough space is free, it tries reopenWritable.
func (s *Store) watchSpace() {
	defer close(s.watchDone)
	t := time.NewTicker(spaceCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
		if ok, _ := s.enoughSpace(); ok && s.reopenWritable() {
			return
		}
	}
}

// reopenWritable replaces the read-only index with a writable one, runs the
// recovery that Open deferred and starts the syncer, with closeMu held
// exclusively so that no call is in flight. It reports whether the store is
// done with read-only: writable, closed, or dead.
//
// Pebble's open for writing cannot be interrupted and retries forever on a
// full disk, so it is tried only once MinFreeBytes plus the log's size is
// free, as at Open.
func (s *Store) reopenWritable() bool {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return true
	}
	if err := s.db.Close(); err != nil {
		s.log.Warn("packblocks: closing the read-only index", "dir", s.opts.Dir, "err", err)
	}
	db, err := openIndex(s.fs, s.indexDir, false)
	if err == nil {
		s.db = db
		s.stats.packs.Store(0) // recover counts them
		s.stats.bytes.Store(0)
		if err = s.recover(context.Background()); err == nil {
			s.readOnly = false
			go s.syncLoop()
			s.log.Info("packblocks: the block store is writable again: its disk has free space; recovery is complete",
				"dir", s.opts.Dir)
			return true
		}
		// Whatever recovery committed is consistent (see recover); start
		// over from the index next time.
		if s.active != nil {
			s.active.f.Close()
			s.active = nil
		}
		db.Close()
	}
	// The open or the recovery failed (space went again, or the index
	// is damaged): stay read-only and try again later.
	if s.db, s.dead = openIndex(s.fs, s.indexDir, true); s.dead != nil {
		s.dead = fmt.Errorf("packblocks: the index could not be reopened (%w) after %w; restart ebsd", s.dead, err)
		s.log.Error("packblocks: the block store is unusable", "dir", s.opts.Dir, "err", s.dead)
		return true
	}
	if serr := s.readOnlyStats(); serr != nil {
		s.log.Warn("packblocks: counting blocks", "dir", s.opts.Dir, "err", serr)
	}
	s.log.Warn("packblocks: the block store stays read-only: reopening it for writing failed",
		"dir", s.opts.Dir, "err", err)
	return false
}
