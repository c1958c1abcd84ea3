package pebblemeta

import (
	"context"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/ebsd/ebsd/internal/store"
)

// Secret implements store.MetaStore. Pebble allows one process per
// database, so a mutex makes check, generate and store atomic.
func (s *Store) Secret(ctx context.Context, name string, generate func() ([]byte, error)) ([]byte, error) {
	if err := s.enter("Secret"); err != nil {
		return nil, err
	}
	defer s.gate.leave()
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	s.secretMu.Lock()
	defer s.secretMu.Unlock()
	key := secretKey(name)
	v, err := s.get(key)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("pebblemeta: Secret %q: %w", name, err)
	}
	if v, err = generate(); err != nil {
		return nil, fmt.Errorf("pebblemeta: Secret %q: %w", name, err)
	}
	if err := s.db.Set(key, v, pebble.Sync); err != nil {
		return nil, fmt.Errorf("pebblemeta: Secret %q: %w", name, err)
	}
	return append([]byte(nil), v...), nil
}
