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
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"

	"github.com/ebsd/ebsd/internal/benchserver"
)

const blockSize = 512 << 10

func run(ctx context.Context, o options) error {
	dir := o.dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "ebsd-diskcpu-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	thr, err := newThrottle(dir, o.writeIOPS, o.writeBPS)
	if err != nil {
		return fmt.Errorf("throttle the disk: %w", err)
	}
	defer thr.remove()
	fmt.Printf("ebsd-diskcpu: %d blocks (%.2f GiB) per run, %d workers, %d rounds; slow disk: %d writes/s, %.0f MiB/s\n",
		o.blocks, float64(o.blocks)*blockSize/(1<<30), o.workers, o.rounds, o.writeIOPS, float64(o.writeBPS)/(1<<20))
	var results []result
	for r := range o.rounds {
		// Alternate the order, so that neither mode always runs on a disk
		// the other just filled.
		for _, slow := range []bool{r%2 == 1, r%2 == 0} {
			res, err := measure(ctx, o, filepath.Join(dir, fmt.Sprintf("r%d-%s", r, mode(slow))), thr, slow, uint64(2*r)+boolU(slow))
			if err != nil {
				return err
			}
			fmt.Printf("round %d %s: %.0f blocks/s, server %.2f CPU-s/GiB (%.2f of it in the kernel)\n", r, mode(slow), res.rate, res.cpuPerGiB, res.sysPerGiB)
			results = append(results, res)
		}
	}
	fc, fr := summarize(results, false)
	sc, sr := summarize(results, true)
	fmt.Printf("fast disk: %.2f / %.2f / %.2f CPU-s/GiB, %.0f / %.0f / %.0f blocks/s (min / median / max)\n", fc[0], fc[1], fc[2], fr[0], fr[1], fr[2])
	fmt.Printf("slow disk: %.2f / %.2f / %.2f CPU-s/GiB, %.0f / %.0f / %.0f blocks/s\n", sc[0], sc[1], sc[2], sr[0], sr[1], sr[2])
	fmt.Printf("server CPU per GiB, slow over fast (medians): %.2f (goal ≤ 1.3); the slow disk ran at %.2f× the fast one's rate\n",
		sc[1]/fc[1], sr[1]/fr[1])
	return nil
}

func boolU(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// measure starts a server on dataDir, throttled when slow, and uploads
// o.blocks blocks of stream into one snapshot.
func measure(ctx context.Context, o options, dataDir string, thr *throttle, slow bool, stream uint64) (result, error) {
	res := result{slow: slow}
	blocks := makeBlocks(stream, o.blocks)
	srv, err := benchserver.Start(ctx, o.ebsd, dataDir)
	if err != nil {
		return res, err
	}
	defer srv.Stop()
	if slow {
		if err := thr.add(srv.Pid()); err != nil {
			return res, err
		}
	}
	client := ebs.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(benchserver.KeyID, benchserver.Secret, ""),
		HTTPClient:  &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.workers, MaxConnsPerHost: o.workers}},
	}, func(eo *ebs.Options) { eo.BaseEndpoint = aws.String(srv.Endpoint) })
	snap, err := client.StartSnapshot(ctx, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(int64(o.blocks/2048 + 1))})
	if err != nil {
		return res, err
	}
	cpu0, err := cpuTime(srv.Pid())
	if err != nil {
		return res, err
	}
	t0 := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, o.workers)
	for range o.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, blockSize)
			for {
				i := int(next.Add(1) - 1)
				if i >= o.blocks || ctx.Err() != nil {
					return
				}
				blocks.fill(buf, i)
				_, err := client.PutSnapshotBlock(ctx, &ebs.PutSnapshotBlockInput{
					SnapshotId: snap.SnapshotId, BlockIndex: aws.Int32(int32(i)), BlockData: bytes.NewReader(buf),
					DataLength: aws.Int32(blockSize), Checksum: aws.String(blocks.sums[i]),
					ChecksumAlgorithm: types.ChecksumAlgorithmChecksumAlgorithmSha256,
				})
				if err != nil {
					errs <- fmt.Errorf("PutSnapshotBlock %d: %w", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(t0)
	select {
	case err := <-errs:
		return res, err
	default:
	}
	cpu1, err := cpuTime(srv.Pid())
	if err != nil {
		return res, err
	}
	gib := float64(o.blocks) * blockSize / (1 << 30)
	res.cpuPerGiB = (cpu1.user + cpu1.sys - cpu0.user - cpu0.sys).Seconds() / gib
	res.sysPerGiB = (cpu1.sys - cpu0.sys).Seconds() / gib
	res.rate = float64(o.blocks) / elapsed.Seconds()
	return res, nil
}

// blockSet is the content of one run: distinct, incompressible blocks,
// with their checksums computed before the clock starts.
type blockSet struct {
	stream uint64
	nonce  uint64
	sums   []string
}

func makeBlocks(stream uint64, n int) *blockSet {
	b := &blockSet{stream: stream, nonce: rand.Uint64(), sums: make([]string, n)}
	var wg sync.WaitGroup
	w := runtime.GOMAXPROCS(0)
	for k := range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, blockSize)
			for i := k; i < n; i += w {
				b.fill(buf, i)
				d := sha256.Sum256(buf)
				b.sums[i] = base64.StdEncoding.EncodeToString(d[:])
			}
		}()
	}
	wg.Wait()
	return b
}

func (b *blockSet) fill(buf []byte, i int) {
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[0:], b.nonce)
	binary.LittleEndian.PutUint64(seed[8:], b.stream)
	binary.LittleEndian.PutUint64(seed[16:], uint64(i))
	_, _ = rand.NewChaCha8(seed).Read(buf)
}

// cpuTime returns the user and system CPU time process pid used so far.
func cpuTime(pid int) (cpuUse, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return cpuUse{}, err
	}
	// Fields after the command name, which is in parentheses and may
	// hold spaces: state is field 3, utime 14, stime 15.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return cpuUse{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	var ticks [2]int64
	for i, x := range f[11:13] {
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return cpuUse{}, err
		}
		ticks[i] = n
	}
	// USER_HZ is 100 on Linux.
	return cpuUse{user: time.Duration(ticks[0]) * time.Second / 100, sys: time.Duration(ticks[1]) * time.Second / 100}, nil
}

// cpuUse is CPU time in user space and in the kernel.
type cpuUse struct{ user, sys time.Duration }
