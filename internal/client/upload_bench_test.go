package client_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"

	"github.com/ebsd/ebsd/internal/client"
	"github.com/ebsd/ebsd/internal/ebstest"
)

// benchImage writes a sparse image of blocks blocks, every other one
// random, and returns its path and the indexes of the non-zero blocks.
func benchImage(b *testing.B, blocks int) (string, []int64) {
	b.Helper()
	path := filepath.Join(b.TempDir(), "disk.img")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(int64(blocks) * bs); err != nil {
		b.Fatal(err)
	}
	var nonZero []int64
	for i := 1; i < blocks; i += 2 {
		if _, err := f.WriteAt(ebstest.Random(uint64(i)), int64(i)*bs); err != nil {
			b.Fatal(err)
		}
		nonZero = append(nonZero, int64(i))
	}
	return path, nonZero
}

func benchAPI(b *testing.B, workers int) *ebs.Client {
	srv := ebstest.Start(b, ebstest.Options{})
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost, tr.MaxConnsPerHost = workers, workers
	b.Cleanup(tr.CloseIdleConnections)
	return ebstest.NewClient(srv.URL, ebstest.Alice, &http.Client{Transport: tr})
}

// BenchmarkUpload uploads a 256 MiB image, half zero blocks, into an
// in-process ebsd; BenchmarkPutCeiling puts the same non-zero blocks
// with a plain SDK loop (read, hash, put), the bound Upload is measured
// against. Client and server share the process and the CPUs, so compare
// the two, not the absolute numbers; cmd/ebs-clibench measures with
// separate processes.
func BenchmarkUpload(b *testing.B) {
	const blocks, workers = 512, 64
	path, _ := benchImage(b, blocks)
	api := benchAPI(b, workers)
	c := client.New(api, client.Options{Workers: workers, StateDir: b.TempDir()})
	f, size, err := client.OpenImage(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.SetBytes(size)
	for b.Loop() {
		// A fresh image content each round would be fairer to a
		// deduplicating server; ebsd stores identical blocks once, so
		// rounds after the first store no new data, as in the ceiling.
		if _, err := c.Upload(context.Background(), client.UploadInput{Image: f, Size: size}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPutCeiling(b *testing.B) {
	const blocks, workers = 512, 64
	path, nonZero := benchImage(b, blocks)
	api := benchAPI(b, workers)
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.SetBytes(blocks * bs)
	ctx := context.Background()
	for b.Loop() {
		start, err := api.StartSnapshot(ctx, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1)})
		if err != nil {
			b.Fatal(err)
		}
		var next atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				buf := make([]byte, bs)
				for {
					k := next.Add(1) - 1
					if k >= int64(len(nonZero)) {
						return
					}
					i := nonZero[k]
					if _, err := f.ReadAt(buf, i*bs); err != nil {
						b.Error(err)
						return
					}
					sum := sha256.Sum256(buf)
					if _, err := api.PutSnapshotBlock(ctx, &ebs.PutSnapshotBlockInput{
						SnapshotId: start.SnapshotId, BlockIndex: aws.Int32(int32(i)), BlockData: bytes.NewReader(buf),
						DataLength: aws.Int32(bs), Checksum: aws.String(base64.StdEncoding.EncodeToString(sum[:])),
						ChecksumAlgorithm: types.ChecksumAlgorithmChecksumAlgorithmSha256,
					}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
}
