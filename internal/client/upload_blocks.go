package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"

	ebsdomain "github.com/ebsd/ebsd/internal/ebs"
)

// uploadRun moves the blocks of one upload: a producer walks the block
// indexes, and Workers goroutines each read a block into a pooled buffer,
// pad it, test it for zeros, hash it once, decide whether it must be sent
// and send it.
type uploadRun struct {
	c             *Client
	in            *UploadInput
	id            string
	zero          ZeroPolicy // resolved: skip or upload
	parent        blockDigests
	journal       *Journal
	done          map[int32][sha256.Size]byte // journaled by an interrupted run
	notFoundUntil time.Time
	volumeBlocks  int64
	gate          *gate // bounds the puts in flight, adapting to throttling

	total                                  int64
	processed                              atomic.Int64
	written, zeros, unchanged, resumedBlks atomic.Int64
	digests                                digestLog // blocks written in this snapshot
}

// run uploads every block and returns the digests of all blocks written
// in the snapshot, this run's and the interrupted runs', sorted by index:
// what ChangedBlocksCount and the LINEAR aggregate are made of. It stops
// at the first error that retries did not cure, letting nothing else
// start; every block acknowledged until then is journaled.
func (r *uploadRun) run(ctx context.Context) (blockDigests, error) {
	imageBlocks := blockCount(r.in.Size)
	// Parent blocks past the end of the image must read back as zeros in
	// the child, like the rest of the volume: they are visited too.
	var extra []int32
	for _, d := range r.parent {
		if int64(d.index) >= imageBlocks && int64(d.index) < r.volumeBlocks {
			extra = append(extra, d.index)
		}
	}
	r.total = imageBlocks + int64(len(extra))
	obs := r.c.opts.Observer
	obs.Begin("upload", r.total, r.total*BlockSize)
	defer obs.End()

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan uploadJob, r.c.opts.Workers)
	var wg sync.WaitGroup
	for range r.c.opts.Workers {
		wg.Go(func() {
			for job := range jobs {
				if ctx.Err() != nil {
					continue
				}
				buf := r.c.getBuf()
				err := r.block(ctx, job, *buf)
				r.c.putBuf(buf)
				if err != nil {
					cancel(err)
				}
			}
		})
	}
	send := func(j uploadJob) bool {
		select {
		case jobs <- j:
			return true
		case <-ctx.Done():
			return false
		}
	}
	var holes *holeMap
	if !r.in.NoSparse {
		var err error
		if holes, err = newHoleMap(r.in.Image, r.in.Size); err != nil {
			r.c.log.Warn("not looking for holes: reading every block", "err", err)
		}
	}
produce:
	for i := int64(0); i < imageBlocks; i++ {
		off := i * BlockSize
		if !send(uploadJob{i, holes.hole(off, min(BlockSize, r.in.Size-off))}) {
			break produce
		}
	}
	for _, i := range extra {
		if !send(uploadJob{int64(i), true}) {
			break
		}
	}
	close(jobs)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}

	// Blocks journaled by an interrupted run and not visited now (none,
	// unless the walk changed) are in the snapshot all the same.
	written := r.digests.sorted()
	n := len(written)
	for i, sum := range r.done {
		if _, ok := written[:n].find(i); !ok {
			written = append(written, blockDigest{i, sum})
		}
	}
	if len(written) > n {
		written.sortByIndex()
	}
	return written, nil
}

// uploadJob is one block to handle.
type uploadJob struct {
	index int64
	zero  bool // known to be zero without reading: a hole, or past the image's end
}

// block handles one block, reading it into buf unless it is known zero.
func (r *uploadRun) block(ctx context.Context, job uploadJob, buf []byte) error {
	defer r.processed.Add(1)
	zero := job.zero
	if !zero {
		if err := readBlock(r.in.Image, r.in.Size, job.index, buf); err != nil {
			return err
		}
		zero = isZero(buf)
	}
	sum := ebsdomain.ZeroBlockDigest
	if !zero {
		sum = sha256.Sum256(buf)
	}
	i := int32(job.index)
	obs := r.c.opts.Observer
	prev, journaled := r.done[i]
	switch {
	case journaled && prev == sum:
		r.resumedBlks.Add(1)
		r.digests.add(i, sum)
		obs.Block(Resumed, 0)
		return nil
	case journaled:
		// Written by the interrupted run with other content: it is in the
		// snapshot, so it must be overwritten, zero or not.
	default:
		if p, ok := r.parent.find(i); ok {
			if p == sum {
				r.unchanged.Add(1)
				obs.Block(Unchanged, 0)
				return nil
			}
			// Differs from the parent: sent even when zero, or the child
			// would inherit the parent's data.
		} else if zero && r.zero == ZeroSkip {
			r.zeros.Add(1)
			obs.Block(Zero, 0)
			return nil
		}
	}
	if job.zero {
		clear(buf) // not read: the pooled buffer holds an earlier block
	}
	if err := r.put(ctx, i, buf, sum); err != nil {
		return err
	}
	if err := r.journal.Append(i, sum); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	r.digests.add(i, sum)
	r.written.Add(1)
	obs.Block(Written, BlockSize)
	return nil
}

// put sends one block.
func (r *uploadRun) put(ctx context.Context, i int32, buf []byte, sum [sha256.Size]byte) error {
	checksum := base64.StdEncoding.EncodeToString(sum[:])
	progress := int32(100 * r.processed.Load() / max(r.total, 1))
	what := "PutSnapshotBlock " + r.id + " block " + strconv.Itoa(int(i))
	retryNotFound := r.c.opts.Now().Before(r.notFoundUntil)
	err := r.c.callGated(ctx, r.gate, what, retryNotFound, func(ctx context.Context) error {
		_, err := r.c.api.PutSnapshotBlock(ctx, &ebs.PutSnapshotBlockInput{
			SnapshotId:        aws.String(r.id),
			BlockIndex:        aws.Int32(i),
			BlockData:         bytes.NewReader(buf),
			DataLength:        aws.Int32(BlockSize),
			Checksum:          aws.String(checksum),
			ChecksumAlgorithm: types.ChecksumAlgorithmChecksumAlgorithmSha256,
			Progress:          aws.Int32(progress),
		})
		return err
	})
	if err != nil && !strings.HasPrefix(err.Error(), what) {
		err = fmt.Errorf("%s: %w", what, err)
	}
	return err
}

// fill copies the run's counts into res.
func (r *uploadRun) fill(res *UploadResult) {
	res.Blocks = r.processed.Load()
	res.Written = r.written.Load()
	res.Zero = r.zeros.Load()
	res.Unchanged = r.unchanged.Load()
	res.Resumed = r.resumedBlks.Load()
	res.BytesSent = res.Written * BlockSize
	st := r.gate.stats()
	res.Throttled, res.LowestConcurrency = st.throttled, st.lowest
}
