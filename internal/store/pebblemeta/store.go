package pebblemeta

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"

	"github.com/ebsd/ebsd/internal/store"
)

// Default sizes of Pebble's memory. The whole server must stay well under
// 256 MiB; the metadata of a busy server fits in far less.
const (
	DefaultCacheSize    = 32 << 20
	DefaultMemTableSize = 8 << 20
)

// Options configure Open.
type Options struct {
	// Dir is the directory of the store; Open creates it if needed.
	Dir string

	// CacheSize is the size in bytes of Pebble's block cache;
	// DefaultCacheSize when 0.
	CacheSize int64

	// MemTableSize is the size in bytes of one Pebble memtable (up to
	// three exist at once); DefaultMemTableSize when 0.
	MemTableSize uint64

	// Logger receives Pebble's messages: its routine ones at Debug level,
	// its errors at Error level. slog.Default() when nil.
	Logger *slog.Logger
}

// Store is a store.MetaStore in a Pebble database. Create it with Open.
type Store struct {
	db          *pebble.DB
	gate        gate
	stripes     stripes
	writeStates writeStates

	createMu sync.Mutex // makes CreateSnapshot's check and insert atomic
	secretMu sync.Mutex // makes Secret's check, generate and insert atomic
}

var _ store.MetaStore = (*Store)(nil)

// Open opens the store in opts.Dir, creating it when it does not exist.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("pebblemeta: Open: no directory")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	po := pebbleOptions(opts)
	db, err := pebble.Open(opts.Dir, po)
	if err != nil {
		return nil, fmt.Errorf("pebblemeta: opening %s: %w", opts.Dir, err)
	}
	if err := checkVersion(db); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("pebblemeta: opening %s: %w", opts.Dir, err)
	}
	s := &Store{db: db}
	s.gate.init()
	s.stripes.init()
	return s, nil
}

// pebbleOptions tunes Pebble for small records, point lookups and short
// scans, in modest memory.
func pebbleOptions(opts Options) *pebble.Options {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	po := &pebble.Options{
		FormatMajorVersion: pebble.FormatNewest,
		CacheSize:          opts.CacheSize,
		MemTableSize:       opts.MemTableSize,
		MaxOpenFiles:       256,
		Logger:             pebbleLogger{logger},
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

// checkVersion stamps a new store with formatVersion and refuses a store
// of another version.
func checkVersion(db *pebble.DB) error {
	key := []byte{spaceVersion}
	v, closer, err := db.Get(key)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		return db.Set(key, []byte{formatVersion}, pebble.Sync)
	case err != nil:
		return err
	}
	defer closer.Close()
	if len(v) != 1 || v[0] != formatVersion {
		return fmt.Errorf("store has format version %x, want %d: %w", v, formatVersion, store.ErrCorrupt)
	}
	return nil
}

// Close implements store.MetaStore. It waits for calls in flight to return,
// then closes the database; it must not be called from a callback of the
// store's own methods.
func (s *Store) Close() error {
	if !s.gate.close() {
		return fmt.Errorf("pebblemeta: Close: %w", store.ErrClosed)
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
	return nil
}

// get returns a copy of the value of key, or ErrNotFound.
func (s *Store) get(key []byte) ([]byte, error) {
	v, closer, err := s.db.Get(key)
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
