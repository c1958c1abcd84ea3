package packblocks

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
)

// The index is a Pebble DB with these keys:
//
//	"b" key(32)       -> pack id (u32) | offset (u64) | stored length (u32) [| 1]: where a block is;
//	                     the trailing 1 marks a copy that Get found corrupt (not stored any more)
//	"w" pack id (u32) -> offset (u64): every entry of the pack before offset is indexed
//	"s" pack id (u32) -> empty: the pack is sealed, never to be appended to again
//	"n"               -> number of "b" keys not marked corrupt (u64), for Stats
//	"i"               -> u64: no pack id below it may be used again (compaction, I11)
//	"c" pack id (u32) -> compaction intent of the output pack: state (1 byte) | source ids (u32...)
//	"r" pack id (u32) -> empty: the pack was compacted away; its file is to be removed
//	"q" key(32)       -> pack id (u32) | offset (u64) | stored length (u32) | unix nanos (u64) | reason:
//	                     a copy that compaction found unreadable and dropped from the index
//	"z" pack id (u32) -> empty: the pack's entries are as compressed as they will be: compaction
//	                     wrote it with compression on, or sampling found nothing to gain
//	                     (compact_compress.go); older versions ignore it
//
// All integers are big-endian. They are only ever changed in batches that
// keep them consistent, so the index is consistent after any crash.
const (
	prefixBlock      = 'b'
	prefixWatermark  = 'w'
	prefixSealed     = 's'
	prefixIntent     = 'c'
	prefixRetired    = 'r'
	prefixQuarantine = 'q'
)

var (
	keyCount  = []byte("n")
	keyNextID = []byte("i")
)

// The states of a compaction intent ("c" key).
const (
	intentCopying byte = 1 // the output pack may exist, partly written; nothing points into it
	intentDone    byte = 2 // the index points into the output pack, the sources are retired
)

// packKey returns the key of pack id under prefix.
func packKey(prefix byte, id uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{prefix}, id)
}

func intentKey(out uint32) []byte   { return packKey(prefixIntent, out) }
func retiredKey(pack uint32) []byte { return packKey(prefixRetired, pack) }

func quarantineKey(k ebs.Digest) []byte {
	return append([]byte{prefixQuarantine}, k[:]...)
}

// encodeIntent encodes a compaction intent: its state and its sources.
func encodeIntent(state byte, sources []uint32) []byte {
	b := []byte{state}
	for _, id := range sources {
		b = binary.BigEndian.AppendUint32(b, id)
	}
	return b
}

// encodeQuarantine records why the copy at l was dropped, and when.
func encodeQuarantine(l location, at time.Time, reason string) []byte {
	b := l.encode()
	b = binary.BigEndian.AppendUint64(b, uint64(at.UnixNano()))
	return append(b, reason...)
}

// keysWithPrefix returns the keys and values under prefix, copied.
func keysWithPrefix(db *pebble.DB, prefix byte) (keys, values [][]byte, err error) {
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefix}, UpperBound: []byte{prefix + 1}})
	if err != nil {
		return nil, nil, fmt.Errorf("packblocks: index scan: %w", err)
	}
	for it.First(); it.Valid(); it.Next() {
		keys = append(keys, bytes.Clone(it.Key()))
		values = append(values, bytes.Clone(it.Value()))
	}
	if err := it.Close(); err != nil {
		return nil, nil, fmt.Errorf("packblocks: index scan: %w", err)
	}
	return keys, values, nil
}

// location is where a block's entry is.
type location struct {
	pack uint32
	off  int64 // offset of the entry header
	// len is the entry's stored length, its data bytes in the pack, which
	// the collector counts. It was the raw length (the bytes Get returns)
	// before blocks were compressed; the two are equal for every entry
	// stored as is, the only kind there was then.
	len uint32
	// corrupt says that Get found the entry corrupt: the key no longer
	// counts as stored, and the next Put of it appends a new copy.
	corrupt bool
}

func blockKey(k ebs.Digest) []byte {
	b := make([]byte, 0, 1+len(k))
	return append(append(b, prefixBlock), k[:]...)
}

// flagCorrupt, in a 17th byte after the location, marks a corrupt copy.
const flagCorrupt = 1

func (l location) encode() []byte {
	b := make([]byte, 16, 17)
	binary.BigEndian.PutUint32(b, l.pack)
	binary.BigEndian.PutUint64(b[4:], uint64(l.off))
	binary.BigEndian.PutUint32(b[12:], l.len)
	return b
}

// encodeCorrupt encodes l marked corrupt.
func (l location) encodeCorrupt() []byte { return append(l.encode(), flagCorrupt) }

func decodeLocation(b []byte) (location, error) {
	if len(b) != 16 && !(len(b) == 17 && b[16] == flagCorrupt) {
		return location{}, fmt.Errorf("%w: index value %x", store.ErrCorrupt, b)
	}
	return location{
		pack:    binary.BigEndian.Uint32(b),
		off:     int64(binary.BigEndian.Uint64(b[4:])),
		len:     binary.BigEndian.Uint32(b[12:]),
		corrupt: len(b) == 17,
	}, nil
}

// sameEntry reports whether l and o locate the same entry.
func (l location) sameEntry(o location) bool { return l.pack == o.pack && l.off == o.off }

func watermarkKey(pack uint32) []byte { return packKey(prefixWatermark, pack) }

func sealedKey(pack uint32) []byte { return packKey(prefixSealed, pack) }

// isSealed reports whether pack is sealed: never to be appended to again.
func isSealed(db *pebble.DB, pack uint32) (bool, error) {
	_, closer, err := db.Get(sealedKey(pack))
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("packblocks: index lookup: %w", err)
	}
	closer.Close()
	return true, nil
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// openIndex opens the Pebble DB at dir on fsys: for writing, creating it
// if needed, or read-only, which writes nothing (see SpaceError).
func openIndex(fsys vfs.FS, dir string, readOnly bool) (*pebble.DB, error) {
	db, err := pebble.Open(dir, &pebble.Options{
		FS:                 fsys,
		FormatMajorVersion: pebble.FormatNewest,
		Logger:             quietLogger{},
		ReadOnly:           readOnly,
	})
	if err != nil {
		return nil, fmt.Errorf("packblocks: open index %s: %w", dir, err)
	}
	return db, nil
}

// lookup returns the location of k, or store.ErrNotFound.
func lookup(db *pebble.DB, k ebs.Digest) (location, error) {
	v, closer, err := db.Get(blockKey(k))
	if errors.Is(err, pebble.ErrNotFound) {
		return location{}, fmt.Errorf("packblocks: block %v: %w", k, store.ErrNotFound)
	}
	if err != nil {
		return location{}, fmt.Errorf("packblocks: index lookup %v: %w", k, err)
	}
	defer closer.Close()
	return decodeLocation(v)
}

// has reports whether k is stored: indexed, and not found corrupt.
func has(db *pebble.DB, k ebs.Digest) (bool, error) {
	loc, err := lookup(db, k)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil && !loc.corrupt, err
}

// readU64 returns the uint64 stored under key, or 0 when there is none.
func readU64(db *pebble.DB, key []byte) (uint64, error) {
	v, closer, err := db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("packblocks: index read %q: %w", key, err)
	}
	defer closer.Close()
	if len(v) != 8 {
		return 0, fmt.Errorf("packblocks: index key %q: %w: %d-byte value", key, store.ErrCorrupt, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// watermarks returns every pack's watermark.
func watermarks(db *pebble.DB) (map[uint32]int64, error) {
	it, err := db.NewIter(&pebble.IterOptions{
		LowerBound: []byte{prefixWatermark},
		UpperBound: []byte{prefixWatermark + 1},
	})
	if err != nil {
		return nil, fmt.Errorf("packblocks: index scan: %w", err)
	}
	m := make(map[uint32]int64)
	for it.First(); it.Valid(); it.Next() {
		k, v := it.Key(), it.Value()
		if len(k) != 5 || len(v) != 8 {
			it.Close()
			return nil, fmt.Errorf("packblocks: index watermark %x: %w", k, store.ErrCorrupt)
		}
		m[binary.BigEndian.Uint32(k[1:])] = int64(binary.BigEndian.Uint64(v))
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("packblocks: index scan: %w", err)
	}
	return m, nil
}

// quietLogger drops Pebble's chatter and keeps its errors.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any) {}

func (quietLogger) Errorf(format string, args ...any) { log.Printf("pebble: "+format, args...) }

func (quietLogger) Fatalf(format string, args ...any) { log.Fatalf("pebble: "+format, args...) }
