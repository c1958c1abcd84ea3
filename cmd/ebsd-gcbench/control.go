package main

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/ebsd/ebsd/internal/benchserver"
)

// control is the run without a collection: the same fill on a fresh data
// directory, the same server flags but -gc-interval 0, and U on the same
// timeline: its baseline round, then rounds from the instant the
// collection started in the measured run for as long as U covered it.
// Its "during" is what U does over those seconds when nothing is
// collected, which a virtual disk whose speed falls under sustained writes
// (seen here: U at 0.6-0.8 of its first seconds' rate after 15-20 s of
// writing, collection or not) makes the fair baseline: U before the
// collection ran on a rested disk, and U after it on a tired one.
type control struct {
	before, during measured
	series         []float64
}

// runControl fills dataDir as the measured run did and replays its
// timeline without a collection.
func runControl(ctx context.Context, o options, dataDir string, c content, sums [][]string, main results) (control, error) {
	var ctl control
	srv, err := benchserver.StartWith(ctx, o.ebsd, dataDir, benchserver.Options{Args: append([]string{"-gc-interval", "0"}, o.serverArgs()...)})
	if err != nil {
		return ctl, err
	}
	cl := newClients(srv.Endpoint, o.fillWorkers)
	_, err = fill(ctx, cl.ebs, cl.ec2, c, int(o.fill/blockSize), o.snapshots, o.fillWorkers)
	srv.Stop()
	if err != nil {
		return ctl, fmt.Errorf("control fill: %w", err)
	}
	if o.cold {
		if err := evictPacks(dataDir); err != nil {
			return ctl, fmt.Errorf("drop the packs from the page cache: %w", err)
		}
	}
	srv, err = benchserver.StartWith(ctx, o.ebsd, dataDir, benchserver.Options{
		Args:   append([]string{"-gc-interval", "0", "-log-level", "info", "-log-format", "json"}, o.serverArgs()...),
		Stderr: newLogWatch(os.Stderr),
	})
	if err != nil {
		return ctl, err
	}
	defer srv.Stop()
	// The measured run's collection began startedAfter its server, and
	// U was measured over it from then on.
	from := time.Now().Add(main.startedAfter)
	pr, err := newProbe(srv.Pid(), dataDir)
	if err != nil {
		return ctl, err
	}
	cl = newClients(srv.Endpoint, o.workers)
	u := &uploader{client: cl.ebs, workers: o.workers, blocks: o.blocks, content: c}
	nWarm := min(warmUp, o.blocks)
	warm := &uploader{client: cl.ebs, workers: o.workers, blocks: nWarm, content: c}
	if _, err := warm.run(ctx, streamWarmUp-streamRound, [][]string{c.sums(streamWarmUp, nWarm)}, never); err != nil {
		return ctl, fmt.Errorf("control warm-up: %w", err)
	}
	s0, err := pr.sample()
	if err != nil {
		return ctl, err
	}
	up, err := u.run(ctx, roundBefore, sums[roundBefore:roundBefore+1], never)
	if err != nil {
		return ctl, fmt.Errorf("control baseline: %w", err)
	}
	s1, err := pr.sample()
	if err != nil {
		return ctl, err
	}
	ctl.before = measure("before, no collection", up.acks, up.ended.Sub(up.began), span{s0, s1})

	select {
	case <-ctx.Done():
		return ctl, ctx.Err()
	case <-time.After(time.Until(from.Add(-leadIn))):
	}
	var stop atomic.Bool
	done := make(chan struct{})
	var rounds upload
	var runErr error
	go func() {
		defer close(done)
		rounds, runErr = u.run(ctx, roundDuring, sums[roundDuring:], stop.Load)
	}()
	time.Sleep(time.Until(from))
	s2, err := pr.sample()
	if err != nil {
		return ctl, err
	}
	to := from.Add(main.covered)
	time.Sleep(time.Until(to))
	s3, err := pr.sample()
	if err != nil {
		return ctl, err
	}
	stop.Store(true)
	<-done
	if runErr != nil {
		return ctl, fmt.Errorf("control upload: %w", runErr)
	}
	acks, covered := rounds.in(from, to)
	ctl.during = measure("same seconds, no collection", acks, covered, span{s2, s3})
	if len(acks) > 0 {
		ctl.series = perBucket(acks, from, seriesStep)
	}
	return ctl, nil
}
