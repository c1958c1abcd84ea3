package client_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"

	"github.com/ebsd/ebsd/internal/client"
	"github.com/ebsd/ebsd/internal/ebstest"
)

// benchBlocks is the benchmark volume, 1 GiB: 2048 blocks, every other
// one random data.
const benchBlocks = 2048

// benchSnapshot creates a 1 GiB snapshot whose even blocks are random;
// the odd ones are written as zero blocks when zerosWritten (they are
// then listed and downloaded), else left unwritten. Blocks are made on
// the fly, so that setting up holds no image in memory.
func benchSnapshot(b *testing.B, api *ebs.Client, zerosWritten bool) string {
	b.Helper()
	id := dlStart(b, api, dlSpec{})
	zero := make([]byte, client.BlockSize)
	var mu sync.Mutex
	digests := map[int32][sha256.Size]byte{}
	work := make(chan int32)
	var wg sync.WaitGroup
	var firstErr error
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				data := zero
				if i%2 == 0 {
					data = ebstest.Random(uint64(i))
				}
				_, err := api.PutSnapshotBlock(context.Background(), &ebs.PutSnapshotBlockInput{
					SnapshotId: aws.String(id), BlockIndex: aws.Int32(i), BlockData: bytes.NewReader(data),
					DataLength: aws.Int32(client.BlockSize), Checksum: aws.String(ebstest.Checksum(data)),
					ChecksumAlgorithm: types.ChecksumAlgorithmChecksumAlgorithmSha256,
				})
				mu.Lock()
				digests[i] = sha256.Sum256(data)
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	for i := int32(0); i < benchBlocks; i++ {
		if i%2 == 0 || zerosWritten {
			work <- i
		}
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		b.Fatalf("PutSnapshotBlock: %v", firstErr)
	}
	h := sha256.New()
	for i := int32(0); i < benchBlocks; i++ {
		if d, ok := digests[i]; ok {
			h.Write(d[:])
		}
	}
	count := int32(len(digests))
	sum := aws.String(base64.StdEncoding.EncodeToString(h.Sum(nil)))
	if _, err := api.CompleteSnapshot(context.Background(), &ebs.CompleteSnapshotInput{
		SnapshotId: aws.String(id), ChangedBlocksCount: &count, Checksum: sum,
		ChecksumAlgorithm:         types.ChecksumAlgorithmChecksumAlgorithmSha256,
		ChecksumAggregationMethod: types.ChecksumAggregationMethodChecksumAggregationLinear,
	}); err != nil {
		b.Fatalf("CompleteSnapshot: %v", err)
	}
	return id
}

// BenchmarkDownload downloads a 1 GiB snapshot, half of it zero blocks,
// from an in-process ebsd into a temporary file with the default 64
// workers, and reports the volume's MiB/s ("download-MiB/s"). Each
// iteration also fetches the same blocks with a plain SDK loop (64
// goroutines) that neither verifies nor writes them: "raw-get-MiB/s" is
// that ceiling, measured alternately with the download so that both see
// the same machine load, and "%-of-raw" the ratio. ns/op covers both.
//
//	go test -run='^$' -bench=Download -benchtime=3x ./internal/client/
func BenchmarkDownload(b *testing.B) {
	srv := ebstest.Start(b, ebstest.Options{})
	hc := dlHTTPClient(nil)
	b.Cleanup(hc.CloseIdleConnections)
	api := ebstest.NewClient(srv.URL, ebstest.Alice, hc)
	for _, bc := range []struct {
		name         string
		zerosWritten bool
	}{
		{"zeros-unwritten", false},
		{"zeros-written", true},
	} {
		id := benchSnapshot(b, api, bc.zerosWritten)
		b.Run(bc.name, func(b *testing.B) {
			c := client.New(api, client.Options{StateDir: b.TempDir()})
			path := filepath.Join(b.TempDir(), "disk.img")
			b.ReportAllocs()
			var dl, raw time.Duration
			for b.Loop() {
				begin := time.Now()
				res, err := c.Download(context.Background(), client.DownloadInput{SnapshotID: id, Path: path, Force: true})
				dl += time.Since(begin)
				if err != nil {
					b.Fatal(err)
				}
				if res.Written != benchBlocks/2 {
					b.Fatalf("wrote %d blocks", res.Written)
				}
				b.StopTimer()
				os.Remove(path)
				b.StartTimer()
				begin = time.Now()
				rawGetAll(b, api, id)
				raw += time.Since(begin)
			}
			b.ReportMetric(float64(b.N)*1024/dl.Seconds(), "download-MiB/s")
			b.ReportMetric(float64(b.N)*1024/raw.Seconds(), "raw-get-MiB/s")
			b.ReportMetric(100*raw.Seconds()/dl.Seconds(), "%-of-raw")
		})
	}
}

// rawGetAll lists snapshot id and reads every block with 64 goroutines,
// discarding the data.
func rawGetAll(b *testing.B, api *ebs.Client, id string) {
	out, err := api.ListSnapshotBlocks(context.Background(), &ebs.ListSnapshotBlocksInput{SnapshotId: aws.String(id), MaxResults: aws.Int32(10000)})
	if err != nil {
		b.Fatal(err)
	}
	work := make(chan types.Block)
	var wg sync.WaitGroup
	for range client.DefaultWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for blk := range work {
				o, err := api.GetSnapshotBlock(context.Background(), &ebs.GetSnapshotBlockInput{SnapshotId: aws.String(id), BlockIndex: blk.BlockIndex, BlockToken: blk.BlockToken})
				if err != nil {
					b.Error(err)
					continue
				}
				io.Copy(io.Discard, o.BlockData)
				o.BlockData.Close()
			}
		}()
	}
	for _, blk := range out.Blocks {
		work <- blk
	}
	close(work)
	wg.Wait()
}
