package snapshot

import (
	"context"
	"errors"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/token"
)

const opGet = "GetSnapshotBlock"

// GetSnapshotBlock returns one block of a completed snapshot (spec §3.4).
// The block token says which content the block has (it was minted when the
// block was listed), so reading does not walk the lineage.
func (s *Service) GetSnapshotBlock(ctx context.Context, in GetBlockInput) (*GetBlockOutput, error) {
	var f fields
	f.snapshotID("snapshotId", in.SnapshotID)
	index, _ := f.integer("blockIndex", &in.BlockIndex, true, 0, 1<<31-1)
	f.token("blockToken", in.BlockToken, true)
	if err := f.err(opGet); err != nil {
		return nil, err
	}
	snap, err := s.readable(ctx, opGet, in.AccountID, in.SnapshotID)
	if err != nil {
		return nil, err
	}
	invalid := ebs.E(opGet, ebs.KindInvalid, ebs.ReasonInvalidBlockToken, "The block token %s is invalid.", *in.BlockToken)
	if index >= ebs.BlockCount(snap.VolumeSize) {
		return nil, invalid
	}
	claims, err := s.tokens.VerifyBlock(*in.BlockToken, in.AccountID, snap.ID, int32(index), s.now())
	if err != nil {
		invalid.Err = err
		return nil, invalid
	}

	buf := s.getBuf()
	release := func() { s.putBuf(buf) }
	data, err := s.loadBlock(ctx, snap, store.BlockRef{Digest: claims.Digest, Key: claims.Key}, (*buf)[:0])
	if errors.Is(err, store.ErrNotFound) {
		// The snapshot may have been deleted, and its blocks collected,
		// since readable() passed: then the read comes after the delete,
		// and the snapshot does not exist (docs/gc.md §3.6). A block
		// missing from a snapshot that still exists is the server's fault.
		if _, rerr := s.readable(ctx, opGet, in.AccountID, in.SnapshotID); rerr != nil {
			err = rerr
		}
	}
	if err != nil {
		release()
		return nil, err
	}
	return &GetBlockOutput{
		Data:              data,
		Checksum:          claims.Digest.String(),
		ChecksumAlgorithm: checksumAlgorithm,
		Release:           release,
	}, nil
}

// loadBlock reads a block's plaintext into dst, which has room for a block.
func (s *Service) loadBlock(ctx context.Context, snap store.Snapshot, ref store.BlockRef, dst []byte) ([]byte, error) {
	if ref.Digest == ebs.ZeroBlockDigest {
		dst = dst[:ebs.BlockSize]
		clear(dst)
		return dst, nil
	}
	if !snap.Encrypted {
		data, err := s.blocks.Get(ctx, ref.Key, dst)
		if err != nil {
			return nil, blockReadError(snap.ID, err)
		}
		return data, nil
	}
	c, err := s.cipher(snap)
	if err != nil {
		return nil, internal(opGet, err)
	}
	sealed := s.getBuf()
	defer s.putBuf(sealed)
	ct, err := s.blocks.Get(ctx, ref.Key, (*sealed)[:0])
	if err != nil {
		return nil, blockReadError(snap.ID, err)
	}
	data, err := unseal(c, ref.Digest, ct, dst)
	if err != nil {
		return nil, internal(opGet, err)
	}
	return data, nil
}

// blockReadError reports a block the store cannot give back. The content
// is gone or damaged: that is the server's fault, never the client's.
func blockReadError(id string, err error) error {
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrCorrupt) {
		return ebs.Wrap(opGet, ebs.KindInternal, err, "a block of snapshot %s is missing or damaged in storage", id)
	}
	return internal(opGet, err)
}

// blockToken mints the token of one listed block.
func (s *Service) blockToken(account, id string, b store.IndexedRef, expires int64) string {
	return s.tokens.BlockToken(token.BlockClaims{Digest: b.Ref.Digest, Key: b.Ref.Key}, account, id, b.Index, unix(expires))
}
