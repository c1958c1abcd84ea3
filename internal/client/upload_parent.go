package client

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"

	ebsdomain "github.com/ebsd/ebsd/internal/ebs"
)

// parentBlocks is what an incremental upload knows of its parent: the
// SHA-256 of every block the parent holds (its own and inherited).
type parentBlocks struct {
	id         string
	volumeSize int64        // GiB
	digests    blockDigests // sorted by index
	source     string       // "manifest" or "listing"
}

// loadParent finds the digests of every block of completed snapshot id.
//
// This is how an incremental upload finds the blocks that differ without
// re-uploading unchanged data. First choice is the parent's manifest in
// the state directory, written by the upload that made the parent or a
// download that read it: comparing it with the image's digests costs no
// service call at all. Without one, the parent is listed and each of its
// blocks fetched with GetSnapshotBlock for the x-amz-Checksum that comes
// with it: that reads the parent (download traffic) but still sends
// nothing that did not change. The digests found are then kept as the
// parent's manifest, so a second upload against it (or a resume) does not
// read it again.
func (c *Client) loadParent(ctx context.Context, id string) (*parentBlocks, error) {
	m, err := LoadManifest(c.opts.StateDir, id)
	switch {
	case err == nil:
		c.log.Info("parent manifest found: comparing digests, reading nothing from the parent", "parent", id, "blocks", m.Len())
		return &parentBlocks{id: id, volumeSize: m.VolumeSize, digests: m.blocks, source: "manifest"}, nil
	case !errors.Is(err, ErrNoManifest):
		return nil, fmt.Errorf("parent %s: %w", id, err)
	}
	c.log.Info("no manifest of the parent in the state directory: reading each parent block's checksum (download traffic; unchanged blocks are still not re-uploaded)",
		"parent", id, "state_dir", c.opts.StateDir)
	p, err := c.scanParent(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("read parent %s: %w", id, err)
	}
	m = &Manifest{SnapshotID: id, VolumeSize: p.volumeSize, blocks: p.digests}
	if err := m.Save(c.opts.StateDir); err != nil {
		c.log.Warn("could not keep the parent's manifest", "parent", id, "err", err)
	}
	return p, nil
}

// listedBlock is one entry of a snapshot listing.
type listedBlock struct {
	index int32
	token string
}

// scanParent lists snapshot id and fetches every block for its checksum.
// Pages stream through a channel bounded by the worker count, so memory
// holds the digests (36 bytes a block), never the whole listing's tokens.
func (c *Client) scanParent(ctx context.Context, id string) (*parentBlocks, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	list := func(next *string) (*ebs.ListSnapshotBlocksOutput, error) {
		var out *ebs.ListSnapshotBlocksOutput
		err := c.call(ctx, "ListSnapshotBlocks "+id, false, func(ctx context.Context) error {
			var err error
			out, err = c.api.ListSnapshotBlocks(ctx, &ebs.ListSnapshotBlocksInput{
				SnapshotId: aws.String(id), MaxResults: aws.Int32(10000), NextToken: next,
			})
			return err
		})
		return out, err
	}
	// The first page comes before any progress is shown, so that a wrong
	// parent ID fails at once and quietly.
	page, err := list(nil)
	if err != nil {
		return nil, err
	}
	volume := aws.ToInt64(page.VolumeSize)
	c.opts.Observer.Begin("scan parent", 0, 0)
	defer c.opts.Observer.End()

	blocks := make(chan listedBlock, c.opts.Workers)
	go func() {
		defer close(blocks)
		for {
			for _, b := range page.Blocks {
				select {
				case blocks <- listedBlock{aws.ToInt32(b.BlockIndex), aws.ToString(b.BlockToken)}:
				case <-ctx.Done():
					return
				}
			}
			if aws.ToString(page.NextToken) == "" {
				return
			}
			var err error
			if page, err = list(page.NextToken); err != nil {
				cancel(err)
				return
			}
		}
	}()

	var log digestLog
	var wg sync.WaitGroup
	g := newGate(c.opts.Workers, c.log)
	for range c.opts.Workers {
		wg.Go(func() {
			for b := range blocks {
				if ctx.Err() != nil {
					continue
				}
				sum, err := c.blockChecksum(ctx, g, id, b)
				if err != nil {
					cancel(err)
					continue
				}
				log.add(b.index, sum)
				c.opts.Observer.Block(Unchanged, BlockSize)
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return &parentBlocks{id: id, volumeSize: volume, digests: log.sorted(), source: "listing"}, nil
}

// blockChecksum fetches one block and returns the checksum the service
// sent with it. The data is read to the end (and dropped) so that the
// connection can be reused. Requests go through g.
func (c *Client) blockChecksum(ctx context.Context, g *gate, id string, b listedBlock) ([sha256.Size]byte, error) {
	var sum ebsdomain.Digest
	what := fmt.Sprintf("GetSnapshotBlock %s block %d", id, b.index)
	err := c.callGated(ctx, g, what, false, func(ctx context.Context) error {
		out, err := c.api.GetSnapshotBlock(ctx, &ebs.GetSnapshotBlockInput{
			SnapshotId: aws.String(id), BlockIndex: aws.Int32(b.index), BlockToken: aws.String(b.token),
		})
		if err != nil {
			return err
		}
		defer out.BlockData.Close()
		if _, err := io.Copy(io.Discard, out.BlockData); err != nil {
			return err
		}
		if out.ChecksumAlgorithm != types.ChecksumAlgorithmChecksumAlgorithmSha256 {
			return fmt.Errorf("%s: checksum algorithm %q, want SHA256", what, out.ChecksumAlgorithm)
		}
		sum, err = ebsdomain.ParseDigest(aws.ToString(out.Checksum))
		return err
	})
	return sum, err
}
