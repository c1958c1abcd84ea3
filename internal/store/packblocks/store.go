package packblocks

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/pack"
	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/vfsdir"
)

var _ store.BlockStore = (*Store)(nil)

// Store is a store.BlockStore that appends blocks to pack files in a local
// directory and indexes them in Pebble. See the package documentation.
type Store struct {
	opts     Options
	fs       vfs.FS
	log      *slog.Logger
	packDir  string
	indexDir string
	db       *pebble.DB // replaced only with closeMu held exclusively
	files    *fileCache

	// closeMu is held shared by every call and exclusively by Close, so
	// that Close waits for the calls in flight and later calls see closed,
	// and by reopenWritable, so that no call sees the index change.
	closeMu sync.RWMutex
	closed  bool
	// readOnly: the disk was too full to open the index for writing
	// (SpaceError); Put fails, recovery is deferred, no syncer runs, and
	// watchSpace reopens the store for writing once space is freed.
	readOnly bool
	// dead is why the store cannot be used any more: reopening its index
	// failed. Set only while readOnly.
	dead      error
	watchDone chan struct{} // closed when watchSpace returns; nil if none runs

	// inflight holds the claims on keys: the Puts deciding on a key (so
	// that concurrent Puts of one key append it once) and the Gets marking
	// a key's copy corrupt.
	inflightMu sync.Mutex
	inflight   map[ebs.Digest]*putCall

	// mu is the append lock. Holding it across the write system calls
	// makes every pack a sequence of complete writes: when an entry's
	// write returns, every byte before it in its pack has been written,
	// so a sync started after that covers the whole prefix (see recover).
	mu      sync.Mutex
	active  *activePack // nil: the next append starts a new pack
	nextID  uint32      // id of the next pack to create
	pending *syncGroup  // calls not yet handed to the syncer

	// lastAppend is when a Put last appended (Unix ns), and putsActive
	// the Puts in progress: both pace compaction (compact_pace.go).
	lastAppend atomic.Int64
	putsActive atomic.Int64

	kick       chan struct{} // wakes the syncer; capacity 1
	quit       chan struct{} // closed by Close to stop the syncer
	syncerDone chan struct{}

	blocks uint64 // number of indexed blocks; owned by the syncer once Open returns

	// dataLatency is how long the last group that wrote data took, from
	// its earliest Put's decision to append to the end of its indexing;
	// owned by the syncer.
	dataLatency time.Duration

	// compress encodes the blocks Put appends (Options.Compression).
	compress *compressor

	// syncFile makes a pack's appends durable: syncData, or a fault
	// injector in tests.
	syncFile func(vfs.File) error

	// jobs are index changes that must run in the syncer, the index's
	// only writer while the store is open: sweep and compaction batches.
	jobs chan syncJob

	// touchMu makes a Put's index check and its touch one step with
	// respect to the index changes of Sweep and Compact (docs/gc.md §3.5):
	// lead holds it shared across both, the syncer's jobs exclusively.
	touchMu sync.RWMutex
	touched atomic.Pointer[touchSet] // nil while no collection is armed
	armMu   sync.Mutex
	arms    int

	// gcMu serializes Sweep and Compact, and guards lastSweep: what the
	// last Sweep measured, which Compact plans from.
	gcMu       sync.Mutex
	lastSweep  *sweepResult
	sweepBatch int // candidates per sweep job

	hooks hooks

	stats struct{ packs, bytes, blocks atomic.Int64 }
}

// activePack is a pack open for appending.
type activePack struct {
	id uint32
	f  vfs.File
	w  *pack.Writer
	// broken is the error of a failed sync of f. Once set (under Store.mu)
	// no entry of f that was not yet acknowledged ever will be: after a
	// failed fsync the kernel may have dropped those pages and a later
	// fsync can succeed without them.
	broken error
}

// putCall is a claim on a key, by a Put in flight or by a Get marking the
// key's copy corrupt; other Puts of the key wait for its outcome.
type putCall struct {
	done chan struct{}
	err  error // set before done is closed
}

// Open opens the store in opts.Dir, creating it if needed, and recovers
// from any crash: pack tails that were written but not indexed are indexed
// (see doc.go). On a disk too full to open the index for writing, it opens
// the store read-only and defers recovery until space is freed (see
// SpaceError).
func Open(ctx context.Context, opts Options) (*Store, error) {
	return open(ctx, opts, syncData)
}

// open is Open with the function the syncer uses to sync packs.
func open(ctx context.Context, opts Options, syncFile func(vfs.File) error) (*Store, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	comp, err := newCompressor(opts.Compression)
	if err != nil {
		return nil, err
	}
	fsys := opts.FS
	packDir := fsys.PathJoin(opts.Dir, "packs")
	indexDir := fsys.PathJoin(opts.Dir, "index")
	// Make the directories durable before any block lands in them.
	for _, dir := range []string{packDir, indexDir} {
		if err := vfsdir.MkdirAll(fsys, dir); err != nil {
			return nil, err
		}
	}
	if err := vfsdir.SyncChain(fsys, opts.Dir); err != nil {
		return nil, err
	}
	s := &Store{
		opts:       opts,
		fs:         fsys,
		log:        opts.Logger,
		packDir:    packDir,
		indexDir:   indexDir,
		inflight:   make(map[ebs.Digest]*putCall),
		pending:    newSyncGroup(),
		kick:       make(chan struct{}, 1),
		quit:       make(chan struct{}),
		syncerDone: make(chan struct{}),
		syncFile:   syncFile,
		compress:   comp,
		jobs:       make(chan syncJob),
		sweepBatch: defaultSweepBatch,
	}
	s.files = newFileCache(opts.MaxOpenFiles, func(id uint32) (vfs.File, error) {
		return fsys.Open(s.packPath(id))
	})
	writable, spaceErr := s.enoughSpace()
	if !writable {
		return s.openReadOnly(spaceErr)
	}
	if s.db, err = openIndex(fsys, indexDir, false); err != nil {
		return nil, err
	}
	if err := s.recover(ctx); err != nil {
		if s.active != nil {
			s.active.f.Close()
		}
		s.db.Close()
		return nil, err
	}
	go s.syncLoop()
	return s, nil
}

// openReadOnly finishes Open on a disk too full to open the index for
// writing (spaceErr, or an error checking): the index is opened read-only,
// recovery is deferred and watchSpace finishes the job once space is
// freed. An index that does not exist yet cannot be opened read-only.
func (s *Store) openReadOnly(spaceErr error) (*Store, error) {
	var serr *store.SpaceError
	if !errors.As(spaceErr, &serr) {
		return nil, spaceErr
	}
	if ok, err := s.indexExists(); err != nil || !ok {
		return nil, cmp.Or(err, fmt.Errorf("packblocks: open %s: creating the index takes space: %w", s.opts.Dir, spaceErr))
	}
	db, err := openIndex(s.fs, s.indexDir, true)
	if err != nil {
		return nil, err
	}
	s.db, s.readOnly = db, true
	if err := s.readOnlyStats(); err != nil {
		db.Close()
		return nil, err
	}
	s.log.Warn("packblocks: the block store is read-only: its disk is too full to open its index for writing; "+
		"crash recovery is deferred until space is freed, and until then blocks in pack tails that were not "+
		"indexed before the last stop are not readable; it reopens for writing by itself once space is free",
		"dir", s.opts.Dir, "err", spaceErr)
	s.watchDone = make(chan struct{})
	go s.watchSpace()
	return s, nil
}

func (s *Store) packPath(id uint32) string {
	return s.fs.PathJoin(s.packDir, packName(id))
}

// Put implements store.BlockStore. It returns once data is in a pack that
// has been fdatasynced and indexed, or, for a key already stored, once the
// next group sync is done (see doc.go, Timing). If ctx ends first Put
// returns ctx's error, and the block may still be stored.
func (s *Store) Put(ctx context.Context, key ebs.Digest, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(data) > pack.MaxDataLen {
		return fmt.Errorf("packblocks: put %v: %d bytes over the %d limit", key, len(data), pack.MaxDataLen)
	}
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return fmt.Errorf("packblocks: put: %w", store.ErrClosed)
	}
	if s.dead != nil {
		return s.dead
	}
	if s.readOnly {
		return fmt.Errorf("packblocks: put %v: %w", key, s.spaceError())
	}
	s.putsActive.Add(1) // compaction yields to it (compact_pace.go)
	defer s.putsActive.Add(-1)
	for {
		call, leader := s.claim(key)
		if leader {
			return s.lead(ctx, key, data, call)
		}
		select {
		case <-call.done:
			if call.err == nil {
				return nil
			}
			// The Put we waited for failed, maybe for reasons of its own
			// (its pack broke), or the claim was a Get's that marked the
			// key's copy corrupt: try again, as the leader if nobody else is.
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// claim returns the claim on key in flight, or registers and returns a new
// one with leader true.
func (s *Store) claim(key ebs.Digest) (call *putCall, leader bool) {
	s.inflightMu.Lock()
	defer s.inflightMu.Unlock()
	if c, ok := s.inflight[key]; ok {
		return c, false
	}
	c := &putCall{done: make(chan struct{})}
	s.inflight[key] = c
	return c, true
}

// settle ends call, the claim on key, with err.
func (s *Store) settle(key ebs.Digest, call *putCall, err error) {
	s.inflightMu.Lock()
	delete(s.inflight, key)
	s.inflightMu.Unlock()
	call.err = err
	close(call.done)
}

// lead does the Put of key registered as call: the index is checked only
// now, while other Puts of key wait for this one, so a key is appended at
// most once. A key already stored appends nothing but still joins the
// pending group (a dedup hit takes as long as a write: see doc.go,
// Timing). The syncer settles call once the group holding it is synced.
func (s *Store) lead(ctx context.Context, key ebs.Digest, data []byte, call *putCall) error {
	found, err := s.hasAndTouch(key)
	if err == nil {
		// Dedup hits and appends are timed from here alike.
		if since := time.Now(); found {
			s.joinFound(key, call, since)
		} else {
			err = s.appendBlock(key, data, call, since)
		}
	}
	if err != nil {
		s.settle(key, call, err)
		return err
	}
	select {
	case <-call.done:
		return call.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// hasAndTouch reports whether key is stored and, if it is, touches it, in
// one step with respect to the syncer's sweep and compaction jobs: either
// the touch comes first and a sweep keeps key, or the sweep's delete comes
// first and key is found missing, so the Put appends it afresh (and the
// syncer touches it when it indexes it). A key not found needs no touch
// here: there is nothing indexed for a sweep to delete.
func (s *Store) hasAndTouch(key ebs.Digest) (bool, error) {
	s.touchMu.RLock()
	defer s.touchMu.RUnlock()
	found, err := has(s.db, key)
	if h := s.hooks.leadAfterHas; h != nil && err == nil {
		h(key, found)
	}
	if found {
		s.touch(key)
	}
	return found, err
}

// joinFound adds a dedup hit on key, found at since, to the pending group.
func (s *Store) joinFound(key ebs.Digest, call *putCall, since time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending.join(groupEntry{kind: entryFound, key: key, call: call}, since)
	s.kickSyncer()
}

// getAttempts bounds how often Get follows a block that moved: a
// compaction that moves it again meanwhile is as rare as two compactions
// during one read.
const getAttempts = 3

// Get implements store.BlockStore. A block that compaction moves while Get
// reads it is read from where it went (docs/gc.md §7.1): a pack is
// unlinked only after the index stopped naming it, so when Get cannot open
// or read the pack it looked up, it looks again, and goes on at the new
// location if there is one. Pack ids are never reused (I11), so an old
// location never names other bytes.
func (s *Store) Get(ctx context.Context, key ebs.Digest, dst []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return dst, err
	}
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return dst, fmt.Errorf("packblocks: get: %w", store.ErrClosed)
	}
	if s.dead != nil {
		return dst, s.dead
	}
	for range getAttempts {
		out, loc, err := s.read(key, dst)
		if err == nil {
			return out, nil
		}
		var corrupt *readCorrupt
		if !errors.As(err, &corrupt) {
			return dst, err
		}
		if moved, merr := s.moved(key, loc); merr != nil {
			return dst, merr
		} else if moved {
			continue
		}
		if corrupt.mark {
			s.dropCorrupt(ctx, key, loc)
		}
		return dst, corrupt.err
	}
	return dst, fmt.Errorf("packblocks: get %v: the block moved %d times while being read", key, getAttempts)
}

// readCorrupt is read's verdict that the copy it looked up is missing or
// damaged, unless it moved meanwhile: err is what Get returns if it did
// not, and mark says whether the copy is to be marked corrupt.
type readCorrupt struct {
	err  error
	mark bool
}

func (e *readCorrupt) Error() string { return e.err.Error() }

// read reads key's copy where the index says it is, and returns that
// location.
func (s *Store) read(key ebs.Digest, dst []byte) ([]byte, location, error) {
	loc, err := lookup(s.db, key)
	if err != nil {
		return dst, loc, err
	}
	if loc.corrupt {
		return dst, loc, fmt.Errorf("packblocks: get %v: %w: its copy was found corrupt; the next Put of the block stores it again", key, store.ErrCorrupt)
	}
	if h := s.hooks.getAfterLookup; h != nil {
		h(key)
	}
	cf, err := s.files.acquire(loc.pack)
	if errors.Is(err, fs.ErrNotExist) {
		return dst, loc, &readCorrupt{err: fmt.Errorf("packblocks: get %v: %w: %w", key, store.ErrCorrupt, err)}
	}
	if err != nil {
		return dst, loc, fmt.Errorf("packblocks: get %v: %w", key, err)
	}
	if h := s.hooks.getAfterOpen; h != nil {
		h(key)
	}
	out, h, err := pack.ReadEntryHeader(cf.f, loc.off, key, dst)
	s.files.release(cf)
	if err == nil && h.Len != loc.len {
		err = fmt.Errorf("%w: %d bytes stored, index says %d", pack.ErrCorrupt, h.Len, loc.len)
	}
	if errors.Is(err, pack.ErrCorrupt) {
		return dst, loc, &readCorrupt{err: fmt.Errorf("packblocks: get %v: %w: %w", key, store.ErrCorrupt, err), mark: true}
	}
	if err != nil {
		return dst, loc, fmt.Errorf("packblocks: get %v: %w", key, err)
	}
	return out, loc, nil
}

// moved reports whether the index no longer names loc for key: compaction
// moved it, or a sweep deleted it.
func (s *Store) moved(key ebs.Digest, loc location) (bool, error) {
	cur, err := lookup(s.db, key)
	if errors.Is(err, store.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return !cur.sameEntry(loc), nil
}

// Has implements store.BlockStore.
func (s *Store) Has(ctx context.Context, key ebs.Digest) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return false, fmt.Errorf("packblocks: has: %w", store.ErrClosed)
	}
	if s.dead != nil {
		return false, s.dead
	}
	return has(s.db, key)
}

// Close waits for the calls in flight, makes everything durable, and
// releases the store. Calls after Close return store.ErrClosed.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return fmt.Errorf("packblocks: close: %w", store.ErrClosed)
	}
	s.closed = true
	readOnly, dead := s.readOnly, s.dead // reopenWritable changes neither once closed
	s.closeMu.Unlock()

	// No call is in flight and none will start, but a Put that gave up on
	// its context may have left an append for the syncer: it drains them.
	close(s.quit)
	if s.watchDone != nil {
		<-s.watchDone
	}
	if readOnly {
		errs := []error{s.files.close()}
		if dead == nil {
			errs = append(errs, s.db.Close())
		}
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("packblocks: close: %w", err)
		}
		return nil
	}
	<-s.syncerDone

	var errs []error
	if p := s.active; p != nil {
		errs = append(errs, p.f.Close())
		s.active = nil
	}
	errs = append(errs, s.files.close())
	// Index batches are committed without syncing; syncing now spares the
	// next Open a rescan.
	errs = append(errs, s.db.Set(keyCount, u64(s.blocks), pebble.Sync))
	errs = append(errs, s.db.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("packblocks: close: %w", err)
	}
	return nil
}

// Stats are counters of a Store, cheap to read.
type Stats struct {
	Packs  int64 // pack files
	Bytes  int64 // bytes appended to pack files, headers included
	Blocks int64 // blocks indexed
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	return Stats{
		Packs:  s.stats.packs.Load(),
		Bytes:  s.stats.bytes.Load(),
		Blocks: s.stats.blocks.Load(),
	}
}
