package client

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"sync/atomic"
)

// download is one run of Download.
type download struct {
	c   *Client
	in  DownloadInput
	t   *target
	j   *Journal
	res *DownloadResult

	done   map[int32][sha256.Size]byte // journaled by an earlier run; nil unless resuming
	blocks int32                       // blocks in the volume
	tokens *tokenCache
	gate   *gate      // bounds the requests in flight, adapting to throttling
	wb     *writeback // starts the disk writing what the workers wrote

	digests digestLog // every listed block's verified digest, for the manifest

	written, zero, resumed, received, zeroFilled atomic.Int64
}

// job is one unit of work: a listed block (token set), or a range of
// unlisted blocks to zero (count > 0).
type job struct {
	index int32
	token string
	count int32
}

// gapChunk is the most blocks one zeroing job covers (64 MiB), so that
// zeroing a large unlisted range is shared among the workers.
const gapChunk = 128

// run lists the blocks into a bounded queue and has the workers fetch,
// verify and write them. The first error stops everything.
func (d *download) run(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan job, d.c.opts.Workers)
	d.wb = newWriteback(d.t.f)
	defer d.wb.stop()
	var wg sync.WaitGroup
	for range d.c.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := d.c.getBuf()
			defer d.c.putBuf(buf)
			for jb := range jobs {
				if err := d.do(ctx, jb, *buf); err != nil {
					cancel(err)
					for range jobs { // drain, so that the lister is not stuck
					}
					return
				}
			}
		}()
	}
	listErr := d.list(ctx, jobs)
	close(jobs)
	wg.Wait()
	d.res.Written, d.res.Zero, d.res.Resumed = d.written.Load(), d.zero.Load(), d.resumed.Load()
	d.res.BytesReceived, d.res.ZeroFilled = d.received.Load(), d.zeroFilled.Load()
	st := d.gate.stats()
	d.res.Throttled, d.res.LowestConcurrency = st.throttled, st.lowest
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return listErr
}

// list feeds jobs: every listed block, and the unlisted ranges between
// them when the target needs them zeroed.
func (d *download) list(ctx context.Context, jobs chan<- job) error {
	send := func(jb job) error {
		select {
		case jobs <- jb:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	gap := func(from, to int32) error {
		if !d.t.fillsGaps() {
			return nil
		}
		for from < to {
			n := min(to-from, gapChunk)
			if err := send(job{index: from, count: n}); err != nil {
				return err
			}
			from += n
		}
		return nil
	}
	var next int32
	for page, err := range d.c.ListBlocks(ctx, d.in.SnapshotID, ListOptions{}) {
		if err != nil {
			return err
		}
		for _, b := range page.Blocks {
			if b.Index >= d.blocks {
				return fmt.Errorf("snapshot %s lists block %d beyond its volume size", d.in.SnapshotID, b.Index)
			}
			if err := gap(next, b.Index); err != nil {
				return err
			}
			if err := send(job{index: b.Index, token: b.Token}); err != nil {
				return err
			}
			next = b.Index + 1
		}
	}
	return gap(next, d.blocks)
}

// do runs one job with buf, a block buffer of the worker's.
func (d *download) do(ctx context.Context, jb job, buf []byte) error {
	off := int64(jb.index) * BlockSize
	if jb.count > 0 {
		n := int64(jb.count) * BlockSize
		if err := d.t.zeroRange(off, n, buf); err != nil {
			return fmt.Errorf("zero %s at %d (+%d): %w", d.in.Path, off, n, err)
		}
		if d.t.device {
			d.zeroFilled.Add(n)
		}
		return nil
	}
	if want, ok := d.done[jb.index]; ok {
		if d.t.matches(off, buf, want) {
			d.record(jb.index, want)
			d.resumed.Add(1)
			d.c.opts.Observer.Block(Resumed, 0)
			return nil
		}
		d.c.log.Info("local block changed since it was downloaded; fetching it again", "block", jb.index)
	}
	digest, err := d.c.fetchBlock(ctx, d.gate, d.in.SnapshotID, jb.index, jb.token, buf, d.tokens)
	if err != nil {
		return err
	}
	d.received.Add(BlockSize)
	outcome := Written
	if digest == zeroDigest {
		outcome = Zero
		err = d.t.writeZeroBlock(off, buf)
	} else {
		var cached bool
		cached, err = d.t.writeBlock(buf, off)
		if err == nil && cached {
			d.wb.wrote(BlockSize)
		}
	}
	if err != nil {
		return fmt.Errorf("write block %d to %s: %w", jb.index, d.in.Path, err)
	}
	if err := d.j.Append(jb.index, digest); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	d.record(jb.index, digest)
	if outcome == Zero {
		d.zero.Add(1)
	} else {
		d.written.Add(1)
	}
	d.c.opts.Observer.Block(outcome, BlockSize)
	return nil
}

func (d *download) record(index int32, digest [sha256.Size]byte) {
	d.digests.add(index, digest)
}

// failed adds to err what was kept and how to continue.
func (d *download) failed(err error) error {
	if ferr := d.j.Flush(); ferr != nil {
		d.c.log.Warn("could not flush the download journal", "err", ferr)
	}
	done := d.written.Load() + d.zero.Load() + d.resumed.Load()
	return &DownloadError{SnapshotID: d.in.SnapshotID, Path: d.in.Path, Done: done, Err: err}
}
