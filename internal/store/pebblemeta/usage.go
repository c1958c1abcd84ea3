package pebblemeta

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"unsafe"

	"github.com/cockroachdb/pebble/v2"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
)

// An owner's usage is the number of its snapshots' W entries whose digest
// is not the zero block's (store.MetaStore.Usage). It is kept in the
// owner's U key, changed in the same batch as the W keys that change it:
// by PutBlock (+1 for a new non-zero index, -1 for a non-zero one
// overwritten by a zero block) and by PurgeSnapshot (minus the non-zero
// entries each batch removes). A crash therefore never separates a
// mapping from its count: the log replays a prefix of the batches.
//
// Pebble has no atomic add without a merge operator, and a merge operator
// cannot be added to an existing database (Pebble refuses to open one
// created with another), so each change is a read-modify-write of the U
// key under the owner's usage lock. To keep group commit, the lock covers
// only the reads and the batch's application (ApplyNoSyncWait: it is then
// visible to the next reader and ordered before the next batch in the
// log), not the wait for the log's sync. Batches applied in lock order
// reach the log in that order, so whatever prefix survives a crash holds
// a U value that counts exactly the W keys it holds.
//
// PutBlock also reads the index's old W value under the lock: two
// PutBlocks of one index, which share only a stripe's read lock, would
// otherwise both find it new and both count it.

// usageStripeCount is the number of usage locks owners hash to. Owners
// that share one only take turns applying their batches.
const usageStripeCount = 64

// usageLocks maps an owner to the mutex that orders the changes of its U
// key.
type usageLocks struct {
	seed  maphash.Seed
	locks [usageStripeCount]paddedMutex
}

// paddedMutex keeps each lock on its own cache line.
type paddedMutex struct {
	sync.Mutex
	_ [64 - unsafe.Sizeof(sync.Mutex{})]byte
}

func (u *usageLocks) init() { u.seed = maphash.MakeSeed() }

func (u *usageLocks) of(owner string) *sync.Mutex {
	return &u.locks[maphash.String(u.seed, owner)%usageStripeCount].Mutex
}

// commitCounted commits b with the change of owner's usage that delta
// computes, under owner's usage lock: delta runs under it, and may read
// what earlier batches changed. When durable, it returns once b is synced;
// otherwise once b is applied.
func (s *Store) commitCounted(b *pebble.Batch, owner string, durable bool, delta func() (int64, error)) error {
	mu := s.usageLocks.of(owner)
	mu.Lock()
	d, err := delta()
	if err == nil && d != 0 {
		err = addUsage(s.db, b, owner, d)
	}
	if err != nil {
		mu.Unlock()
		return err
	}
	if !durable {
		err = b.Commit(pebble.NoSync)
		mu.Unlock()
		return err
	}
	err = s.db.ApplyNoSyncWait(b, pebble.Sync)
	mu.Unlock()
	if err != nil {
		return err
	}
	return b.SyncWait()
}

// addUsage adds to b the change of owner's U key by delta, read from r.
// A counter that reaches zero is deleted, so that owners whose snapshots
// are all purged leave no key.
func addUsage(r pebble.Reader, b *pebble.Batch, owner string, delta int64) error {
	n, err := usageIn(r, owner)
	if err != nil {
		return err
	}
	if n += delta; n < 0 {
		return fmt.Errorf("usage of %s would become %d: %w", owner, n, store.ErrCorrupt)
	}
	return setUsage(b, owner, n)
}

// setUsage adds to b the setting of owner's U key to n.
func setUsage(b *pebble.Batch, owner string, n int64) error {
	if n == 0 {
		return b.Delete(usageKey(owner), nil)
	}
	return b.Set(usageKey(owner), binary.BigEndian.AppendUint64(nil, uint64(n)), nil)
}

// usageIn returns owner's counter read from r: 0 when it has no U key.
func usageIn(r pebble.Reader, owner string) (int64, error) {
	v, err := get(r, usageKey(owner))
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("usage of %s: %w", owner, err)
	}
	return decodeUsage(owner, v)
}

func decodeUsage(owner string, v []byte) (int64, error) {
	if len(v) != 8 || int64(binary.BigEndian.Uint64(v)) < 0 {
		return 0, fmt.Errorf("usage of %s: value %x: %w", owner, v, store.ErrCorrupt)
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

// counts reports whether a mapping to ref counts in its owner's usage.
func counts(ref store.BlockRef) bool { return ref.Digest != ebs.ZeroBlockDigest }

// refDelta returns how mapping an index to ref changes the usage, given
// the index's old W value (nil when it had none).
func refDelta(old []byte, ref store.BlockRef) (int64, error) {
	was := false
	if old != nil {
		o, err := decodeRef(old)
		if err != nil {
			return 0, err
		}
		was = counts(o)
	}
	switch is := counts(ref); {
	case is && !was:
		return 1, nil
	case was && !is:
		return -1, nil
	}
	return 0, nil
}

// Usage implements store.MetaStore: the owner's U key, or, in a store of
// an older format opened read-only, a count of the W keys of the owner's
// snapshots.
func (s *Store) Usage(ctx context.Context, ownerID string) (int64, error) {
	if err := s.enter("Usage"); err != nil {
		return 0, err
	}
	defer s.gate.leave()
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if s.format.Load() < formatUsage {
		all, err := countUsage(ctx, s.db)
		if err != nil {
			return 0, wrapOp("Usage", err)
		}
		return all[ownerID], nil
	}
	n, err := usageIn(s.db, ownerID)
	if err != nil {
		return 0, wrapOp("Usage", err)
	}
	return n, nil
}

// ScanUsage implements store.MetaStore, in the order of the U keys.
func (s *Store) ScanUsage(ctx context.Context, fn func(ownerID string, blocks int64) (bool, error)) error {
	if err := s.enter("ScanUsage"); err != nil {
		return err
	}
	defer s.gate.leave()
	if s.format.Load() < formatUsage {
		all, err := countUsage(ctx, s.db)
		if err != nil {
			return wrapOp("ScanUsage", err)
		}
		for owner, n := range all {
			if more, err := fn(owner, n); err != nil || !more {
				return err
			}
		}
		return nil
	}
	type usage struct {
		owner string
		n     int64
	}
	var found []usage // read first: fn may call the store
	prefix := []byte{spaceUsage}
	err := s.scan(ctx, prefix, prefixEnd(prefix), func(key, value []byte) (bool, error) {
		owner, ok := decodeOwner(key[1:])
		if !ok {
			return false, fmt.Errorf("usage key %x: %w", key, store.ErrCorrupt)
		}
		n, err := decodeUsage(owner, value)
		if err != nil {
			return false, err
		}
		found = append(found, usage{owner, n})
		return true, nil
	})
	if err != nil {
		return wrapOp("ScanUsage", err)
	}
	for _, u := range found {
		if err := ctx.Err(); err != nil {
			return err
		}
		if more, err := fn(u.owner, u.n); err != nil || !more {
			return err
		}
	}
	return nil
}

// decodeOwner decodes a length-prefixed owner that fills b.
func decodeOwner(b []byte) (string, bool) {
	n, w := binary.Uvarint(b)
	if w <= 0 || uint64(len(b)-w) != n {
		return "", false
	}
	return string(b[w:]), true
}

// countUsage counts every owner's usage from the records and W keys read
// from r: what the U keys hold, for the upgrade and for a store that has
// none yet.
func countUsage(ctx context.Context, r pebble.Reader) (map[string]int64, error) {
	owners := make(map[string]string) // snapshot ID -> owner
	prefix := []byte{spaceSnapshot}
	err := scan(ctx, r, prefix, prefixEnd(prefix), func(key, value []byte) (bool, error) {
		rec, err := decodeSnapshot(value)
		if err != nil {
			return false, fmt.Errorf("snapshot %q: %w", key[1:], err)
		}
		owners[rec.ID] = rec.OwnerID
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	usage := make(map[string]int64)
	for id, owner := range owners {
		err := ownBlocks(ctx, r, id, -1<<31, func(b store.IndexedRef) (bool, error) {
			if counts(b.Ref) {
				usage[owner]++
			}
			return true, nil
		})
		if err != nil {
			return nil, fmt.Errorf("blocks of %s: %w", id, err)
		}
	}
	return usage, nil
}
