package pebblemeta

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/vfsdir"
)

// Default sizes of Pebble's memory. The whole server must stay well under
// 256 MiB; the metadata of a busy server fits in far less.
const (
	DefaultCacheSize    = 32 << 20
	DefaultMemTableSize = 8 << 20
)

// Options configure Open.
type Options struct {
	// Dir is the directory of the store; Open creates it if needed, with
	// mode 0700.
	Dir string

	// FS is the file system the store keeps everything in: vfs.Default
	// when nil. vfs.NewCrashableMem() lets a test cut the power.
	FS vfs.FS

	// CacheSize is the size in bytes of Pebble's block cache;
	// DefaultCacheSize when 0.
	CacheSize int64

	// MemTableSize is the size in bytes of one Pebble memtable (up to
	// three exist at once); DefaultMemTableSize when 0.
	MemTableSize uint64

	// MinFreeBytes is the free space, on the file system holding Dir,
	// below which the store counts as full: Open then opens it read-only
	// (see SpaceError) and CheckSpace reports it. DefaultMinFreeBytes when
	// 0; a negative value turns the checks off.
	MinFreeBytes int64

	// Logger receives Pebble's messages: its routine ones at Debug level,
	// its errors at Error level (rate-limited), and the store's own
	// changes between read-only and writable. slog.Default() when nil.
	Logger *slog.Logger

	// SkipReplaced makes the store record no R keys when a snapshot
	// completes (replaced.go), as a store of format version 4 did: for
	// tests of the stores and data directories made before them.
	SkipReplaced bool
}

// withDefaults fills in the zero values of opts.
func (opts Options) withDefaults() Options {
	if opts.FS == nil {
		opts.FS = vfs.Default
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MinFreeBytes == 0 {
		opts.MinFreeBytes = DefaultMinFreeBytes
	}
	return opts
}

// Store is a store.MetaStore in a Pebble database. Create it with Open.
type Store struct {
	opts        Options
	db          *pebble.DB // replaced only inside gate.exclusive
	gate        gate
	stripes     stripes
	usageLocks  usageLocks
	writeStates writeStates
	marked      markedSet // snapshots whose R marker was seen (replaced.go)
	space       space
	format      atomic.Int32 // the format version of db; below formatListed only when read-only
	views       atomic.Int32 // open MarkViews, which a reopen waits for (space.go)

	createMu sync.Mutex // makes CreateSnapshot's check and insert atomic
	secretMu sync.Mutex // makes Secret's check, generate and insert atomic
}

var _ store.MetaStore = (*Store)(nil)

// Open opens the store in opts.Dir, creating it when it does not exist.
// When the file system holding it is too full for Pebble to replay its
// write-ahead log, Open opens it read-only and reopens it writable by
// itself once space is freed; see SpaceError.
//
// Pebble's own open cannot be interrupted (on a full disk it retries a
// failing flush forever), so Open returns ctx's error as soon as ctx ends
// and leaves that open to finish, or not, in the background: the caller
// is expected to exit.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("pebblemeta: Open: no directory")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	if err := vfsdir.MkdirAll(opts.FS, opts.Dir); err != nil {
		return nil, fmt.Errorf("pebblemeta: %w", err)
	}
	s := &Store{opts: opts}
	s.space.init(opts)
	readOnly, err := s.space.mustOpenReadOnly()
	if err != nil {
		return nil, fmt.Errorf("pebblemeta: opening %s: %w", opts.Dir, err)
	}
	db, err := openDB(ctx, opts, readOnly)
	if err != nil {
		return nil, fmt.Errorf("pebblemeta: opening %s: %w", opts.Dir, err)
	}
	format, err := checkVersion(db)
	if err != nil {
		_ = db.Close()
		if readOnly && errors.Is(err, pebble.ErrReadOnly) {
			err = fmt.Errorf("its format must be upgraded, which takes space: %w", s.space.errorNow())
		}
		return nil, fmt.Errorf("pebblemeta: opening %s: %w", opts.Dir, err)
	}
	s.db = db
	s.format.Store(int32(format))
	s.gate.init()
	s.stripes.init()
	s.usageLocks.init()
	if readOnly {
		s.opts.Logger.Warn("the metadata store is read-only: its disk is too full to open it for writing",
			"dir", opts.Dir, "err", s.space.errorNow())
		s.space.watch(s.reopenWritable)
	}
	return s, nil
}

// openDB opens the Pebble database of opts, giving up when ctx ends.
func openDB(ctx context.Context, opts Options, readOnly bool) (*pebble.DB, error) {
	type result struct {
		db  *pebble.DB
		err error
	}
	done := make(chan result, 1)
	go func() {
		db, err := pebble.Open(opts.Dir, pebbleOptions(opts, readOnly))
		done <- result{db, err}
	}()
	select {
	case r := <-done:
		return r.db, r.err
	case <-ctx.Done():
		go func() {
			if r := <-done; r.db != nil {
				_ = r.db.Close()
			}
		}()
		return nil, fmt.Errorf("gave up waiting for the database to open: %w", ctx.Err())
	}
}

// pebbleOptions tunes Pebble for small records, point lookups and short
// scans, in modest memory.
func pebbleOptions(opts Options, readOnly bool) *pebble.Options {
	po := &pebble.Options{
		FS:                 opts.FS,
		ReadOnly:           readOnly,
		FormatMajorVersion: pebble.FormatNewest,
		CacheSize:          opts.CacheSize,
		MemTableSize:       opts.MemTableSize,
		MaxOpenFiles:       256,
		Logger:             newPebbleLogger(opts.Logger, opts.Dir),
	}
	if po.CacheSize == 0 {
		po.CacheSize = DefaultCacheSize
	}
	if po.MemTableSize == 0 {
		po.MemTableSize = DefaultMemTableSize
	}
	// Bloom filters spare a disk read per level for the point lookups of
	// records (every PutBlock reads its snapshot's). Deeper levels inherit
	// the filter of L0.
	po.Levels[0].FilterPolicy = bloom.FilterPolicy(10)
	return po
}

// checkVersion stamps a new store with formatVersion, upgrades a store of
// an older version (upgrade.go) and refuses one of a newer version. It
// returns the version the store is at: an older one only when db is
// read-only, which defers the upgrade.
func checkVersion(db *pebble.DB) (byte, error) {
	key := []byte{spaceVersion}
	v, closer, err := db.Get(key)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		return formatVersion, db.Set(key, []byte{formatVersion}, pebble.Sync)
	case err != nil:
		return 0, err
	}
	defer closer.Close()
	if len(v) == 1 && v[0] < formatVersion {
		return upgrade(db, v[0])
	}
	if len(v) != 1 || v[0] != formatVersion {
		return 0, fmt.Errorf("store has format version %x, want %d: %w", v, formatVersion, store.ErrCorrupt)
	}
	return formatVersion, nil
}

// Close implements store.MetaStore. It waits for calls in flight to return,
// then closes the database; it must not be called from a callback of the
// store's own methods.
func (s *Store) Close() error {
	s.space.stop()
	if !s.gate.close() {
		return fmt.Errorf("pebblemeta: Close: %w", store.ErrClosed)
	}
	if s.db == nil {
		return nil // a failed reopen left none; it said so in the log
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("pebblemeta: Close: %w", err)
	}
	return nil
}

// enter admits a call, or returns ErrClosed after Close. Every successful
// enter must be followed by s.gate.leave().
func (s *Store) enter(op string) error {
	if !s.gate.enter() {
		return fmt.Errorf("pebblemeta: %s: %w", op, store.ErrClosed)
	}
	if s.db == nil {
		s.gate.leave()
		return fmt.Errorf("pebblemeta: %s: the database could not be reopened: %w", op, store.ErrClosed)
	}
	return nil
}

// enterWrite is enter for a call that writes: while the store is
// read-only, or less than half of MinFreeBytes is free, it returns a
// *store.SpaceError instead, which errors.Is matches with syscall.ENOSPC. (The
// store changes mode only with no call in flight, so the answer holds
// until leave.)
func (s *Store) enterWrite(op string) error {
	if err := s.enter(op); err != nil {
		return err
	}
	if err := s.space.checkWrite(); err != nil {
		s.gate.leave()
		return fmt.Errorf("pebblemeta: %s: %w", op, err)
	}
	return nil
}

// get returns a copy of the value of key, or ErrNotFound.
func (s *Store) get(key []byte) ([]byte, error) { return get(s.db, key) }

// get is Store.get reading from r.
func get(r pebble.Reader, key []byte) ([]byte, error) {
	v, closer, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return append([]byte(nil), v...), nil
}

// getSnapshot returns the record of snapshot id, or ErrNotFound.
func (s *Store) getSnapshot(id string) (store.Snapshot, error) {
	v, err := s.get(snapshotKey(id))
	if err != nil {
		return store.Snapshot{}, fmt.Errorf("snapshot %q: %w", id, err)
	}
	rec, err := decodeSnapshot(v)
	if err != nil {
		return store.Snapshot{}, fmt.Errorf("snapshot %q: %w", id, err)
	}
	return rec, nil
}

// rootOf returns the ID under which the lineage tree of s is laid out.
func rootOf(s store.Snapshot) string {
	if s.RootID == "" {
		return s.ID
	}
	return s.RootID
}

// wrapOp wraps err as an error of op.
func wrapOp(op string, err error) error { return fmt.Errorf("pebblemeta: %s: %w", op, err) }
