package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"

	"github.com/ebsd/ebsd/internal/benchserver"
)

const blockSize = 524288

type options struct {
	ebsd     string
	dir      string
	workers  int
	blocks   int
	baseline bool
}

func run(ctx context.Context, opts options) error {
	dir := opts.dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "ebsd-bench-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	volumeGiB := int64((opts.blocks + 2047) / 2048)
	fmt.Printf("ebsd-bench: %d blocks (%d MiB) with %d workers, data in %s\n", opts.blocks, opts.blocks/2, opts.workers, dir)

	// Blocks are a random base block stamped with their index, so that
	// every block is distinct; their checksums are computed before the
	// clock starts, so that the client's own hashing (on the same two
	// cores as the server) is not what is measured.
	base := make([]byte, blockSize)
	for i := range base {
		base[i] = byte(rand.Uint32())
	}
	fill := func(buf []byte, i int) {
		copy(buf, base)
		binary.LittleEndian.PutUint64(buf, uint64(i)+1)
	}
	sums := make([]string, opts.blocks)
	scratch := make([]byte, blockSize)
	for i := range sums {
		fill(scratch, i)
		d := sha256.Sum256(scratch)
		sums[i] = base64.StdEncoding.EncodeToString(d[:])
	}
	srv, err := benchserver.Start(ctx, opts.ebsd, filepath.Join(dir, "server"))
	if err != nil {
		return err
	}
	defer srv.Stop()

	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: opts.workers, MaxConnsPerHost: opts.workers}}
	client := ebs.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(benchserver.KeyID, benchserver.Secret, ""),
		HTTPClient:  hc,
	}, func(o *ebs.Options) { o.BaseEndpoint = aws.String(srv.Endpoint); o.RetryMaxAttempts = 1 })
	start, err := client.StartSnapshot(ctx, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(volumeGiB)})
	if err != nil {
		return fmt.Errorf("StartSnapshot: %w", err)
	}
	id := *start.SnapshotId

	var (
		next      atomic.Int64
		latencies = make([][]time.Duration, opts.workers)
		errs      = make(chan error, opts.workers)
		wg        sync.WaitGroup
	)
	began := time.Now()
	for w := 0; w < opts.workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			buf := make([]byte, blockSize)
			for {
				i := next.Add(1) - 1
				if i >= int64(opts.blocks) {
					return
				}
				fill(buf, int(i))
				t0 := time.Now()
				_, err := client.PutSnapshotBlock(ctx, &ebs.PutSnapshotBlockInput{
					SnapshotId: &id, BlockIndex: aws.Int32(int32(i)), BlockData: bytes.NewReader(buf),
					DataLength: aws.Int32(blockSize), Checksum: aws.String(sums[i]),
					ChecksumAlgorithm: types.ChecksumAlgorithmChecksumAlgorithmSha256,
				})
				if err != nil {
					errs <- fmt.Errorf("PutSnapshotBlock %d: %w", i, err)
					return
				}
				latencies[w] = append(latencies[w], time.Since(t0))
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(began)
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	var all []time.Duration
	for _, l := range latencies {
		all = append(all, l...)
	}
	sort.Slice(all, func(a, b int) bool { return all[a] < all[b] })
	rate := float64(opts.blocks) / elapsed.Seconds()
	rss, err := srv.PeakRSS()
	if err != nil {
		return err
	}
	fmt.Printf("PutSnapshotBlock: %.0f blocks/s, %.0f MiB/s (%d blocks in %v); latency p50 %v p99 %v max %v\n",
		rate, rate/2, opts.blocks, elapsed.Round(time.Millisecond),
		all[len(all)/2].Round(100*time.Microsecond), all[len(all)*99/100].Round(100*time.Microsecond), all[len(all)-1].Round(time.Millisecond))
	fmt.Printf("server peak RSS: %.1f MiB\n", float64(rss)/(1<<20))

	if opts.baseline {
		for _, hash := range []bool{false, true} {
			base, err := diskCeiling(ctx, dir, opts.workers, opts.blocks, hash)
			if err != nil {
				return err
			}
			what := "append + group fdatasync + synced Pebble commit per 512 KiB block"
			if hash {
				what += " + its SHA-256"
			}
			fmt.Printf("baseline (same disk, same run): %s, %d writers, no network: %.0f blocks/s; ebsd reaches %.0f%% of it\n",
				what, opts.workers, base, 100*rate/base)
		}
	}
	return nil
}
