package client

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"
)

// ChildInput describes a child snapshot made of the few blocks that
// changed against its parent, when the caller knows which they are (ebs
// nbd --writable knows the blocks its clients wrote): no image is
// scanned and no parent block is read.
type ChildInput struct {
	// Parent is the completed snapshot the child inherits every other
	// block from.
	Parent string
	// VolumeSize is the child's volume size in GiB: at least the
	// parent's.
	VolumeSize int64
	// ImageSize, when > 0, is recorded as the ImageSizeTag.
	ImageSize   int64
	Description string
	Tags        []types.Tag
	// Blocks are the indexes written, each once.
	Blocks []int32
	// Read fills buf (BlockSize bytes) with block index's content.
	Read func(ctx context.Context, index int32, buf []byte) error
	// Wait polls after completion until the snapshot is completed.
	Wait bool
	// OnStart, if set, is called with the child's ID once started.
	OnStart func(snapshotID string)
}

// ChildResult says what UploadChild did.
type ChildResult struct {
	SnapshotID    string        `json:"snapshot_id"`
	Parent        string        `json:"parent"`
	Status        string        `json:"status"`
	ChangedBlocks int64         `json:"changed_blocks"`
	Checksum      string        `json:"checksum"`
	Throttled     int64         `json:"throttled"`
	Duration      time.Duration `json:"-"`
}

// UploadChild starts a snapshot with ParentSnapshotId = in.Parent, puts
// in.Blocks into it, Workers at a time, and completes it with their count
// and LINEAR aggregate, through the same calls, retries and throttling
// as Upload. On failure the result names the snapshot when one was
// started: it stays pending until the service times it out.
func (c *Client) UploadChild(ctx context.Context, in ChildInput) (*ChildResult, error) {
	began := c.opts.Now()
	if in.Parent == "" || in.Read == nil {
		return nil, errors.New("upload child: no parent or no reader")
	}
	blocks := slices.Clone(in.Blocks)
	slices.Sort(blocks)
	if len(slices.Compact(slices.Clone(blocks))) != len(blocks) {
		return nil, errors.New("upload child: a block is listed twice")
	}
	tags := in.Tags
	if in.ImageSize > 0 {
		tags, _ = imageSizeTags(in.Tags, in.ImageSize)
	}
	out, err := c.startSnapshot(ctx, &UploadInput{Description: in.Description, Parent: in.Parent}, in.VolumeSize, tags)
	if err != nil {
		return nil, err
	}
	res := &ChildResult{SnapshotID: aws.ToString(out.SnapshotId), Parent: in.Parent}
	if in.OnStart != nil {
		in.OnStart(res.SnapshotID)
	}
	run := &uploadRun{
		c: c, id: res.SnapshotID, gate: newGate(c.opts.Workers, c.log), total: int64(len(blocks)),
		notFoundUntil: c.opts.Now().Add(2 * time.Minute),
	}
	obs := c.opts.Observer
	obs.Begin("commit", int64(len(blocks)), int64(len(blocks))*BlockSize)
	err = c.putChildBlocks(ctx, run, blocks, in.Read)
	obs.End()
	res.Throttled = run.gate.stats().throttled
	res.Duration = c.opts.Now().Sub(began)
	if err != nil {
		return res, err
	}
	written := run.digests.sorted()
	res.ChangedBlocks, res.Checksum = int64(len(written)), written.linear()
	res.Status, err = c.completeSnapshot(ctx, res.SnapshotID, res.ChangedBlocks, res.Checksum, in.Wait, run.notFoundUntil)
	res.Duration = c.opts.Now().Sub(began)
	if err != nil {
		return res, err
	}
	if res.Status == string(types.StatusError) {
		return res, fmt.Errorf("snapshot %s: %w", res.SnapshotID, ErrSnapshotFailed)
	}
	return res, nil
}

// putChildBlocks reads and puts blocks with Workers goroutines; the
// first error stops the rest.
func (c *Client) putChildBlocks(ctx context.Context, run *uploadRun, blocks []int32, read func(context.Context, int32, []byte) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan int32)
	var wg sync.WaitGroup
	for range min(c.opts.Workers, max(len(blocks), 1)) {
		wg.Go(func() {
			buf := c.getBuf()
			defer c.putBuf(buf)
			for i := range jobs {
				if ctx.Err() != nil {
					continue
				}
				err := read(ctx, i, *buf)
				if err != nil {
					cancel(fmt.Errorf("read block %d: %w", i, err))
					continue
				}
				sum := sha256.Sum256(*buf)
				if err := run.put(ctx, i, *buf, sum); err != nil {
					cancel(err)
					continue
				}
				run.processed.Add(1)
				run.digests.add(i, sum)
				c.opts.Observer.Block(Written, BlockSize)
			}
		})
	}
	for _, i := range blocks {
		select {
		case jobs <- i:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	return context.Cause(ctx)
}
