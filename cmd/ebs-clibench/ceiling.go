package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"

	"github.com/ebsd/ebsd/internal/benchserver"
)

// sdkClient returns a plain official EBS client of the server at
// endpoint with a connection pool of workers connections and SDK retries
// off.
func sdkClient(endpoint string, workers int) *ebs.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost, tr.MaxConnsPerHost = workers, workers
	return ebs.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(benchserver.KeyID, benchserver.Secret, ""),
		HTTPClient:  &http.Client{Transport: tr},
	}, func(o *ebs.Options) { o.BaseEndpoint = aws.String(endpoint); o.RetryMaxAttempts = 1 })
}

// ceiling measures the server's PutSnapshotBlock ceiling as a plain SDK
// loop sees it: workers goroutines take the image's non-zero blocks in
// turn, read each, hash it and put it, from StartSnapshot to
// CompleteSnapshot. Each block's first 8 bytes are stamped with the run
// number, so that no run stores content the server already holds (ebsd
// stores blocks by content). It returns the time taken.
func ceiling(ctx context.Context, api *ebs.Client, img *image, workers, run int) (time.Duration, error) {
	f, err := os.Open(img.path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	volume := (img.size + 1<<30 - 1) >> 30
	began := time.Now()
	start, err := api.StartSnapshot(ctx, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(volume)})
	if err != nil {
		return 0, fmt.Errorf("StartSnapshot: %w", err)
	}
	id := start.SnapshotId
	var (
		next  atomic.Int64
		mu    sync.Mutex
		sums  = make([][sha256.Size]byte, len(img.nonZero))
		first error
		wg    sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			buf := make([]byte, blockSize)
			for {
				k := next.Add(1) - 1
				if k >= int64(len(img.nonZero)) {
					return
				}
				i := img.nonZero[k]
				clear(buf)
				if _, err := f.ReadAt(buf[:min(blockSize, img.size-i*blockSize)], i*blockSize); err != nil {
					setErr(&mu, &first, err)
					return
				}
				binary.LittleEndian.PutUint64(buf, uint64(run)<<56|uint64(i))
				sum := sha256.Sum256(buf)
				sums[k] = sum
				_, err := api.PutSnapshotBlock(ctx, &ebs.PutSnapshotBlockInput{
					SnapshotId: id, BlockIndex: aws.Int32(int32(i)), BlockData: bytes.NewReader(buf),
					DataLength: aws.Int32(blockSize), Checksum: aws.String(base64.StdEncoding.EncodeToString(sum[:])),
					ChecksumAlgorithm: types.ChecksumAlgorithmChecksumAlgorithmSha256,
				})
				if err != nil {
					setErr(&mu, &first, fmt.Errorf("PutSnapshotBlock %d: %w", i, err))
					return
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		return 0, first
	}
	h := sha256.New()
	for _, s := range sums {
		h.Write(s[:])
	}
	_, err = api.CompleteSnapshot(ctx, &ebs.CompleteSnapshotInput{
		SnapshotId: id, ChangedBlocksCount: aws.Int32(int32(len(sums))),
		Checksum:                  aws.String(base64.StdEncoding.EncodeToString(h.Sum(nil))),
		ChecksumAlgorithm:         types.ChecksumAlgorithmChecksumAlgorithmSha256,
		ChecksumAggregationMethod: types.ChecksumAggregationMethodChecksumAggregationLinear,
	})
	if err != nil {
		return 0, fmt.Errorf("CompleteSnapshot: %w", err)
	}
	return time.Since(began), nil
}

func setErr(mu *sync.Mutex, first *error, err error) {
	mu.Lock()
	defer mu.Unlock()
	if *first == nil {
		*first = err
	}
}

// waitReadable polls until the read APIs know snapshot id.
func waitReadable(ctx context.Context, api *ebs.Client, id string) error {
	for {
		_, err := api.ListSnapshotBlocks(ctx, &ebs.ListSnapshotBlocksInput{SnapshotId: aws.String(id), MaxResults: aws.Int32(100)})
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("snapshot %s not readable: %w", id, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
