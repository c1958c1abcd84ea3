package client

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"
)

// completeSnapshot completes snapshot id with the count and LINEAR
// aggregate of the blocks written in it, and returns its status. With
// wait it then polls CompleteSnapshot (safe: the snapshot is ours, and the
// service answers repeated calls with the current status) until the
// snapshot leaves pending, and, once completed, ListSnapshotBlocks until
// the read APIs know it: AWS answers "not found" for a while after
// completion (coldsnap #141).
func (c *Client) completeSnapshot(ctx context.Context, id string, count int64, checksum string, wait bool, notFoundUntil time.Time) (string, error) {
	complete := func() (string, error) {
		var out *ebs.CompleteSnapshotOutput
		err := c.call(ctx, "CompleteSnapshot "+id, c.opts.Now().Before(notFoundUntil), func(ctx context.Context) error {
			var err error
			out, err = c.api.CompleteSnapshot(ctx, &ebs.CompleteSnapshotInput{
				SnapshotId:                aws.String(id),
				ChangedBlocksCount:        aws.Int32(int32(count)),
				Checksum:                  aws.String(checksum),
				ChecksumAlgorithm:         types.ChecksumAlgorithmChecksumAlgorithmSha256,
				ChecksumAggregationMethod: types.ChecksumAggregationMethodChecksumAggregationLinear,
			})
			return err
		})
		if err != nil {
			return "", fmt.Errorf("complete snapshot: %w", err)
		}
		return string(out.Status), nil
	}
	status, err := complete()
	if err != nil || !wait {
		return status, err
	}
	c.log.Info("waiting for the snapshot to complete", "snapshot", id, "status", status)
	delay := 100 * time.Millisecond
	for status == string(types.StatusPending) {
		select {
		case <-ctx.Done():
			return status, fmt.Errorf("wait for %s: %w", id, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 10*time.Second)
		if status, err = complete(); err != nil {
			return status, err
		}
	}
	if status != string(types.StatusCompleted) {
		return status, nil
	}
	err = c.call(ctx, "ListSnapshotBlocks "+id, true, func(ctx context.Context) error {
		_, err := c.api.ListSnapshotBlocks(ctx, &ebs.ListSnapshotBlocksInput{SnapshotId: aws.String(id), MaxResults: aws.Int32(100)})
		return err
	})
	if err != nil {
		return status, fmt.Errorf("snapshot %s is completed but not readable yet: %w", id, err)
	}
	return status, nil
}
