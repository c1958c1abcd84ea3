package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
)

// runExisting measures downloads of snapshot o.snapshot on the running
// ebsd at o.endpoint (which must accept the benchmark's credentials,
// benchserver.KeyID): no image, no server start, no upload, so that a
// change to the download path is measured in seconds, on the same data
// every time. The downloaded file is not verified.
func runExisting(ctx context.Context, o options) error {
	dir := o.dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "ebs-clibench-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	api := sdkClient(o.endpoint, o.workers)
	var blocks int
	var volume int64
	var token *string
	for {
		out, err := api.ListSnapshotBlocks(ctx, &ebs.ListSnapshotBlocksInput{SnapshotId: aws.String(o.snapshot), MaxResults: aws.Int32(10000), NextToken: token})
		if err != nil {
			return fmt.Errorf("ListSnapshotBlocks: %w", err)
		}
		blocks += len(out.Blocks)
		volume = aws.ToInt64(out.VolumeSize)
		if out.NextToken == nil || *out.NextToken == "" {
			break
		}
		token = out.NextToken
	}
	data := float64(blocks) * blockSize / (1 << 20)
	fmt.Printf("snapshot %s at %s: %d GiB volume, %d blocks (%.0f MiB of data); workers: %d\n", o.snapshot, o.endpoint, volume, blocks, data, o.workers)
	dl, err := measureDownloads(ctx, o, o.endpoint, api, filepath.Join(dir, "state"), dir, o.snapshot, data, float64(volume)*1024)
	if err != nil {
		return err
	}
	dl.report(o.downloads)
	return nil
}
