package main

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// filled is what the fill left: the snapshots kept and deleted, and how
// long the upload took.
type filled struct {
	blocks        int
	kept, deleted []string
	took          time.Duration
}

// fill uploads blocks distinct random blocks into snapshots snapshots,
// interleaved (block g goes to snapshot g mod snapshots, at index g div
// snapshots), so that each pack holds about as many blocks of every
// snapshot; it completes them all, then deletes every other one through
// the EC2 API. Each pack is then about half garbage, not whole packs dead
// next to whole packs live: the case compaction exists for.
func fill(ctx context.Context, client *ebs.Client, ec2c *ec2.Client, c content, blocks, snapshots, workers int) (filled, error) {
	res := filled{blocks: blocks}
	per := (blocks + snapshots - 1) / snapshots
	ids := make([]string, snapshots)
	counts := make([]atomic.Int32, snapshots)
	for s := range ids {
		out, err := client.StartSnapshot(ctx, &ebs.StartSnapshotInput{
			VolumeSize:  aws.Int64(int64((per + 2047) / 2048)),
			Description: aws.String(fmt.Sprintf("ebsd-gcbench fill %d", s)),
		})
		if err != nil {
			return res, fmt.Errorf("StartSnapshot: %w", err)
		}
		ids[s] = *out.SnapshotId
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		errOnce  sync.Once
		firstErr error
		wg       sync.WaitGroup
		done     atomic.Int64
	)
	began := time.Now()
	progress := time.NewTicker(10 * time.Second)
	defer progress.Stop()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-progress.C:
				n := done.Load()
				fmt.Printf("  fill: %d/%d blocks, %.0f blocks/s\n", n, blocks, float64(n)/time.Since(began).Seconds())
			}
		}
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, blockSize)
			for ctx.Err() == nil {
				g := next.Add(1) - 1
				if g >= int64(blocks) {
					return
				}
				s, i := int(g)%snapshots, int(g)/snapshots
				c.fill(buf, streamFill, uint64(g))
				_, err := client.PutSnapshotBlock(ctx, &ebs.PutSnapshotBlockInput{
					SnapshotId: &ids[s], BlockIndex: aws.Int32(int32(i)), BlockData: bytes.NewReader(buf),
					DataLength: aws.Int32(blockSize), Checksum: aws.String(checksum(buf)),
					ChecksumAlgorithm: types.ChecksumAlgorithmChecksumAlgorithmSha256,
				})
				if err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("PutSnapshotBlock %s %d: %w", ids[s], i, err); cancel() })
					return
				}
				counts[s].Add(1)
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	res.took = time.Since(began)
	if firstErr != nil {
		return res, firstErr
	}
	for s, id := range ids {
		if err := complete(ctx, client, id, counts[s].Load()); err != nil {
			return res, err
		}
		if s%2 == 0 {
			res.kept = append(res.kept, id)
			continue
		}
		if _, err := ec2c.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String(id)}); err != nil {
			return res, fmt.Errorf("DeleteSnapshot %s: %w", id, err)
		}
		res.deleted = append(res.deleted, id)
	}
	return res, nil
}

// complete seals snapshot id and waits until it is completed (the first
// CompleteSnapshot answers pending, as AWS does).
func complete(ctx context.Context, client *ebs.Client, id string, blocks int32) error {
	for range 600 {
		out, err := client.CompleteSnapshot(ctx, &ebs.CompleteSnapshotInput{SnapshotId: &id, ChangedBlocksCount: aws.Int32(blocks)})
		if err != nil {
			return fmt.Errorf("CompleteSnapshot %s: %w", id, err)
		}
		switch out.Status {
		case types.StatusCompleted:
			return nil
		case types.StatusError:
			return fmt.Errorf("CompleteSnapshot %s: status error", id)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("CompleteSnapshot %s: not completed after a minute", id)
}
