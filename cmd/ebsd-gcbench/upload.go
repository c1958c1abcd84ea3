package main

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"
)

// uploader runs the upload U: rounds of blocks distinct random blocks, each
// round a new snapshot, put by workers concurrent PutSnapshotBlock calls.
type uploader struct {
	client  *ebs.Client
	workers int
	blocks  int // per round
	content content
}

// upload is what a run of rounds did: when it began and ended, and when
// each block was acknowledged, after how long.
type upload struct {
	began, ended time.Time
	acks         []ack // by time
}

// ack is one PutSnapshotBlock's acknowledgement.
type ack struct {
	at      time.Time
	latency time.Duration
}

func (a ack) compare(b ack) int { return a.at.Compare(b.at) }

// in returns the acknowledgements within [from, to], over the part of it
// that the upload covered, and that part's length. A block in flight at
// either edge counts where it was acknowledged: with thousands of blocks
// and a few dozen in flight, the edge error is under a percent.
func (u upload) in(from, to time.Time) ([]ack, time.Duration) {
	if u.began.After(from) {
		from = u.began
	}
	if u.ended.Before(to) {
		to = u.ended
	}
	d := to.Sub(from)
	if d <= 0 {
		return nil, 0
	}
	lo, _ := slices.BinarySearchFunc(u.acks, ack{at: from}, ack.compare)
	hi, _ := slices.BinarySearchFunc(u.acks, ack{at: to}, ack.compare)
	for hi < len(u.acks) && u.acks[hi].at.Equal(to) {
		hi++
	}
	return u.acks[lo:hi], d
}

// perBucket returns the blocks per second of acks in consecutive buckets
// of length d from from; acks must lie in [from, from+n*d].
func perBucket(acks []ack, from time.Time, d time.Duration) []float64 {
	var out []float64
	for _, a := range acks {
		i := max(0, int(a.at.Sub(from)/d))
		for len(out) <= i {
			out = append(out, 0)
		}
		out[i]++
	}
	for i := range out {
		out[i] /= d.Seconds()
	}
	return out
}

// percentile returns the latency below which fraction q of acks fall.
func percentile(acks []ack, q float64) time.Duration {
	if len(acks) == 0 {
		return 0
	}
	l := make([]time.Duration, len(acks))
	for i, a := range acks {
		l[i] = a.latency
	}
	slices.Sort(l)
	return l[min(len(l)-1, int(q*float64(len(l))))]
}

// run uploads rounds of u.blocks blocks, round first+k with the checksums
// sums[k], until every round is done or stop returns true; stop is asked
// before each block. Workers go from one round into the next without
// waiting for the round's last blocks, so that a long run has no dip at
// round boundaries.
func (u *uploader) run(ctx context.Context, first int, sums [][]string, stop func() bool) (upload, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		snapMu   sync.Mutex
		snaps    = make(map[int]string)
		acks     = make([][]ack, u.workers)
		errOnce  sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel() })
	}
	// snapshot returns round r's snapshot, starting it on first use.
	snapshot := func(r int) (string, error) {
		snapMu.Lock()
		defer snapMu.Unlock()
		if id, ok := snaps[r]; ok {
			return id, nil
		}
		out, err := u.client.StartSnapshot(ctx, &ebs.StartSnapshotInput{
			VolumeSize:  aws.Int64(int64((u.blocks + 2047) / 2048)),
			Description: aws.String(fmt.Sprintf("ebsd-gcbench upload round %d", first+r)),
		})
		if err != nil {
			return "", fmt.Errorf("StartSnapshot: %w", err)
		}
		snaps[r] = *out.SnapshotId
		return *out.SnapshotId, nil
	}
	total := int64(len(sums) * u.blocks)
	res := upload{began: time.Now()}
	for w := range u.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, blockSize)
			for ctx.Err() == nil && !stop() {
				g := next.Add(1) - 1
				if g >= total {
					return
				}
				r, i := int(g)/u.blocks, int(g)%u.blocks
				id, err := snapshot(r)
				if err != nil {
					fail(err)
					return
				}
				u.content.fill(buf, uint64(streamRound+first+r), uint64(i))
				t0 := time.Now()
				_, err = u.client.PutSnapshotBlock(ctx, &ebs.PutSnapshotBlockInput{
					SnapshotId: &id, BlockIndex: aws.Int32(int32(i)), BlockData: bytes.NewReader(buf),
					DataLength: aws.Int32(blockSize), Checksum: aws.String(sums[r][i]),
					ChecksumAlgorithm: types.ChecksumAlgorithmChecksumAlgorithmSha256,
				})
				if err != nil {
					fail(fmt.Errorf("PutSnapshotBlock %s %d: %w", id, i, err))
					return
				}
				now := time.Now()
				acks[w] = append(acks[w], ack{now, now.Sub(t0)})
			}
		}()
	}
	wg.Wait()
	res.ended = time.Now()
	if firstErr != nil {
		return res, firstErr
	}
	res.acks = slices.Concat(acks...)
	slices.SortFunc(res.acks, ack.compare)
	return res, nil
}
