package memstore

import (
	"context"
	"maps"
	"slices"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
)

// counts reports whether a mapping to ref counts in its owner's usage.
func counts(ref store.BlockRef) bool { return ref.Digest != ebs.ZeroBlockDigest }

// usageDelta returns how replacing the mapping old (had is false when
// there was none) by ref changes the usage.
func usageDelta(old store.BlockRef, had bool, ref store.BlockRef) int64 {
	was, is := had && counts(old), counts(ref)
	switch {
	case is && !was:
		return 1
	case was && !is:
		return -1
	}
	return 0
}

// addUsage adds delta to owner's usage, dropping a count that reaches
// zero. m.mu must be held: the same hold as the mapping's change.
func (m *Meta) addUsage(owner string, delta int64) {
	if delta == 0 {
		return
	}
	if m.usage[owner] += delta; m.usage[owner] == 0 {
		delete(m.usage, owner)
	}
}

// Usage implements store.MetaStore.
func (m *Meta) Usage(ctx context.Context, ownerID string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, errClosed("Usage")
	}
	return m.usage[ownerID], nil
}

// ScanUsage implements store.MetaStore, in owner order, on a copy taken
// when it starts.
func (m *Meta) ScanUsage(ctx context.Context, fn func(ownerID string, blocks int64) (bool, error)) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return errClosed("ScanUsage")
	}
	usage := maps.Clone(m.usage)
	m.mu.Unlock()
	for _, owner := range slices.Sorted(maps.Keys(usage)) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if more, err := fn(owner, usage[owner]); err != nil || !more {
			return err
		}
	}
	return nil
}
