package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"
)

// getLoop measures what the server serves to a plain SDK loop, the
// least a verifying client must do to read a snapshot: it lists snapshot
// id (pages of 10,000), and workers goroutines take the listed blocks in
// turn, GetSnapshotBlock each, read its body into a buffer of their own
// and check its SHA-256 against x-amz-Checksum. With out "" nothing is
// written: the ceiling of a verifying reader. Otherwise each verified
// block is also written at its offset into the new file out, directly
// (O_DIRECT) where the file system allows it, as ebs download writes, and
// the file is synced at the end: the least a downloader must do, so that
// the cost of the write, which the first ceiling leaves out, is seen apart
// from the client's own. It returns the time taken, from the first
// listing to the last block, and how many blocks it read.
func getLoop(ctx context.Context, api *ebs.Client, id string, workers int, out string) (time.Duration, int, error) {
	began := time.Now()
	var f *os.File
	if out != "" {
		var err error
		if f, err = createDirect(out); err != nil {
			return 0, 0, err
		}
		defer f.Close()
	}
	var blocks []types.Block
	var token *string
	for {
		out, err := api.ListSnapshotBlocks(ctx, &ebs.ListSnapshotBlocksInput{
			SnapshotId: aws.String(id), MaxResults: aws.Int32(10000), NextToken: token,
		})
		if err != nil {
			return 0, 0, fmt.Errorf("ListSnapshotBlocks: %w", err)
		}
		blocks = append(blocks, out.Blocks...)
		if out.NextToken == nil || *out.NextToken == "" {
			break
		}
		token = out.NextToken
	}
	var (
		next  atomic.Int64
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			buf := make([]byte, blockSize)
			for {
				k := next.Add(1) - 1
				if k >= int64(len(blocks)) {
					return
				}
				if err := getOne(ctx, api, id, blocks[k], buf); err != nil {
					setErr(&mu, &first, err)
					return
				}
				if f == nil {
					continue
				}
				if _, err := f.WriteAt(buf, int64(aws.ToInt32(blocks[k].BlockIndex))*blockSize); err != nil {
					setErr(&mu, &first, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		return 0, 0, first
	}
	if f != nil {
		// ebs download makes its file durable before it reports.
		if err := f.Sync(); err != nil {
			return 0, 0, err
		}
	}
	return time.Since(began), len(blocks), nil
}

// getOne reads one block into buf and verifies it.
func getOne(ctx context.Context, api *ebs.Client, id string, b types.Block, buf []byte) error {
	out, err := api.GetSnapshotBlock(ctx, &ebs.GetSnapshotBlockInput{
		SnapshotId: aws.String(id), BlockIndex: b.BlockIndex, BlockToken: b.BlockToken,
	})
	if err != nil {
		return fmt.Errorf("GetSnapshotBlock %d: %w", aws.ToInt32(b.BlockIndex), err)
	}
	defer out.BlockData.Close()
	if _, err := io.ReadFull(out.BlockData, buf); err != nil {
		return fmt.Errorf("read block %d: %w", aws.ToInt32(b.BlockIndex), err)
	}
	want, err := base64.StdEncoding.DecodeString(aws.ToString(out.Checksum))
	if err != nil {
		return fmt.Errorf("block %d: checksum %q: %w", aws.ToInt32(b.BlockIndex), aws.ToString(out.Checksum), err)
	}
	if sum := sha256.Sum256(buf); !bytes.Equal(sum[:], want) {
		return fmt.Errorf("block %d: SHA-256 mismatch", aws.ToInt32(b.BlockIndex))
	}
	return nil
}
