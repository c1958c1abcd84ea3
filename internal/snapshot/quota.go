package snapshot

import (
	"context"
	"fmt"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
)

// zeroChecksum is the x-amz-Checksum of a zero block.
var zeroChecksum = ebs.Digest(ebs.ZeroBlockDigest).String()

// Usage returns the logical bytes account's snapshots wrote: the blocks
// that are not zero blocks, each index of each snapshot once, until the
// garbage collector purges the snapshot's mappings (MetaStore.Usage,
// docs/gc.md §11).
func (s *Service) Usage(ctx context.Context, account string) (int64, error) {
	n, err := s.meta.Usage(ctx, account)
	if err != nil {
		return 0, fmt.Errorf("snapshot: usage of %s: %w", account, err)
	}
	return n * ebs.BlockSize, nil
}

// StorageQuota returns account's storage quota in bytes, 0 for none.
func (s *Service) StorageQuota(account string) int64 {
	if s.quota == nil {
		return 0
	}
	return max(s.quota(account), 0)
}

// checkQuota refuses a request of account that would write blocks more
// blocks (0 for StartSnapshot, which refuses once the account is at its
// quota) with ServiceQuotaExceededException.
//
// The check reads the usage and the write happens later, in another
// store call, so concurrent writes of one account all pass a check that
// only one of them should: the quota is soft by at most the writes in
// flight (docs/gc.md §11). Making it hard would take the check into
// PutBlock's atomic write, a per-account serialization of every write,
// for a bound that is about disk space, not correctness.
func (s *Service) checkQuota(ctx context.Context, op, account string, blocks int64) error {
	quota := s.StorageQuota(account)
	if quota <= 0 {
		return nil
	}
	used, err := s.Usage(ctx, account)
	if err != nil {
		return internal(op, err)
	}
	if blocks == 0 && used < quota || blocks > 0 && used+blocks*ebs.BlockSize <= quota {
		return nil
	}
	return ebs.E(op, ebs.KindQuotaExceeded, "",
		"Account %s has reached its storage quota: its snapshots have written %s of the %s it may store. "+
			"Delete snapshots it no longer needs; their space is counted free again after the next garbage collection.",
		account, bytesText(used), bytesText(quota))
}

// checkCopyQuota refuses a re-seal copy of src that would take its
// account past its storage quota: the copy job writes every block of
// src's view as the copy's own, and that job, which runs later, cannot
// refuse. A lineage copy writes no block and costs no space, so it is
// not checked. The count is src's written blocks, zero blocks included:
// an upper bound, exact unless src wrote zero blocks.
func (s *Service) checkCopyQuota(ctx context.Context, src store.Snapshot) error {
	if s.StorageQuota(src.OwnerID) <= 0 {
		return nil
	}
	n := src.FullBlocks
	if n == 0 {
		chain, err := s.chain(ctx, src)
		if err == nil {
			n, err = s.countView(ctx, chain)
		}
		if err != nil {
			return internal(opCopy, err)
		}
	}
	if n == 0 {
		return nil
	}
	return s.checkQuota(ctx, opCopy, src.OwnerID, n)
}

// bytesText renders n bytes exactly and, from a MiB on, in MiB or GiB too.
func bytesText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%d bytes (%.2f GiB)", n, float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%d bytes (%.2f MiB)", n, float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}

// Usages calls fn with the bytes written by each account that has written
// any (see Usage), until fn returns false.
func (s *Service) Usages(ctx context.Context, fn func(account string, bytes int64) bool) error {
	return s.meta.ScanUsage(ctx, func(owner string, blocks int64) (bool, error) {
		return fn(owner, blocks*ebs.BlockSize), nil
	})
}
