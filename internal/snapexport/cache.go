package snapexport

import (
	"container/list"
	"context"
	"crypto/sha256"
	"sync"
)

// blockCache holds verified blocks of the snapshot, the most recently
// used ones, at most capacity of them (each 512 KiB; zero blocks cost no
// memory). Concurrent gets of one block share its fetch.
type blockCache struct {
	capacity int

	mu  sync.Mutex
	lru *list.List // of *cached, most recent first
	m   map[int32]*cached
}

// cached is one block, or its fetch in progress.
type cached struct {
	index int32
	ready chan struct{} // closed when data, sum and err are set
	data  []byte        // nil for a zero block
	sum   [sha256.Size]byte
	err   error
	elem  *list.Element
}

func newBlockCache(capacity int) *blockCache {
	return &blockCache{capacity: max(capacity, 1), lru: list.New(), m: map[int32]*cached{}}
}

// fetchFunc fetches block index into buf and returns its verified digest.
type fetchFunc func(ctx context.Context, index int32, buf []byte) ([sha256.Size]byte, error)

// get returns block i, fetching it if it is not cached. The data is
// shared: callers must not modify it. A failed fetch is not cached.
func (c *blockCache) get(ctx context.Context, i int32, fetch fetchFunc) (*cached, error) {
	c.mu.Lock()
	e, ok := c.m[i]
	if ok {
		c.lru.MoveToFront(e.elem)
		c.mu.Unlock()
		select {
		case <-e.ready:
			return e, e.err
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
	e = &cached{index: i, ready: make(chan struct{})}
	e.elem = c.lru.PushFront(e)
	c.m[i] = e
	c.evict()
	c.mu.Unlock()

	// The fetch is not bound to this caller's context alone: others may
	// be waiting for it. It is bounded by the client's retry policy.
	buf := make([]byte, blockSize)
	e.sum, e.err = fetch(context.WithoutCancel(ctx), i, buf)
	if e.err == nil && e.sum != zeroDigest {
		e.data = buf
	}
	if e.err != nil {
		c.mu.Lock()
		if c.m[i] == e {
			c.lru.Remove(e.elem)
			delete(c.m, i)
		}
		c.mu.Unlock()
	}
	close(e.ready)
	return e, e.err
}

// has reports whether block i is cached or being fetched.
func (c *blockCache) has(i int32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.m[i]
	return ok
}

// peek returns block i if it is cached and fetched, without waiting.
func (c *blockCache) peek(i int32) (*cached, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[i]
	if !ok {
		return nil, false
	}
	select {
	case <-e.ready:
		return e, e.err == nil
	default:
		return nil, false
	}
}

// evict drops the least recently used blocks beyond capacity (c.mu
// held). A block being fetched may be dropped: its waiters hold it.
func (c *blockCache) evict() {
	for c.lru.Len() > c.capacity {
		e := c.lru.Back().Value.(*cached)
		c.lru.Remove(e.elem)
		delete(c.m, e.index)
	}
}

// len returns how many blocks are cached or being fetched.
func (c *blockCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
