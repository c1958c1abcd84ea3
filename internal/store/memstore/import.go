package memstore

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/ebsd/ebsd/internal/store"
)

var _ store.Importer = (*Meta)(nil)

// ImportSnapshot implements store.Importer, under the mutex that every
// write stores under, so the record, its mappings, its counts and idem
// appear together.
func (m *Meta) ImportSnapshot(ctx context.Context, s store.Snapshot, idem *store.Idempotency, blocks []store.IndexedRef) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errClosed("ImportSnapshot")
	}
	if _, ok := m.snapshots[s.ID]; ok {
		return fmt.Errorf("memstore: ImportSnapshot: snapshot %q: %w", s.ID, store.ErrExists)
	}
	var k idemKey
	if idem != nil {
		k = idemKey{idem.OwnerID, idem.ClientToken}
		if _, ok := m.idem[k]; ok {
			return fmt.Errorf("memstore: ImportSnapshot: client token %q of %s: %w", idem.ClientToken, idem.OwnerID, store.ErrExists)
		}
		m.idem[k] = cloneIdempotency(*idem)
	}
	e := &snapshotEntry{blocks: make(map[int32]store.BlockRef, len(blocks)), activity: s.LastActivity.Round(0)}
	s.LastActivity = time.Time{}
	e.record = cloneSnapshot(s)
	for _, b := range blocks {
		old, had := e.blocks[b.Index]
		m.addUsage(s.OwnerID, usageDelta(old, had, b.Ref))
		e.blocks[b.Index] = b.Ref
	}
	m.snapshots[s.ID] = e
	m.count(store.Snapshot{}, s)
	return nil
}

// ScanSecrets implements store.Importer, on a copy taken when it starts.
func (m *Meta) ScanSecrets(ctx context.Context, fn func(name string, value []byte) (bool, error)) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return errClosed("ScanSecrets")
	}
	secrets := maps.Clone(m.secrets)
	m.mu.Unlock()
	for _, name := range slices.Sorted(maps.Keys(secrets)) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if more, err := fn(name, slices.Clone(secrets[name])); err != nil || !more {
			return err
		}
	}
	return nil
}
