package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ebs"
)

// downloads is what measureDownloads found.
type downloads struct {
	path           string  // the last download
	ratio          float64 // median of the rounds' download rate / mean rate of the get loops around it
	writeRatio     float64 // the same against the writing get loops
	cpuPerGiB      float64 // client CPU-s per GiB of data, median
	loopCPUPerGiB  float64 // the loop's, median
	wloopCPUPerGiB float64 // the writing loop's, median
}

// measureDownloads downloads snapshot id o.downloads times with ebs, each
// between two runs of each plain SDK GET loop on the same snapshot (one
// that writes nothing, one that writes the blocks into a file as ebs
// download does), so that every download sits between ceilings measured
// under about the same machine load (the machine is shared; only same-run
// ratios mean anything). data and total are the MiB of data and of the
// image.
func measureDownloads(ctx context.Context, o options, endpoint string, api *ebs.Client, state, dir, id string, data, total float64) (*downloads, error) {
	rate := func(mib float64, d time.Duration) float64 { return mib / d.Seconds() }
	gib := data / 1024
	var loops, wloops, dls, ratios, wratios, cpus, loopCPUs, wloopCPUs []float64
	loopOut := filepath.Join(dir, "loop.img")
	loop := func(run int) error {
		for _, write := range []bool{false, true} {
			out, what, rates, cpuList := "", "nothing written", &loops, &loopCPUs
			if write {
				out, what, rates, cpuList = loopOut, "each block written into a file with O_DIRECT, then fsync", &wloops, &wloopCPUs
			}
			cpu0 := selfCPU()
			d, n, err := getLoop(ctx, api, id, o.workers, out)
			if err != nil {
				return fmt.Errorf("get loop: %w", err)
			}
			cpu := selfCPU() - cpu0
			*rates = append(*rates, rate(data, d))
			*cpuList = append(*cpuList, cpu.Seconds()/gib)
			fmt.Printf("  get loop %d (plain SDK loop: list + GetSnapshotBlock + SHA-256 check of the %d blocks, %s): %v, %.1f MiB/s of data, %.0f blocks/s; loop CPU %v (%.2f s/GiB)\n",
				run, n, what, d.Round(time.Millisecond), rate(data, d), float64(n)/d.Seconds(), cpu.Round(time.Millisecond), cpu.Seconds()/gib)
		}
		return os.Remove(loopOut)
	}
	out := filepath.Join(dir, "download.img")
	fmt.Printf("downloads of the last upload (%s), each between two pairs of get loops:\n", id)
	for r := 1; r <= o.downloads; r++ {
		if err := loop(r); err != nil {
			return nil, err
		}
		if err := os.Remove(out); err != nil && !os.IsNotExist(err) {
			return nil, err
		}
		down, err := runTransfer(ctx, o, endpoint, state, "download", id, out)
		if err != nil {
			return nil, fmt.Errorf("download: %w", err)
		}
		dls = append(dls, rate(data, down.duration))
		cpus = append(cpus, down.cpu.Seconds()/gib)
		fmt.Printf("  ebs download %d: %v (wall %v): %.1f MiB/s of volume image, %.1f MiB/s of data; written %v, zero %v; client peak RSS %.1f MiB, CPU %v (%.2f s/GiB)\n",
			r, down.duration.Round(time.Millisecond), down.wall.Round(time.Millisecond), rate(total, down.duration), rate(data, down.duration),
			down.result["written"], down.result["zero"], float64(down.peakRSS)/(1<<20), down.cpu.Round(time.Millisecond), down.cpu.Seconds()/gib)
	}
	if err := loop(o.downloads + 1); err != nil {
		return nil, err
	}
	for r := range dls {
		ratios = append(ratios, dls[r]/((loops[r]+loops[r+1])/2))
		wratios = append(wratios, dls[r]/((wloops[r]+wloops[r+1])/2))
		fmt.Printf("round %d: download / mean of the get loops around it: %.0f%%; / mean of the writing get loops: %.0f%%\n", r+1, 100*ratios[r], 100*wratios[r])
	}
	return &downloads{path: out, ratio: median(ratios), writeRatio: median(wratios),
		cpuPerGiB: median(cpus), loopCPUPerGiB: median(loopCPUs), wloopCPUPerGiB: median(wloopCPUs)}, nil
}

// report prints the download ratios, last, as the benchmark's result.
func (dl *downloads) report(rounds int) {
	fmt.Printf("ratio: ebs download / plain get loop %.2f (median of %d round(s), each against the loops around it; goal >= 0.90); client CPU %.2f s/GiB of data, loop %.2f\n",
		dl.ratio, rounds, dl.cpuPerGiB, dl.loopCPUPerGiB)
	fmt.Printf("ratio: ebs download / plain get loop that writes the file %.2f (median of %d round(s)); that loop's CPU %.2f s/GiB: the write's own cost\n",
		dl.writeRatio, rounds, dl.wloopCPUPerGiB)
}
