package s3blocks

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ebsd/ebsd/internal/ebs"
)

// TestThroughput compares MinIO's own rate of 512 KiB PUTs and GETs with
// Put and Get through the store, same clients, same run (issue #13, item
// 3: Put ≥ 3× the PUT rate, Get ≥ the GET rate), and reports S3 requests
// per GiB written. It takes about a minute: EBSD_S3_BENCH=1 runs it, and
// EBSD_S3_BENCH_SECONDS sets the seconds per measurement (default 3).
func TestThroughput(t *testing.T) {
	if os.Getenv("EBSD_S3_BENCH") == "" {
		t.Skip("set EBSD_S3_BENCH=1 to measure throughput (about a minute)")
	}
	d := 3 * time.Second
	if v := os.Getenv("EBSD_S3_BENCH_SECONDS"); v != "" {
		var sec float64
		fmt.Sscan(v, &sec)
		d = time.Duration(sec * float64(time.Second))
	}
	h := newHarness(t, pgIndex(t))
	s := h.open(t)
	ctx := t.Context()
	t.Logf("%-8s %12s %12s %12s %12s %8s %10s", "clients", "S3 PUT/s", "Put/s", "S3 GET/s", "Get/s", "Put/PUT", "PUTs/GiB")
	for _, clients := range []int{8, 32, 64} {
		// MinIO alone: one object per block.
		var names []string
		var namesMu sync.Mutex
		rawPut := rate(clients, d, func(g, i int, buf []byte) error {
			name := fmt.Sprintf("raw/%d/%d/%d", clients, g, i)
			_, err := h.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(h.bucket), Key: aws.String(name),
				Body: bytes.NewReader(buf), ContentLength: aws.Int64(int64(len(buf)))})
			namesMu.Lock()
			names = append(names, name)
			namesMu.Unlock()
			return err
		})
		rawGet := rate(clients, d, func(g, i int, buf []byte) error {
			name := names[rand.IntN(len(names))]
			out, err := h.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(h.bucket), Key: aws.String(name)})
			if err != nil {
				return err
			}
			defer out.Body.Close()
			_, err = bytes.NewBuffer(buf[:0]).ReadFrom(out.Body)
			return err
		})
		// The store: distinct blocks, keys unique per block.
		var keys []ebs.Digest
		var keysMu sync.Mutex
		before := s.Stats()
		put := rate(clients, d, func(g, i int, buf []byte) error {
			binary.LittleEndian.PutUint64(buf, uint64(clients)<<48|uint64(g)<<32|uint64(i))
			key := ebs.Digest(sha256.Sum256(buf[:8]))
			err := s.Put(ctx, key, buf)
			keysMu.Lock()
			keys = append(keys, key)
			keysMu.Unlock()
			return err
		})
		after := s.Stats()
		get := rate(clients, d, func(g, i int, buf []byte) error {
			_, err := s.Get(ctx, keys[rand.IntN(len(keys))], buf[:0])
			return err
		})
		puts := after.Puts - before.Puts
		gib := float64(after.BlockBytes-before.BlockBytes) / (1 << 30)
		t.Logf("%-8d %12.0f %12.0f %12.0f %12.0f %8.1f %10.0f", clients, rawPut, put, rawGet, get, put/rawPut, float64(puts)/gib)
	}
}

// rate runs fn from clients goroutines for d, each with its own 512 KiB
// buffer of random bytes, and returns calls per second.
func rate(clients int, d time.Duration, fn func(g, i int, buf []byte) error) float64 {
	var n, failed atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for g := range clients {
		wg.Go(func() {
			buf := make([]byte, ebs.BlockSize)
			for i := range buf {
				buf[i] = byte(rand.Uint32())
			}
			for i := 0; time.Now().Before(deadline); i++ {
				if err := fn(g, i, buf); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	if err := firstErr.Load(); err != nil {
		panic(fmt.Sprintf("%d calls failed, first: %v", failed.Load(), err))
	}
	return float64(n.Load()) / time.Since(start).Seconds()
}

var _ = context.Background
