package snapexport

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/ebs/types"

	"github.com/ebsd/ebsd/internal/client"
)

// CommitOptions describe the child snapshot a commit makes.
type CommitOptions struct {
	Description string
	Tags        []types.Tag
	Wait        bool
	OnStart     func(snapshotID string)
}

// ErrNothingChanged means the overlay holds no block that differs from
// the snapshot: no child was made.
var ErrNothingChanged = errors.New("no block differs from the snapshot")

// Commit makes a child snapshot of the exported one (ParentSnapshotId)
// holding the blocks of the overlay that differ from the snapshot's; the
// caller then Discards the overlay, whose content is in the child. A block
// written with what it held already (or zeros over a hole) is left out,
// so that the child holds only changed blocks; telling needs the
// snapshot block's digest, known for every block read so far and fetched
// for the others. The export must not be in use.
func (e *Export) Commit(ctx context.Context, o CommitOptions) (*client.ChildResult, error) {
	if e.ov == nil {
		return nil, errors.New("commit: the export is read-only")
	}
	if err := e.ov.flush(); err != nil {
		return nil, err
	}
	var changed []int32
	buf := make([]byte, blockSize)
	for _, i := range e.ov.blocks() {
		if err := e.ov.readAt(buf, int64(i)*blockSize); err != nil {
			return nil, err
		}
		sum := sha256.Sum256(buf)
		base, err := e.baseDigest(ctx, i)
		if err != nil {
			return nil, fmt.Errorf("commit: block %d of %s: %w", i, e.id, err)
		}
		if sum != base {
			changed = append(changed, i)
		}
	}
	if len(changed) == 0 {
		return nil, ErrNothingChanged
	}
	res, err := e.opts.Client.UploadChild(ctx, client.ChildInput{
		Parent: e.id, VolumeSize: e.volumeGiB, ImageSize: e.size,
		Description: o.Description, Tags: o.Tags, Blocks: changed, Wait: o.Wait, OnStart: o.OnStart,
		Read: func(ctx context.Context, i int32, buf []byte) error {
			return e.ov.readAt(buf, int64(i)*blockSize)
		},
	})
	if err != nil {
		return res, err
	}
	return res, nil
}

// Discard deletes the overlay (after a commit, or to throw the writes
// away); the export must not be used afterwards.
func (e *Export) Discard() error {
	e.stopBG()
	e.raWG.Wait()
	if e.ov == nil {
		return nil
	}
	return e.ov.remove()
}

// baseDigest returns the digest of the snapshot's block i: the zero
// block's when it does not hold it.
func (e *Export) baseDigest(ctx context.Context, i int32) ([sha256.Size]byte, error) {
	token, _, err := e.blocks.lookup(ctx, i, true)
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	if token == "" {
		return zeroDigest, nil
	}
	e.dmu.Lock()
	sum, ok := e.digests[i]
	e.dmu.Unlock()
	if ok {
		return sum, nil
	}
	c, err := e.base(ctx, i)
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	if c == nil {
		return zeroDigest, nil
	}
	defer e.cache.release(c)
	return c.sum, nil
}
