package pebblemeta

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/ebsd/ebsd/internal/store"
)

// DefaultMinFreeBytes is the default Options.MinFreeBytes: room for
// Pebble to flush its memtables and write a new log (a few times
// DefaultMemTableSize), with a margin for writes racing the check.
const DefaultMinFreeBytes = 64 << 20

// How often a read-only store looks for free space, and how long its
// reopen waits for the calls in flight before trying again later.
const (
	spaceCheckEvery = time.Second
	reopenWait      = 2 * time.Second
	reopenTimeout   = 30 * time.Second
)

// CheckSpace returns a *store.SpaceError when the store is read-only or its file
// system has less than MinFreeBytes available, and nil otherwise (also
// when the file system cannot tell, like vfs.MemFS by default). A server
// checks it before a write that takes space, such as a block, so that the
// disk never gets so full that Pebble cannot flush.
func (s *Store) CheckSpace() error {
	if s.space.readOnly.Load() {
		return s.space.errorNow()
	}
	if s.space.min < 0 {
		return nil
	}
	if free, known := s.space.free(); known && free < uint64(s.space.min) {
		return &store.SpaceError{Dir: s.space.dir, Free: free, Need: uint64(s.space.min)}
	}
	return nil
}

// checkWrite returns a *store.SpaceError when a write to the metadata must be
// refused: the store is read-only, or less than half of MinFreeBytes is
// free. Blocks stop at MinFreeBytes (CheckSpace); records are small, so
// completing an upload or starting a snapshot goes on a while longer, and
// the last half stays for Pebble: it panics when it cannot write its log.
func (sp *space) checkWrite() error {
	if sp.readOnly.Load() {
		return sp.errorNow()
	}
	if sp.min < 0 {
		return nil
	}
	if free, known := sp.free(); known && free < uint64(sp.min)/2 {
		return &store.SpaceError{Dir: sp.dir, Free: free, Need: uint64(sp.min) / 2}
	}
	return nil
}

// space watches the free space of a store's file system.
type space struct {
	fs       vfs.FS
	dir      string
	min      int64 // Options.MinFreeBytes; negative: no checks
	readOnly atomic.Bool
	walBytes uint64 // size of the log to replay when readOnly; set before any call

	stopOnce sync.Once
	quit     chan struct{}
	done     chan struct{} // closed when the watcher returns; nil when none runs
}

func (sp *space) init(opts Options) {
	sp.fs, sp.dir, sp.min = opts.FS, opts.Dir, opts.MinFreeBytes
	sp.quit = make(chan struct{})
}

// free returns the bytes available on the file system, and whether it
// could tell.
func (sp *space) free() (uint64, bool) {
	u, err := sp.fs.GetDiskUsage(sp.dir)
	if err != nil {
		return 0, false
	}
	return u.AvailBytes, true
}

// needToOpen returns the bytes that must be free to open the store for
// writing: the margin plus a table as large as the log to replay, and the
// size of that log.
func (sp *space) needToOpen() (need, wal uint64, err error) {
	names, err := sp.fs.List(sp.dir)
	if err != nil {
		return 0, 0, err
	}
	for _, name := range names {
		if !strings.HasSuffix(name, ".log") {
			continue
		}
		fi, err := sp.fs.Stat(sp.fs.PathJoin(sp.dir, name))
		if err != nil {
			return 0, 0, err
		}
		wal += uint64(fi.Size())
	}
	return uint64(max(sp.min, 0)) + wal, wal, nil
}

// mustOpenReadOnly reports whether the store must be opened read-only,
// and fails when it would be but does not exist yet: an empty store
// cannot be opened read-only.
func (sp *space) mustOpenReadOnly() (bool, error) {
	if sp.min < 0 {
		return false, nil
	}
	free, known := sp.free()
	if !known {
		return false, nil
	}
	need, wal, err := sp.needToOpen()
	if err != nil {
		return false, err
	}
	if free >= need {
		return false, nil
	}
	names, err := sp.fs.List(sp.dir)
	if err != nil {
		return false, err
	}
	for _, name := range names {
		if strings.HasPrefix(name, "marker.manifest.") {
			sp.walBytes = wal
			sp.readOnly.Store(true)
			return true, nil
		}
	}
	return false, &store.SpaceError{Dir: sp.dir, Free: free, Need: need}
}

// errorNow describes the store's space as it is now. Its Free is 0 when
// the file system cannot tell.
func (sp *space) errorNow() *store.SpaceError {
	free, _ := sp.free()
	e := &store.SpaceError{Dir: sp.dir, Free: free, Need: uint64(max(sp.min, 0)), ReadOnly: sp.readOnly.Load()}
	if e.ReadOnly {
		e.Need += sp.walBytes
	}
	return e
}

// watch calls reopen every spaceCheckEvery once enough space is free,
// until it reports true or stop is called.
func (sp *space) watch(reopen func() bool) {
	sp.done = make(chan struct{})
	go func() {
		defer close(sp.done)
		t := time.NewTicker(spaceCheckEvery)
		defer t.Stop()
		for {
			select {
			case <-sp.quit:
				return
			case <-t.C:
			}
			free, known := sp.free()
			need, _, err := sp.needToOpen()
			if known && err == nil && free >= need && reopen() {
				return
			}
		}
	}()
}

// stop ends the watcher, if one runs, and waits for it.
func (sp *space) stop() {
	sp.stopOnce.Do(func() { close(sp.quit) })
	if sp.done != nil {
		<-sp.done
	}
}

// reopenWritable replaces the read-only database with a writable one, with
// no call in flight. It reports false when it should be tried again later.
func (s *Store) reopenWritable() bool {
	if s.views.Load() > 0 {
		// A collector's mark holds a view of the database, perhaps for
		// minutes: pausing every call to wait for it would only time out.
		return false
	}
	log := s.opts.Logger
	var (
		err  error
		dead bool
	)
	ran := s.gate.exclusive(reopenWait, func() {
		if err = s.db.Close(); err != nil {
			err = fmt.Errorf("close the read-only database: %w", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), reopenTimeout)
		defer cancel()
		db, rwErr := openDB(ctx, s.opts, false)
		if rwErr == nil {
			// A store opened read-only at an older format version is
			// upgraded now (upgrade.go).
			var format byte
			if format, rwErr = checkVersion(db); rwErr != nil {
				_ = db.Close()
			} else {
				s.format.Store(int32(format))
			}
		}
		if rwErr == nil {
			s.db, err = db, nil
			s.space.readOnly.Store(false)
			// Logged before the gate opens, so that the line precedes
			// the first write it allows.
			log.Info("the metadata store is writable again: its disk has free space", "dir", s.opts.Dir)
			return
		}
		// Space went again between the check and the open, or the open
		// failed otherwise: stay read-only and try again later.
		err = rwErr
		if s.db, rwErr = openDB(ctx, s.opts, true); rwErr != nil {
			s.db, dead = nil, true
			err = fmt.Errorf("%w; reopening read-only failed too: %w", err, rwErr)
		}
	})
	switch {
	case !ran:
		return false
	case dead:
		log.Error("the metadata store could not be reopened; restart ebsd", "dir", s.opts.Dir, "err", err)
		return true
	case err != nil:
		log.Warn("the metadata store stays read-only: reopening it for writing failed", "dir", s.opts.Dir, "err", err)
		return false
	}
	return true
}
