package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/ebsd/ebsd/internal/benchserver"
)

// Rounds of U: the baseline, the control after the collection, then
// those during it.
const (
	roundBefore = 0
	roundAfter  = 1
	roundDuring = 2
)

// leadIn is how long before the collection U starts, so that the
// collection's first instant finds it running.
const leadIn = 200 * time.Millisecond

// warmUp is the most blocks put, unmeasured, before the baseline: as many
// as U's round, up to this.
const warmUp = 256

// seriesStep is the step of U's throughput series during the collection.
const seriesStep = 5 * time.Second

// serverFirstRun is the latest the server runs its first collection after
// start-up (internal/server's gcFirstRun).
const serverFirstRun = time.Minute

// packCount is the pack files on disk at one instant.
type packCount struct {
	bytes int64
	files int
}

func countPacks(dataDir string) (packCount, error) {
	b, n, err := packBytes(dataDir)
	return packCount{b, n}, err
}

// results are what measureCollection measured.
type results struct {
	startedAfter        time.Duration // the collection's start, after the server's
	log                 *logWatch
	end                 logRecord // the collection's end line
	gcStart             time.Time
	before, during, ctl measured
	covered             time.Duration // of the collection, by U
	series              []float64     // U's blocks/s during the collection, by seriesStep
	// Pack files: before the measuring server, as the collection started
	// and ended, and at the end.
	packsFilled, packsBefore, packsEnd, packsAfter packCount
}

// measured is one upload's numbers.
type measured struct {
	name     string
	blocks   int
	took     time.Duration
	rate     float64
	p50, p99 time.Duration
	usage    span
}

func measure(name string, acks []ack, took time.Duration, usage span) measured {
	m := measured{name: name, blocks: len(acks), took: took, p50: percentile(acks, 0.5), p99: percentile(acks, 0.99), usage: usage}
	if took > 0 {
		m.rate = float64(len(acks)) / took.Seconds()
	}
	return m
}

// measureCollection starts the measuring server on the filled dataDir, its
// first collection o.delay after it serves, and runs U: alone before it,
// during it, and alone after it.
func measureCollection(ctx context.Context, o options, dataDir string, c content, sums [][]string) (results, error) {
	var res results
	var err error
	if res.packsFilled, err = countPacks(dataDir); err != nil {
		return res, err
	}
	res.startedAfter = min(o.delay, serverFirstRun)
	res.log = newLogWatch(os.Stderr)
	srv, err := benchserver.StartWith(ctx, o.ebsd, dataDir, benchserver.Options{
		Args: append([]string{"-gc-interval", o.delay.String(), "-gc-min-live", strconv.FormatFloat(o.minLive, 'g', -1, 64),
			"-log-level", "info", "-log-format", "json"}, o.serverArgs()...),
		Stderr: res.log,
	})
	if err != nil {
		return res, err
	}
	defer srv.Stop()
	gcAt := time.Now().Add(res.startedAfter)
	m, err := scrape(ctx, srv.Endpoint)
	if err != nil {
		return res, err
	}
	if _, ok := m[`ebsd_gc_runs_total{result="ok"}`]; !ok {
		return res, errors.New("the server exports no ebsd_gc_runs_total: its collector is disabled (this build's stores cannot collect garbage)")
	}
	pr, err := newProbe(srv.Pid(), dataDir)
	if err != nil {
		return res, err
	}
	cl := newClients(srv.Endpoint, o.workers)
	u := &uploader{client: cl.ebs, workers: o.workers, blocks: o.blocks, content: c}
	alone := func(name string, round int) (measured, error) {
		before, err := pr.sample()
		if err != nil {
			return measured{}, err
		}
		up, err := u.run(ctx, round, sums[round:round+1], never)
		if err != nil {
			return measured{}, fmt.Errorf("%s: %w", name, err)
		}
		after, err := pr.sample()
		return measure(name, up.acks, up.ended.Sub(up.began), span{before, after}), err
	}

	// The baseline, after an unmeasured warm-up (connections, the
	// server's buffers and heap).
	nWarm := min(warmUp, o.blocks)
	warm := &uploader{client: cl.ebs, workers: o.workers, blocks: nWarm, content: c}
	// Its round number is the one whose content stream is streamWarmUp.
	if _, err := warm.run(ctx, streamWarmUp-streamRound, [][]string{c.sums(streamWarmUp, nWarm)}, never); err != nil {
		return res, fmt.Errorf("warm-up: %w", err)
	}
	if res.before, err = alone("before the collection", roundBefore); err != nil {
		return res, err
	}
	if _, ok := res.log.last(msgGCDone, time.Now()); ok || time.Now().After(gcAt.Add(-leadIn)) {
		return res, fmt.Errorf("the baseline upload took %v and ran into the collection, which starts %v after the server: raise -gc-delay or lower -blocks",
			res.before.took.Round(time.Millisecond), res.startedAfter)
	}
	if res.packsBefore, err = countPacks(dataDir); err != nil {
		return res, err
	}

	if err := res.measureDuring(ctx, u, pr, dataDir, gcAt, sums[roundDuring:roundDuring+o.rounds]); err != nil {
		return res, err
	}

	if res.ctl, err = alone("after the collection", roundAfter); err != nil {
		return res, err
	}
	res.packsAfter, err = countPacks(dataDir)
	return res, err
}

func never() bool { return false }

// measureDuring runs U from just before gcAt until the collection's end
// line, and measures it over the collection.
func (res *results) measureDuring(ctx context.Context, u *uploader, pr *probe, dataDir string, gcAt time.Time, sums [][]string) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Until(gcAt.Add(-leadIn))):
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		up  upload
		err error
	}
	var stop atomic.Bool
	upDone := make(chan result, 1)
	go func() {
		up, err := u.run(ctx, roundDuring, sums, stop.Load)
		upDone <- result{up, err}
	}()
	time.Sleep(time.Until(gcAt))
	startSample, err := pr.sample()
	if err != nil {
		return err
	}
	// The usage is sampled when the first of U and the collection ends:
	// past U's last round the server's reads and writes are the
	// collection's alone (its compaction unpaced), which are not what U
	// ran beside.
	var up *result
	var endSample usage
	sampled := false
	sampleEnd := func() error {
		if sampled {
			return nil
		}
		sampled = true
		endSample, err = pr.sample()
		return err
	}
	for waiting := true; waiting; {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case res.end = <-res.log.done:
			waiting = false
		case r := <-upDone:
			if r.err != nil {
				return fmt.Errorf("upload during the collection: %w", r.err)
			}
			up = &r // every round done; the collection goes on
			if err := sampleEnd(); err != nil {
				return err
			}
		case <-time.After(time.Hour):
			return errors.New("no collection ended within an hour of its start")
		}
	}
	if err := sampleEnd(); err != nil {
		return err
	}
	if res.packsEnd, err = countPacks(dataDir); err != nil {
		return err
	}
	stop.Store(true)
	if up == nil {
		r := <-upDone
		if r.err != nil {
			return fmt.Errorf("upload during the collection: %w", r.err)
		}
		up = &r
	}
	if res.end.msg() == msgGCFailed {
		return fmt.Errorf("the collection failed: %v", res.end.fields["err"])
	}
	res.gcStart = res.end.at.Add(-res.end.duration("duration"))
	acks, covered := up.up.in(res.gcStart, res.end.at)
	res.covered = covered
	res.during = measure("during the collection", acks, covered, span{startSample, endSample})
	if len(acks) > 0 {
		from := res.gcStart
		if up.up.began.After(from) {
			from = up.up.began
		}
		res.series = perBucket(acks, from, seriesStep)
	}
	return nil
}
