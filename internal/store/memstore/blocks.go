package memstore

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
)

// Blocks is an in-memory store.BlockStore. Create it with NewBlocks.
type Blocks struct {
	mu     sync.RWMutex // guards the fields below
	closed bool
	data   map[ebs.Digest][]byte
}

var _ store.BlockStore = (*Blocks)(nil)

// NewBlocks returns an empty Blocks.
func NewBlocks() *Blocks {
	return &Blocks{data: make(map[ebs.Digest][]byte)}
}

// Put implements store.BlockStore.
func (b *Blocks) Put(_ context.Context, key ebs.Digest, data []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return fmt.Errorf("memstore: Put: %w", store.ErrClosed)
	}
	if _, ok := b.data[key]; !ok {
		b.data[key] = slices.Clone(data)
	}
	return nil
}

// Get implements store.BlockStore.
func (b *Blocks) Get(_ context.Context, key ebs.Digest, dst []byte) ([]byte, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return dst, fmt.Errorf("memstore: Get: %w", store.ErrClosed)
	}
	data, ok := b.data[key]
	if !ok {
		return dst, fmt.Errorf("memstore: Get %s: %w", key, store.ErrNotFound)
	}
	return append(dst, data...), nil
}

// Has implements store.BlockStore.
func (b *Blocks) Has(_ context.Context, key ebs.Digest) (bool, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return false, fmt.Errorf("memstore: Has: %w", store.ErrClosed)
	}
	_, ok := b.data[key]
	return ok, nil
}

// Close implements store.BlockStore. It drops every block.
func (b *Blocks) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return fmt.Errorf("memstore: Close: %w", store.ErrClosed)
	}
	b.closed = true
	b.data = nil
	return nil
}
