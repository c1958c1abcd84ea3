package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
)

// run soaks the target and reports whether it passed. err is for failures
// of the soak itself (the server did not start, say).
func run(ctx context.Context, o options, out io.Writer) (bool, error) {
	t, err := openTarget(ctx, o)
	if err != nil {
		return false, err
	}
	defer t.stop()

	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.workers, IdleConnTimeout: time.Minute}}
	client := ebs.NewFromConfig(aws.Config{
		Region:      o.region,
		Credentials: credentials.NewStaticCredentialsProvider(t.keyID, t.secret, ""),
		HTTPClient:  hc,
	}, func(eo *ebs.Options) {
		eo.BaseEndpoint = aws.String(t.endpoint)
		eo.RetryMaxAttempts = 1 // every error counts; throttling is retried by the worker
	})
	smp := &sampler{t: t, hc: &http.Client{Timeout: 10 * time.Second}}
	seed := o.seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	fmt.Fprintf(out, "ebsd-soak: %s, pid %d, %d workers for %v, fresh %.0f%% (at most %d blocks), pool %d, seed %d\n",
		t.endpoint, t.pid, o.workers, o.duration, 100*o.fresh, o.maxFresh, o.pool, seed)
	fmt.Fprintf(out, "sampling every %v; growth is measured from the first sample at or after %v\n\n", o.sample, o.warmup.Round(time.Second))

	st, cont := newStats(), newContents(o.pool, o.maxFresh)
	var problems []string
	read := func(at time.Duration) (sample, bool) {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s, err := smp.read(sctx)
		s.at, s.counters = at, st.snapshot()
		if err != nil {
			problems = append(problems, fmt.Sprintf("sampling at %v: %v", at.Round(time.Second), err))
			return s, false
		}
		return s, true
	}
	writeTableHeader(out)
	first, ok := read(0)
	if !ok {
		return false, fmt.Errorf("%s", problems[0])
	}
	writeRow(out, first, first)
	samples := []sample{first}

	wctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	began := time.Now()
	var wg sync.WaitGroup
	for i := range o.workers {
		w := &worker{c: client, contents: cont, stats: st, fresh: o.fresh,
			r: rand.New(rand.NewPCG(seed, uint64(i))), buf: make([]byte, blockSize)}
		wg.Go(func() { w.run(wctx) })
	}
	tick := time.NewTicker(o.sample)
	defer tick.Stop()
	for wctx.Err() == nil {
		select {
		case <-tick.C:
		case <-wctx.Done():
		}
		// The last sample is taken as the workers stop, still under load,
		// like the warm-up one it is compared with.
		if s, ok := read(time.Since(began)); ok {
			writeRow(out, samples[len(samples)-1], s)
			samples = append(samples, s)
		}
	}
	wg.Wait()
	st.report(out)

	c := st.snapshot()
	if c.mismatches > 0 {
		problems = append(problems, fmt.Sprintf("%d data mismatches", c.mismatches))
	}
	if c.errors > 0 {
		problems = append(problems, fmt.Sprintf("%d errors other than throttling", c.errors))
	}
	if c.ops == 0 {
		problems = append(problems, "no operation succeeded")
	}
	problems = append(problems, checkSamples(out, samples, o)...)
	if ctx.Err() != nil {
		problems = append(problems, "interrupted")
	}
	if len(problems) > 0 {
		fmt.Fprintf(out, "\nFAIL: %s\n", strings.Join(problems, "; "))
		return false, nil
	}
	fmt.Fprintln(out, "\nPASS")
	return true, nil
}

// checkSamples compares the last sample with the first one taken after
// warm-up, and returns the resources that grew too much.
func checkSamples(out io.Writer, samples []sample, o options) []string {
	end := samples[len(samples)-1]
	var base *sample
	for i := range samples[:len(samples)-1] {
		if samples[i].at >= o.warmup {
			base = &samples[i]
			break
		}
	}
	if base == nil {
		fmt.Fprintf(out, "\ngrowth not checked: no sample between the warm-up (%v) and the end\n", o.warmup.Round(time.Second))
		return nil
	}
	checks := checkGrowth(o.tol, *base, end)
	writeGrowth(out, *base, end, checks)
	var problems []string
	for _, c := range checks {
		if !c.ok {
			problems = append(problems, c.name+" grew beyond the tolerance")
		}
	}
	return problems
}
