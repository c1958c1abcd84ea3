package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

const blockSize = 524288

// contents hands out block contents by ID: IDs below pool are the shared
// pool that duplicate puts draw from (dedup hits), the others are fresh.
// A content is a pure function of its ID, so nothing but digests is kept.
type contents struct {
	pool     uint64
	maxFresh uint64
	next     atomic.Uint64 // fresh IDs handed out
	mu       sync.Mutex
	digests  map[uint64][32]byte
}

func newContents(pool, maxFresh int) *contents {
	return &contents{pool: uint64(pool), maxFresh: uint64(maxFresh), digests: make(map[uint64][32]byte)}
}

// pick returns a fresh ID with probability fresh while any are left, else
// one from the pool.
func (c *contents) pick(r *rand.Rand, fresh float64) uint64 {
	if r.Float64() < fresh {
		if n := c.next.Add(1); n <= c.maxFresh {
			return c.pool + n - 1
		}
	}
	return r.Uint64N(c.pool)
}

// fill writes content id into b (one block) and returns its SHA-256.
func (c *contents) fill(b []byte, id uint64) [32]byte {
	r := rand.New(rand.NewPCG(id, 0x5eed))
	for i := 0; i < len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
	d := sha256.Sum256(b)
	c.mu.Lock()
	c.digests[id] = d
	c.mu.Unlock()
	return d
}

// digest returns the SHA-256 of content id, which must have been filled.
func (c *contents) digest(id uint64) [32]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.digests[id]
}

func b64(d [32]byte) string { return base64.StdEncoding.EncodeToString(d[:]) }
