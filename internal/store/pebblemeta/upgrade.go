package pebblemeta

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/ebsd/ebsd/internal/store"
)

// upgrade brings a store of format version from up to formatVersion in one
// synced batch. It runs when the database is opened writable, before the
// store serves any write, so nothing changes the keys it reads meanwhile.
func upgrade(db *pebble.DB, from byte) error {
	if from != 1 {
		return fmt.Errorf("store has format version %d, want %d: %w", from, formatVersion, store.ErrCorrupt)
	}
	b := db.NewBatch()
	defer b.Close()
	// Version 2 indexes pending snapshots by owner as well (the O keys):
	// one for each P key.
	prefix := []byte{spaceState}
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return err
	}
	for valid := it.First(); valid; valid = it.Next() {
		key := it.Key()
		if len(key) < 2 {
			_ = it.Close()
			return fmt.Errorf("state key %x: %w", key, store.ErrCorrupt)
		}
		id := string(key[2:])
		v, closer, err := db.Get(snapshotKey(id))
		if err != nil {
			_ = it.Close()
			return fmt.Errorf("upgrade to version %d: snapshot %q: %w", formatVersion, id, err)
		}
		snap, err := decodeSnapshot(v)
		_ = closer.Close()
		if err != nil {
			_ = it.Close()
			return fmt.Errorf("upgrade to version %d: snapshot %q: %w", formatVersion, id, err)
		}
		_ = b.Set(pendingKey(snap.OwnerID, id), nil, nil)
	}
	if err := it.Close(); err != nil {
		return err
	}
	_ = b.Set([]byte{spaceVersion}, []byte{formatVersion}, nil)
	err = b.Commit(pebble.Sync)
	if errors.Is(err, pebble.ErrReadOnly) {
		// Opened read-only (its disk is full): it serves reads, which need
		// no O key, and is upgraded when it is reopened for writing.
		return nil
	}
	return err
}
