package pebblemeta

import (
	"context"
	"errors"
	"fmt"

	"github.com/ebsd/ebsd/internal/store"
)

// ListSnapshots implements store.MetaStore. It walks ownerID's D keys from
// after, which cost one step each, and reads the record of each: a page
// costs what it returns, plus the snapshots deleted since its iterator was
// made, which it skips.
func (s *Store) ListSnapshots(ctx context.Context, ownerID, after string, limit int) ([]store.Snapshot, error) {
	if err := s.enter("ListSnapshots"); err != nil {
		return nil, err
	}
	defer s.gate.leave()
	if err := ctx.Err(); err != nil || limit <= 0 {
		return nil, err
	}
	var (
		out []store.Snapshot
		err error
	)
	if s.format.Load() >= formatListed {
		out, err = s.listIndexed(ctx, ownerID, after, limit)
	} else {
		out, err = s.listByScan(ctx, ownerID, after, limit)
	}
	if err != nil {
		return nil, wrapOp("ListSnapshots", err)
	}
	return out, nil
}

// listIndexed lists from the D keys.
func (s *Store) listIndexed(ctx context.Context, ownerID, after string, limit int) ([]store.Snapshot, error) {
	prefix := listPrefix(ownerID)
	lower := prefix
	if after != "" {
		lower = append(listKey(ownerID, after), 0) // the first key after after's
	}
	var out []store.Snapshot
	err := s.scan(ctx, lower, prefixEnd(prefix), func(key, _ []byte) (bool, error) {
		snap, err := s.getSnapshot(string(key[len(prefix):]))
		if errors.Is(err, store.ErrNotFound) {
			return true, nil // purged since the iterator was made
		}
		if err != nil {
			return false, err
		}
		return s.appendListed(&out, snap, ownerID, limit)
	})
	return out, err
}

// listByScan lists from the records, in ID order too: a store of a format
// without D keys, opened read-only, lists that way until it is upgraded.
func (s *Store) listByScan(ctx context.Context, ownerID, after string, limit int) ([]store.Snapshot, error) {
	lower := []byte{spaceSnapshot}
	if after != "" {
		lower = append(snapshotKey(after), 0)
	}
	var out []store.Snapshot
	err := s.scan(ctx, lower, prefixEnd([]byte{spaceSnapshot}), func(key, value []byte) (bool, error) {
		snap, err := decodeSnapshot(value)
		if err != nil {
			return false, fmt.Errorf("snapshot %q: %w", key[1:], err)
		}
		return s.appendListed(&out, snap, ownerID, limit)
	})
	return out, err
}

// appendListed appends snap to out with its last activity when it is
// ownerID's and not deleted (a D key read from an iterator may be older
// than the record), and reports whether out has room for more.
func (s *Store) appendListed(out *[]store.Snapshot, snap store.Snapshot, ownerID string, limit int) (bool, error) {
	if snap.OwnerID != ownerID || !listed(snap.State) {
		return true, nil
	}
	var err error
	if snap.LastActivity, err = s.activity(snap.ID); err != nil {
		return false, err
	}
	*out = append(*out, snap)
	return len(*out) < limit, nil
}
