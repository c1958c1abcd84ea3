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
//
// Entries are reference-counted so that their 512 KiB buffers can be
// reused: allocating (and zeroing) one per fetch, then collecting it,
// cost a tenth of ebs nbd's CPU on a sequential read. An entry's buffer
// goes back to the free list only when the cache dropped it and nobody
// holds it any more: a block lent to an NBD reply is never overwritten
// while the reply is being sent.
type blockCache struct {
	capacity int

	mu    sync.Mutex
	lru   *list.List // of *cached, most recent first
	m     map[int32]*cached
	free  [][]byte // buffers of dropped blocks, for the next fetches
	made  int      // buffers allocated, for tests
	reuse int      // buffers taken from free, for tests
}

// maxFree bounds the free buffers (8 MiB): in a steady sequential read
// each fetch drops one block and takes one buffer, so a few suffice.
const maxFree = 16

// cached is one block, or its fetch in progress.
type cached struct {
	index int32
	ready chan struct{} // closed when data, sum and err are set
	data  []byte        // nil for a zero block
	sum   [sha256.Size]byte
	err   error
	elem  *list.Element
	refs  int // (blockCache.mu) the cache's while in m, and one per holder
}

func newBlockCache(capacity int) *blockCache {
	return &blockCache{capacity: max(capacity, 1), lru: list.New(), m: map[int32]*cached{}}
}

// fetchFunc fetches block index into buf and returns its verified digest.
type fetchFunc func(ctx context.Context, index int32, buf []byte) ([sha256.Size]byte, error)

// get returns block i, fetching it if it is not cached, held: the caller
// must release it once done with its data, which it must not modify. A
// failed fetch is not cached, and nothing is held then.
func (c *blockCache) get(ctx context.Context, i int32, fetch fetchFunc) (*cached, error) {
	e, fresh := c.claim(i)
	if fresh {
		c.fill(ctx, e, fetch)
	} else {
		select {
		case <-e.ready:
		case <-ctx.Done():
			c.release(e)
			return nil, context.Cause(ctx)
		}
	}
	if e.err != nil {
		c.release(e)
		return nil, e.err
	}
	return e, nil
}

// claim returns block i's entry, held, and fresh when it was not there
// and this caller made it: then the caller must fill it, everybody else
// waits on it. Claiming before starting the fetch is what lets
// read-ahead, which fetches in the background, never start a second
// fetch of a block (nor hold a second read-ahead slot for it).
func (c *blockCache) claim(i int32) (e *cached, fresh bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[i]; ok {
		c.lru.MoveToFront(e.elem)
		e.refs++
		return e, false
	}
	e = &cached{index: i, ready: make(chan struct{}), refs: 2} // the cache's and the caller's
	e.elem = c.lru.PushFront(e)
	c.m[i] = e
	c.evict()
	return e, true
}

// fill fetches a claimed entry and wakes its waiters; a failed fetch
// leaves the cache.
func (c *blockCache) fill(ctx context.Context, e *cached, fetch fetchFunc) {
	buf := c.buffer()
	// The fetch is not bound to this caller's context alone: others may
	// be waiting for it. It is bounded by the client's retry policy.
	e.sum, e.err = fetch(context.WithoutCancel(ctx), e.index, buf)
	c.mu.Lock()
	if e.err == nil && e.sum != zeroDigest {
		e.data = buf
	} else {
		c.recycle(buf) // zeros or nothing: no need to keep them
	}
	if e.err != nil && c.m[e.index] == e {
		c.drop(e)
	}
	c.mu.Unlock()
	close(e.ready)
}

// buffer returns a block buffer, a free one if there is one. Its content
// is whatever it held: a fetch overwrites it whole or fails.
func (c *blockCache) buffer() []byte {
	c.mu.Lock()
	if n := len(c.free); n > 0 {
		b := c.free[n-1]
		c.free = c.free[:n-1]
		c.reuse++
		c.mu.Unlock()
		return b
	}
	c.made++
	c.mu.Unlock()
	return make([]byte, blockSize)
}

// release gives back a hold of e.
func (c *blockCache) release(e *cached) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.unref(e)
}

// unref drops a reference of e, recycling its buffer after the last
// (c.mu held).
func (c *blockCache) unref(e *cached) {
	e.refs--
	if e.refs == 0 {
		// Nobody can reach e any more (it left m before its last
		// holder let go): its data may be overwritten.
		c.recycle(e.data)
	}
}

// drop removes e from the cache, with the cache's reference (c.mu held).
func (c *blockCache) drop(e *cached) {
	c.lru.Remove(e.elem)
	delete(c.m, e.index)
	c.unref(e)
}

// recycle keeps buf for a later fetch, if there is room (c.mu held).
func (c *blockCache) recycle(buf []byte) {
	if buf != nil && len(c.free) < maxFree {
		c.free = append(c.free, buf)
	}
}

// has reports whether block i is cached or being fetched.
func (c *blockCache) has(i int32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.m[i]
	return ok
}

// peek returns block i, held, if it is cached and fetched, without
// waiting.
func (c *blockCache) peek(i int32) (*cached, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[i]
	if !ok {
		return nil, false
	}
	select {
	case <-e.ready:
		if e.err != nil {
			return nil, false
		}
		c.lru.MoveToFront(e.elem)
		e.refs++
		return e, true
	default:
		return nil, false
	}
}

// zero reports whether block i is cached and reads as zeros (a written
// block of zeros).
func (c *blockCache) zero(i int32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[i]
	if !ok {
		return false
	}
	select {
	case <-e.ready:
		return e.err == nil && e.sum == zeroDigest
	default:
		return false
	}
}

// evict drops the least recently used blocks beyond capacity (c.mu
// held). A block being fetched may be dropped: its filler and waiters
// hold it.
func (c *blockCache) evict() {
	for c.lru.Len() > c.capacity {
		c.drop(c.lru.Back().Value.(*cached))
	}
}

// len returns how many blocks are cached or being fetched.
func (c *blockCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// buffers returns how many buffers were allocated and how many reused.
func (c *blockCache) buffers() (made, reused int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.made, c.reuse
}
