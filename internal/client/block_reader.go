package client

import (
	"context"
	"crypto/sha256"
	"fmt"
)

// BlockReader fetches single blocks of one completed snapshot on demand,
// for readers that do not download it whole (ebs nbd): each block is
// verified as a download verifies it (length, SHA-256 against the
// service's checksum, fetched again when it fails), retried under the
// client's policy, and the requests in flight follow the service's
// throttling through one gate shared by all callers. A token the service
// rejects (expired) is replaced by listing again from its block.
type BlockReader struct {
	c      *Client
	id     string
	gate   *gate
	tokens *tokenCache
}

// NewBlockReader returns a BlockReader of snapshot id with at most
// Workers requests in flight.
func (c *Client) NewBlockReader(id string) *BlockReader {
	return &BlockReader{c: c, id: id, gate: newGate(c.opts.Workers, c.log), tokens: &tokenCache{}}
}

// ReadBlock reads block index, listed with token, into buf (BlockSize
// bytes) and returns its verified SHA-256. A block that fails
// verification every time returns a *ChecksumError: nothing unverified is
// ever left in buf for the caller to use.
func (r *BlockReader) ReadBlock(ctx context.Context, index int32, token string, buf []byte) ([sha256.Size]byte, error) {
	if len(buf) != BlockSize {
		return [sha256.Size]byte{}, fmt.Errorf("read block %d: buffer of %d bytes, want %d", index, len(buf), BlockSize)
	}
	sum, err := r.c.fetchBlock(ctx, r.gate, r.id, index, token, buf, r.tokens)
	if err != nil {
		clear(buf)
	}
	return sum, err
}

// Throttled returns how many requests the service throttled, and the
// lowest concurrency that brought the reader down to.
func (r *BlockReader) Throttled() (int64, int) {
	st := r.gate.stats()
	return st.throttled, st.lowest
}

// ZeroDigest is the SHA-256 of a zero block.
var ZeroDigest = zeroDigest
