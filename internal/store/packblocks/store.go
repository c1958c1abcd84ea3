package packblocks

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/pack"
	"github.com/ebsd/ebsd/internal/store"
)

var _ store.BlockStore = (*Store)(nil)

// Store is a store.BlockStore that appends blocks to pack files in a local
// directory and indexes them in Pebble. See the package documentation.
type Store struct {
	opts    Options
	packDir string
	db      *pebble.DB
	files   *fileCache

	// closeMu is held shared by every call and exclusively by Close, so
	// that Close waits for the calls in flight and later calls see closed.
	closeMu sync.RWMutex
	closed  bool

	// inflight holds the Puts that are writing a key, so that concurrent
	// Puts of one key append it once.
	inflightMu sync.Mutex
	inflight   map[ebs.Digest]*putCall

	// mu is the append lock. Holding it across the write system calls
	// makes every pack a sequence of complete writes: when an entry's
	// write returns, every byte before it in its pack has been written,
	// so a sync started after that covers the whole prefix (see recover).
	mu      sync.Mutex
	active  *activePack // nil: the next append starts a new pack
	nextID  uint32      // id of the next pack to create
	pending *syncGroup  // appends not yet handed to the syncer

	kick       chan struct{} // wakes the syncer; capacity 1
	quit       chan struct{} // closed by Close to stop the syncer
	syncerDone chan struct{}

	blocks uint64 // number of indexed blocks; owned by the syncer once Open returns

	// syncFile makes a pack's appends durable: fdatasync, or a fault
	// injector in tests.
	syncFile func(*os.File) error

	stats struct{ packs, bytes, blocks atomic.Int64 }
}

// activePack is a pack open for appending.
type activePack struct {
	id uint32
	f  *os.File
	w  *pack.Writer
	// broken is the error of a failed sync of f. Once set (under Store.mu)
	// no entry of f that was not yet acknowledged ever will be: after a
	// failed fsync the kernel may have dropped those pages and a later
	// fsync can succeed without them.
	broken error
}

// putCall is a Put in flight, which other Puts of the same key wait for.
type putCall struct {
	done chan struct{}
	err  error // set before done is closed
}

// Open opens the store in opts.Dir, creating it if needed, and recovers
// from any crash: pack tails that were written but not indexed are indexed
// and torn tails are cut off (see doc.go).
func Open(ctx context.Context, opts Options) (*Store, error) {
	return open(ctx, opts, fdatasync)
}

// open is Open with the function the syncer uses to sync packs.
func open(ctx context.Context, opts Options, syncFile func(*os.File) error) (*Store, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	_, statErr := os.Stat(opts.Dir)
	packDir := filepath.Join(opts.Dir, "packs")
	if err := os.MkdirAll(packDir, 0o755); err != nil {
		return nil, fmt.Errorf("packblocks: %w", err)
	}
	// Make the directories durable before any block lands in them.
	if errors.Is(statErr, fs.ErrNotExist) {
		if err := syncDir(filepath.Dir(filepath.Clean(opts.Dir))); err != nil {
			return nil, err
		}
	}
	if err := syncDir(opts.Dir); err != nil {
		return nil, err
	}
	db, err := openIndex(filepath.Join(opts.Dir, "index"))
	if err != nil {
		return nil, err
	}
	s := &Store{
		opts:       opts,
		packDir:    packDir,
		db:         db,
		inflight:   make(map[ebs.Digest]*putCall),
		pending:    newSyncGroup(),
		kick:       make(chan struct{}, 1),
		quit:       make(chan struct{}),
		syncerDone: make(chan struct{}),
		syncFile:   syncFile,
	}
	s.files = newFileCache(opts.MaxOpenFiles, s.packPath)
	if err := s.recover(ctx); err != nil {
		if s.active != nil {
			s.active.f.Close()
		}
		db.Close()
		return nil, err
	}
	go s.syncLoop()
	return s, nil
}

func (s *Store) packPath(id uint32) string {
	return filepath.Join(s.packDir, packName(id))
}

// Put implements store.BlockStore. It returns once data is in a pack that
// has been fdatasynced and indexed. If ctx ends first Put returns ctx's
// error, and the block may still be stored.
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
			// (its pack broke): try again, as the leader if nobody else is.
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// claim returns the Put in flight for key, or registers and returns a new
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

// settle ends call, the Put in flight for key, with err.
func (s *Store) settle(key ebs.Digest, call *putCall, err error) {
	s.inflightMu.Lock()
	delete(s.inflight, key)
	s.inflightMu.Unlock()
	call.err = err
	close(call.done)
}

// lead does the Put of key registered as call: the index is checked only
// now, while other Puts of key wait for this one, so a key is appended at
// most once. The syncer settles call once the group holding it is durable.
func (s *Store) lead(ctx context.Context, key ebs.Digest, data []byte, call *putCall) error {
	found, err := has(s.db, key)
	if err == nil && !found {
		err = s.append(key, data, call)
		if err == nil {
			select {
			case <-call.done:
				return call.err
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	s.settle(key, call, err)
	return err
}

// Get implements store.BlockStore.
func (s *Store) Get(ctx context.Context, key ebs.Digest, dst []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return dst, err
	}
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return dst, fmt.Errorf("packblocks: get: %w", store.ErrClosed)
	}
	loc, err := lookup(s.db, key)
	if err != nil {
		return dst, err
	}
	cf, err := s.files.acquire(loc.pack)
	if errors.Is(err, fs.ErrNotExist) {
		return dst, fmt.Errorf("packblocks: get %v: %w: %w", key, store.ErrCorrupt, err)
	}
	if err != nil {
		return dst, fmt.Errorf("packblocks: get %v: %w", key, err)
	}
	out, err := pack.ReadEntry(cf.f, loc.off, key, dst)
	s.files.release(cf)
	if errors.Is(err, pack.ErrCorrupt) {
		return dst, fmt.Errorf("packblocks: get %v: %w: %w", key, store.ErrCorrupt, err)
	}
	if err != nil {
		return dst, fmt.Errorf("packblocks: get %v: %w", key, err)
	}
	if n := len(out) - len(dst); n != int(loc.len) {
		return dst, fmt.Errorf("packblocks: get %v: %w: %d bytes, index says %d", key, store.ErrCorrupt, n, loc.len)
	}
	return out, nil
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
	s.closeMu.Unlock()

	// No call is in flight and none will start, but a Put that gave up on
	// its context may have left an append for the syncer: it drains them.
	close(s.quit)
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
