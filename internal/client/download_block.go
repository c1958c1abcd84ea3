package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"
)

// ChecksumError means a block's data did not match the checksum the
// service sent with it (or was not a whole block): it was corrupted on
// the way. It is retried a few times, and never written.
type ChecksumError struct {
	SnapshotID string
	Index      int32
	Problem    string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("block %d of %s failed verification: %s", e.Index, e.SnapshotID, e.Problem)
}

// verifyAttempts is how many times a block that fails verification is
// fetched before the download fails.
const verifyAttempts = 4

// tokenRefreshes is how many fresh tokens a block gets before its
// download fails.
const tokenRefreshes = 3

// fetchBlock reads block index of snapshot id into buf (BlockSize bytes)
// and returns its verified SHA-256, each request going through g.
// Transport errors and throttling are retried by c.callGated; a block that fails verification is fetched again
// with backoff up to verifyAttempts times; a rejected token (expired
// after 7 days) is replaced by listing again from that block.
func (c *Client) fetchBlock(ctx context.Context, g *gate, id string, index int32, token string, buf []byte, tokens *tokenCache) ([sha256.Size]byte, error) {
	what := fmt.Sprintf("GetSnapshotBlock %s block %d", id, index)
	verifyFails, refreshes := 0, 0
	for {
		var digest [sha256.Size]byte
		err := c.callGated(ctx, g, what, false, func(ctx context.Context) error {
			var err error
			digest, err = c.getBlock(ctx, id, index, token, buf)
			return err
		})
		var ce *ChecksumError
		switch {
		case err == nil:
			return digest, nil
		case errors.As(err, &ce):
			verifyFails++
			if verifyFails >= verifyAttempts {
				return digest, fmt.Errorf("%w (%d attempts; nothing of it was written)", err, verifyFails)
			}
			delay := backoff(c.opts.Retry, verifyFails)
			c.opts.Observer.Retry(what, verifyFails, delay, err)
			c.log.Warn("block failed verification; fetching it again", "call", what, "attempt", verifyFails, "delay", delay, "err", err)
			select {
			case <-ctx.Done():
				return digest, ctx.Err()
			case <-time.After(delay):
			}
		case IsReason(err, types.ValidationExceptionReasonInvalidBlockToken) && refreshes < tokenRefreshes:
			refreshes++
			c.log.Info("block token rejected (expired?); listing again from the block", "call", what, "err", err)
			fresh, lerr := tokens.fresh(ctx, c, id, index, token)
			if lerr != nil {
				return digest, fmt.Errorf("%s: refresh token: %w (after %w)", what, lerr, err)
			}
			token = fresh
		default:
			return digest, err
		}
	}
}

// getBlock makes one GetSnapshotBlock call and verifies its answer.
func (c *Client) getBlock(ctx context.Context, id string, index int32, token string, buf []byte) ([sha256.Size]byte, error) {
	var digest [sha256.Size]byte
	out, err := c.api.GetSnapshotBlock(ctx, &ebs.GetSnapshotBlockInput{
		SnapshotId: aws.String(id), BlockIndex: aws.Int32(index), BlockToken: aws.String(token),
	})
	if err != nil {
		return digest, notReadable(id, err)
	}
	defer out.BlockData.Close()
	bad := func(format string, args ...any) error {
		return &ChecksumError{SnapshotID: id, Index: index, Problem: fmt.Sprintf(format, args...)}
	}
	if n, err := io.ReadFull(out.BlockData, buf); err != nil {
		// A body cut short is a transport failure: retryable.
		return digest, fmt.Errorf("read block %d: got %d bytes: %w", index, n, err)
	}
	var extra [1]byte
	if n, _ := io.ReadFull(out.BlockData, extra[:]); n != 0 {
		return digest, bad("longer than %d bytes", BlockSize)
	}
	if out.DataLength != nil && *out.DataLength != BlockSize {
		return digest, bad("x-amz-Data-Length is %d, not %d", *out.DataLength, BlockSize)
	}
	if out.ChecksumAlgorithm != "" && out.ChecksumAlgorithm != types.ChecksumAlgorithmChecksumAlgorithmSha256 {
		// Not corruption: nothing to retry.
		return digest, fmt.Errorf("block %d of %s: unsupported checksum algorithm %q", index, id, out.ChecksumAlgorithm)
	}
	want, err := base64.StdEncoding.DecodeString(aws.ToString(out.Checksum))
	if err != nil || len(want) != sha256.Size {
		return digest, bad("x-amz-Checksum %q is not a Base64 SHA-256", aws.ToString(out.Checksum))
	}
	if string(want) == string(zeroDigest[:]) {
		// A zero block (half of a typical image): comparing it with zeros
		// proves the same as hashing it, ten times faster.
		if !bytes.Equal(buf, zeroBlock) {
			return digest, bad("the service's checksum is that of a zero block, the data is not zeros")
		}
		return zeroDigest, nil
	}
	digest = sha256.Sum256(buf)
	if string(digest[:]) != string(want) {
		return digest, bad("SHA-256 %s, service says %s", base64.StdEncoding.EncodeToString(digest[:]), aws.ToString(out.Checksum))
	}
	return digest, nil
}

// tokenCache holds the tokens of the last re-listing, so that workers
// whose tokens expired together (they were listed together) share one
// ListSnapshotBlocks call per page instead of making one each.
type tokenCache struct {
	mu     sync.Mutex
	tokens map[int32]string
}

// fresh returns a token for block index other than stale, listing again
// from index when the cache has none. The lock is held during the
// listing on purpose: the workers that wait for it find their tokens in
// its result.
func (tc *tokenCache) fresh(ctx context.Context, c *Client, id string, index int32, stale string) (string, error) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if t, ok := tc.tokens[index]; ok && t != stale {
		return t, nil
	}
	for page, err := range c.ListBlocks(ctx, id, ListOptions{StartBlock: index}) {
		if err != nil {
			return "", err
		}
		tc.tokens = make(map[int32]string, len(page.Blocks))
		for _, b := range page.Blocks {
			tc.tokens[b.Index] = b.Token
		}
		break // one page is enough
	}
	t, ok := tc.tokens[index]
	if !ok {
		return "", fmt.Errorf("block %d is no longer listed in %s", index, id)
	}
	return t, nil
}
