package snapshot

import (
	"context"
	"errors"
	"io"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
)

const opPut = "PutSnapshotBlock"

// checksumAlgorithm is the only per-block checksum algorithm of the API.
const checksumAlgorithm = "SHA256"

// PutSnapshotBlock writes one block of a pending snapshot (spec §3.2, §7.5).
// The body is read once into a pooled buffer and hashed once; that digest
// checks both x-amz-Checksum and a signed payload hash, and names the block
// in the content-addressed store. The 201 is sent only after the block and
// its mapping are durable.
func (s *Service) PutSnapshotBlock(ctx context.Context, in PutBlockInput) (*PutBlockOutput, error) {
	var f fields
	f.snapshotID("snapshotId", in.SnapshotID)
	index, _ := f.integer("blockIndex", &in.BlockIndex, true, 0, 1<<31-1)
	dataLength, _ := f.integer("dataLength", in.DataLength, true, -1<<31, 1<<31-1)
	f.text("checksum", in.Checksum, true, 0, 64, checksumPattern, checksumRE)
	f.text("checksumAlgorithm", in.ChecksumAlgorithm, true, 0, 32, enumPattern, enumRE)
	f.integer("progress", in.Progress, false, 0, 100)
	if err := f.err(opPut); err != nil {
		return nil, err
	}

	snap, err := s.writable(ctx, opPut, in.AccountID, in.SnapshotID)
	if err != nil {
		return nil, err
	}
	if alg := *in.ChecksumAlgorithm; alg != checksumAlgorithm {
		return nil, ebs.E(opPut, ebs.KindInvalid, ebs.ReasonInvalidParameterValue,
			"Unsupported Checksum Algorithm '%s', supported algorithms are SHA256", alg)
	}
	// Refused before the body is read, which is what makes a refusal
	// cheap. A zero block costs no space, so it is never refused; one
	// whose checksum lies fails the checksum check below.
	if *in.Checksum != zeroChecksum {
		if err := s.checkQuota(ctx, opPut, in.AccountID, 1); err != nil {
			return nil, err
		}
	}

	buf := s.getBuf()
	defer s.putBuf(buf)
	data, err := readBlock(in.Body, *buf)
	if err != nil {
		return nil, err
	}
	if dataLength != ebs.BlockSize {
		return nil, ebs.E(opPut, ebs.KindInvalid, ebs.ReasonInvalidBlock,
			"Block data length %d is not valid, expected %d", dataLength, ebs.BlockSize)
	}
	if index >= ebs.BlockCount(snap.VolumeSize) {
		return nil, ebs.E(opPut, ebs.KindInvalid, ebs.ReasonInvalidBlock,
			"Block index %d is beyond the volume size extent", index)
	}

	digest := ebs.Sum(data)
	if got := digest.String(); got != *in.Checksum {
		return nil, ebs.E(opPut, ebs.KindBadSignature, "",
			"The value passed in as x-amz-Checksum does not match the computed checksum. Computed checksum: %s expected checksum: %s", got, *in.Checksum)
	}
	if in.PayloadHash != nil && *in.PayloadHash != digest {
		return nil, ebs.E(opPut, ebs.KindBadSignature, "",
			"The provided 'x-amz-content-sha256' header does not match what was computed.")
	}

	err = s.writeBlock(ctx, snap, int32(index), digest, data)
	if errors.Is(err, store.ErrNotWritable) || errors.Is(err, store.ErrNotFound) {
		// ErrNotFound: deleted and purged by a collection meanwhile.
		// CompleteSnapshot or the timeout won the race with this write.
		return nil, s.notWritable(ctx, opPut, snap.ID)
	}
	if e := (*ebs.Error)(nil); errors.As(err, &e) {
		return nil, err // storeBlock's, already for the client
	}
	if err != nil {
		return nil, internal(opPut, err)
	}
	return &PutBlockOutput{Checksum: *in.Checksum, ChecksumAlgorithm: checksumAlgorithm}, nil
}

// readBlock reads exactly one block from body into buf. A short body is the
// retryable "Failed to read block data" of AWS; a longer one is refused.
func readBlock(body io.Reader, buf []byte) ([]byte, error) {
	if body == nil {
		body = eofReader{}
	}
	n, err := io.ReadFull(body, buf[:ebs.BlockSize+1])
	switch {
	case n > ebs.BlockSize:
		return nil, ebs.E(opPut, ebs.KindInvalid, ebs.ReasonInvalidBlock,
			"Block data is longer than %d bytes; a block is exactly %d bytes.", ebs.BlockSize, ebs.BlockSize)
	case n < ebs.BlockSize:
		e := ebs.E(opPut, ebs.KindInvalid, ebs.ReasonInvalidParameterValue, "Failed to read block data")
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			e.Err = err
		}
		return nil, e
	}
	return buf[:ebs.BlockSize], nil
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// writeBlock stores a block and maps it at index of snap, inside the write
// gate that the garbage collector drains (write_gate.go).
func (s *Service) writeBlock(ctx context.Context, snap store.Snapshot, index int32, digest ebs.Digest, data []byte) error {
	leave := s.gate.enter()
	defer leave()
	if s.fence != nil {
		return s.writeFenced(ctx, snap, index, digest, data)
	}
	ref, err := s.storeBlock(ctx, snap, digest, data)
	if err != nil {
		return err
	}
	return s.meta.PutBlock(ctx, snap.ID, index, ref, s.now())
}

// storeBlock makes the block's content durable in the block store and
// returns its mapping. Zero blocks cost no data; encrypted blocks are
// sealed with the snapshot's data key first.
func (s *Service) storeBlock(ctx context.Context, snap store.Snapshot, digest ebs.Digest, data []byte) (store.BlockRef, error) {
	ref := store.BlockRef{Digest: digest, Key: digest}
	if digest == ebs.ZeroBlockDigest {
		return ref, nil
	}
	if snap.Encrypted {
		c, err := s.cipher(snap)
		if err != nil {
			return ref, internal(opPut, err)
		}
		out := s.getBuf()
		defer s.putBuf(out)
		ref.Key = c.StorageKey(digest)
		data = s.seal(c, digest, data, (*out)[:0])
	}
	if err := s.blocks.Put(ctx, ref.Key, data); err != nil {
		return ref, internal(opPut, err)
	}
	return ref, nil
}

// writable returns snapshot id if the caller may write to it.
func (s *Service) writable(ctx context.Context, op, account, id string) (store.Snapshot, error) {
	snap, err := s.visible(ctx, op, account, id)
	if err != nil {
		return snap, err
	}
	if snap.State == store.StatePending {
		expired, err := s.expireIfIdle(ctx, snap)
		if errors.Is(err, store.ErrNotFound) {
			return snap, ebs.SnapshotNotFound(op, id) // deleted and purged meanwhile
		}
		if err != nil {
			return snap, internal(op, err)
		}
		if !expired {
			return snap, nil
		}
	}
	return snap, s.notWritable(ctx, op, id)
}

// notWritable explains why snapshot id refuses writes.
func (s *Service) notWritable(ctx context.Context, op, id string) error {
	snap, err := s.meta.GetSnapshot(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return ebs.SnapshotNotFound(op, id) // deleted and purged meanwhile
	}
	if err != nil {
		return internal(op, err)
	}
	switch snap.State {
	case store.StateDeleted:
		// Deleted while the request was on its way: it no longer exists.
		return ebs.SnapshotNotFound(op, id)
	case store.StateCopying:
		return ebs.E(op, ebs.KindInvalid, ebs.ReasonInvalidSnapshotID,
			"Snapshot %s is a copy in progress (CopySnapshot) and accepts no blocks; start a snapshot with it as the parent once it is completed.", id)
	case store.StateError:
		return ebs.E(op, ebs.KindInvalid, ebs.ReasonInvalidSnapshotID,
			"Snapshot %s is in the error state (%s) and accepts no more blocks; start a new snapshot.", id, snap.StateMessage)
	default:
		return ebs.E(op, ebs.KindInvalid, ebs.ReasonInvalidSnapshotID, "Snapshot is already completed")
	}
}
