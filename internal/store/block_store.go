package store

import (
	"context"

	"github.com/ebsd/ebsd/internal/ebs"
)

// BlockStore keeps block contents under 32-byte keys chosen by the caller:
// the SHA-256 of the content for plaintext blocks, so that equal blocks are
// stored once across snapshots and volumes. All methods are safe for
// concurrent use.
type BlockStore interface {
	// Put stores data under key. It returns only once data is durable.
	// Putting a key that is already stored writes nothing and returns nil,
	// whatever data is (the caller guarantees equal keys mean equal
	// content), but no sooner than a write would: otherwise its latency
	// tells any account whether some other account stored that content.
	// A key whose stored copy a Get found corrupt no longer counts as
	// stored, so the next Put of it stores it again. Put does not retain
	// data after it returns.
	Put(ctx context.Context, key ebs.Digest, data []byte) error

	// Get appends the content stored under key to dst and returns the
	// result. It returns ErrNotFound when key is not stored and ErrCorrupt
	// when the stored content fails the backend's integrity check; it never
	// returns content that differs from what was Put.
	Get(ctx context.Context, key ebs.Digest, dst []byte) ([]byte, error)

	// Has reports whether key is stored (and not found corrupt).
	Has(ctx context.Context, key ebs.Digest) (bool, error)

	// Close flushes and releases the store. Calls after Close return
	// ErrClosed.
	Close() error
}
