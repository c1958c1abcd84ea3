package pebblemeta

import (
	"context"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/ebsd/ebsd/internal/store"
)

// upgradeBatch bounds the records whose index keys one batch of the
// upgrade writes, so that its memory does not grow with the store.
const upgradeBatch = 1024

// upgrade brings a store of format version from up to formatVersion and
// returns the version it is at. It runs when the database is opened,
// before the store serves any call, so nothing changes the keys it reads
// meanwhile.
//
// Every older version differs only by secondary indexes, which are a
// function of the records (indexes.go) and of the W keys (usage.go):
// version 1 had no O keys, version 2 no D keys, version 3 no U keys. So
// the upgrade deletes the P, O, D and U keys and writes them again from
// the S records and W keys, in batches, and stamps the new version only
// in a last synced batch, which also holds every U key. A crash at any point leaves the old version
// stamped and the upgrade runs again from the start on the next Open,
// whatever part of the keys it had written: it is idempotent. Version 4
// lacks only the R keys, which are optional (replaced.go): its upgrade
// only stamps the version.
func upgrade(db *pebble.DB, from byte) (byte, error) {
	if from < 1 || from >= formatVersion {
		return from, fmt.Errorf("store has format version %d, want %d: %w", from, formatVersion, store.ErrCorrupt)
	}
	var err error
	if from >= formatUsage {
		err = db.Set([]byte{spaceVersion}, []byte{formatVersion}, pebble.Sync)
	} else {
		err = rebuildIndexes(db)
	}
	if errors.Is(err, pebble.ErrReadOnly) {
		// Opened read-only (its disk is full): it serves reads, which
		// need no O key and list without D keys (list.go), and is upgraded
		// when it is reopened for writing.
		return from, nil
	}
	if err != nil {
		return from, fmt.Errorf("upgrade from version %d to %d: %w", from, formatVersion, err)
	}
	return formatVersion, nil
}

// rebuildIndexes rewrites every index key from the records and stamps
// formatVersion.
func rebuildIndexes(db *pebble.DB) (err error) {
	b := db.NewBatch()
	for _, space := range []byte{spaceState, spacePending, spaceList, spaceUsage} {
		_ = b.DeleteRange([]byte{space}, []byte{space + 1}, nil)
	}
	prefix := []byte{spaceSnapshot}
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		_ = b.Close()
		return err
	}
	defer func() {
		if cerr := it.Close(); err == nil {
			err = cerr
		}
	}()
	n := 0
	for valid := it.First(); valid; valid = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			_ = b.Close()
			return err
		}
		rec, err := decodeSnapshot(v)
		if err != nil {
			_ = b.Close()
			return fmt.Errorf("snapshot %q: %w", it.Key()[1:], err)
		}
		setIndexes(b, rec)
		if n++; n%upgradeBatch == 0 {
			err := b.Commit(pebble.NoSync)
			_ = b.Close()
			if err != nil {
				return err
			}
			b = db.NewBatch()
		}
	}
	// The last batch is synced, which makes every earlier one durable too
	// (the log is written in order), and it alone stamps the version. The
	// U keys, counted from the S and W keys, go in it too, after the
	// first batch's delete of the old ones (in a batch, later wins).
	usage, err := countUsage(context.Background(), db)
	if err != nil {
		_ = b.Close()
		return fmt.Errorf("count usage: %w", err)
	}
	for owner, n := range usage {
		_ = setUsage(b, owner, n)
	}
	_ = b.Set([]byte{spaceVersion}, []byte{formatVersion}, nil)
	err = b.Commit(pebble.Sync)
	_ = b.Close()
	return err
}
