package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"

	"github.com/ebsd/ebsd/internal/benchserver"
)

// dataset is the blocks one run uploads: block i is fill(buf, i), whose
// checksum, computed before any clock starts, is sums[i].
type dataset struct {
	name string
	n    int
	fill func(buf []byte, i int)
	sums []string
}

// session is what one ebsd process did with a dataset.
type session struct {
	putRate, getRate float64 // blocks per second
	putCPU, getCPU   float64 // server CPU seconds per GiB of blocks
	stored           int64   // bytes of pack files after the puts (and the collection, if any)
	written          int64   // bytes of pack files right after the puts
	gcCPU            float64 // CPU seconds per GiB of blocks of the offline collection, if any
	gcTime           time.Duration
	logical          int64 // bytes of the blocks put
	rss              int64 // server peak RSS
	p50, p99         time.Duration
}

// runSession starts ebsd with args on a fresh data directory under dir,
// puts every block of ds into one snapshot with workers uploaders,
// completes it, and, if gets, reads every block back with as many
// readers. With collect, between the two, it stops ebsd, runs one
// collection with "ebsd gc" (args too) on the data directory, timed, and
// starts ebsd again. The data directory is removed afterwards.
func runSession(ctx context.Context, opts options, dir string, ds dataset, args []string, gets, collect bool) (session, error) {
	var res session
	dataDir, err := os.MkdirTemp(dir, "server-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dataDir)
	srv, err := benchserver.StartWith(ctx, opts.ebsd, dataDir, benchserver.Options{Args: args})
	if err != nil {
		return res, err
	}
	defer srv.Stop()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: opts.workers, MaxConnsPerHost: opts.workers}}
	client := ebs.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(benchserver.KeyID, benchserver.Secret, ""),
		HTTPClient:  hc,
	}, func(o *ebs.Options) { o.BaseEndpoint = aws.String(srv.Endpoint); o.RetryMaxAttempts = 1 })
	volumeGiB := int64((ds.n + 2047) / 2048)
	start, err := client.StartSnapshot(ctx, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(volumeGiB)})
	if err != nil {
		return res, fmt.Errorf("StartSnapshot: %w", err)
	}
	id := start.SnapshotId

	cpu0, err := cpuSeconds(srv.Pid())
	if err != nil {
		return res, err
	}
	var latMu sync.Mutex
	var lats []time.Duration
	elapsed, err := parallel(opts.workers, ds.n, func(buf []byte, i int) error {
		ds.fill(buf, i)
		t0 := time.Now()
		_, err := client.PutSnapshotBlock(ctx, &ebs.PutSnapshotBlockInput{
			SnapshotId: id, BlockIndex: aws.Int32(int32(i)), BlockData: bytes.NewReader(buf),
			DataLength: aws.Int32(blockSize), Checksum: aws.String(ds.sums[i]),
			ChecksumAlgorithm: types.ChecksumAlgorithmChecksumAlgorithmSha256,
		})
		if err != nil {
			return fmt.Errorf("PutSnapshotBlock %d: %w", i, err)
		}
		d := time.Since(t0)
		latMu.Lock()
		lats = append(lats, d)
		latMu.Unlock()
		return nil
	})
	if err != nil {
		return res, err
	}
	cpu1, err := cpuSeconds(srv.Pid())
	if err != nil {
		return res, err
	}
	gib := float64(ds.n) * blockSize / (1 << 30)
	res.putRate = float64(ds.n) / elapsed.Seconds()
	res.putCPU = (cpu1 - cpu0) / gib
	res.logical = int64(ds.n) * blockSize
	res.p50, res.p99 = percentile(lats, 50), percentile(lats, 99)
	if res.stored, err = packBytes(dataDir); err != nil {
		return res, err
	}
	res.written = res.stored
	if collect {
		if err := complete(ctx, client, *id, ds.n); err != nil {
			return res, err
		}
		rss, err := srv.PeakRSS()
		if err != nil {
			return res, err
		}
		srv.Stop()
		if err := runGC(ctx, opts.ebsd, dataDir, args, gib, &res); err != nil {
			return res, err
		}
		if srv, err = benchserver.StartWith(ctx, opts.ebsd, dataDir, benchserver.Options{Args: args}); err != nil {
			return res, err
		}
		defer srv.Stop()
		client = ebs.New(client.Options(), func(o *ebs.Options) { o.BaseEndpoint = aws.String(srv.Endpoint) })
		if res.stored, err = packBytes(dataDir); err != nil {
			return res, err
		}
		defer func() { res.rss = max(res.rss, rss) }()
	}
	if gets {
		if err := readAll(ctx, client, opts, *id, ds, srv.Pid(), &res); err != nil {
			return res, err
		}
	}
	res.rss, err = srv.PeakRSS()
	return res, err
}

// complete completes snapshot id, of n blocks, and waits until it is.
func complete(ctx context.Context, client *ebs.Client, id string, n int) error {
	for {
		out, err := client.CompleteSnapshot(ctx, &ebs.CompleteSnapshotInput{SnapshotId: &id, ChangedBlocksCount: aws.Int32(int32(n))})
		if err != nil {
			return fmt.Errorf("CompleteSnapshot: %w", err)
		}
		if out.Status == types.StatusCompleted {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// runGC runs "ebsd gc" with args on the stopped server's data directory
// and records its CPU time per GiB of blocks and its duration in res.
func runGC(ctx context.Context, bin, dataDir string, args []string, gib float64, res *session) error {
	argv := append([]string{"gc", "-data-dir", dataDir, "-log-level", "warn"}, args...)
	cmd := exec.CommandContext(ctx, bin, argv...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	began := time.Now()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ebsd %v: %w\n%s", argv, err, stderr.String())
	}
	res.gcTime = time.Since(began)
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.gcCPU = time.Duration(ru.Utime.Nano()+ru.Stime.Nano()).Seconds() / gib
	}
	return nil
}

// readAll completes snapshot id, lists its blocks and reads them all
// back with opts.workers readers, each body read to its end (no hashing:
// the client's SHA-256 would take CPU from the server being measured).
func readAll(ctx context.Context, client *ebs.Client, opts options, id string, ds dataset, pid int, res *session) error {
	if err := complete(ctx, client, id, ds.n); err != nil {
		return err
	}
	tokens := make([]string, ds.n)
	var next *string
	for {
		out, err := client.ListSnapshotBlocks(ctx, &ebs.ListSnapshotBlocksInput{SnapshotId: &id, NextToken: next, MaxResults: aws.Int32(10000)})
		if err != nil {
			return fmt.Errorf("ListSnapshotBlocks: %w", err)
		}
		for _, b := range out.Blocks {
			tokens[aws.ToInt32(b.BlockIndex)] = aws.ToString(b.BlockToken)
		}
		if next = out.NextToken; next == nil || *next == "" {
			break
		}
	}
	cpu0, err := cpuSeconds(pid)
	if err != nil {
		return err
	}
	var bytesRead atomic.Int64
	elapsed, err := parallel(opts.workers, ds.n, func(buf []byte, i int) error {
		out, err := client.GetSnapshotBlock(ctx, &ebs.GetSnapshotBlockInput{SnapshotId: &id, BlockIndex: aws.Int32(int32(i)), BlockToken: &tokens[i]})
		if err != nil {
			return fmt.Errorf("GetSnapshotBlock %d: %w", i, err)
		}
		n, err := io.ReadFull(out.BlockData, buf)
		out.BlockData.Close()
		if err != nil {
			return fmt.Errorf("GetSnapshotBlock %d: body: %w", i, err)
		}
		bytesRead.Add(int64(n))
		return nil
	})
	if err != nil {
		return err
	}
	cpu1, err := cpuSeconds(pid)
	if err != nil {
		return err
	}
	if bytesRead.Load() != int64(ds.n)*blockSize {
		return fmt.Errorf("read %d bytes, want %d", bytesRead.Load(), int64(ds.n)*blockSize)
	}
	res.getRate = float64(ds.n) / elapsed.Seconds()
	res.getCPU = (cpu1 - cpu0) / (float64(ds.n) * blockSize / (1 << 30))
	return nil
}

// parallel runs fn for i in [0, n) on workers goroutines, each with a
// block buffer of its own, and returns how long it took.
func parallel(workers, n int, fn func(buf []byte, i int) error) (time.Duration, error) {
	var next atomic.Int64
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	began := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, blockSize)
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(buf, i); err != nil {
					errs <- err
					next.Store(int64(n)) // stop the others
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(began)
	close(errs)
	return elapsed, <-errs
}

// packBytes returns the bytes of the pack files in the server's data
// directory: what the blocks take on disk, headers included.
func packBytes(dataDir string) (int64, error) {
	paths, err := filepath.Glob(filepath.Join(dataDir, "blocks", "packs", "*.pack"))
	if err != nil {
		return 0, err
	}
	var n int64
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return 0, err
		}
		n += fi.Size()
	}
	return n, nil
}

// cpuSeconds returns the user and system CPU time process pid has used.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: fields count
	// from after its closing one. utime and stime are fields 14 and 15.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseFloat(f[11], 64)
	stime, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	const ticks = 100 // USER_HZ on Linux
	return (utime + stime) / ticks, nil
}
