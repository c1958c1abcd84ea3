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
	path          string  // the last download
	ratio         float64 // median of the rounds' download rate / mean rate of the get loops around it
	cpuPerGiB     float64 // client CPU-s per GiB of data, median
	loopCPUPerGiB float64 // the loop's, median
}

// measureDownloads downloads snapshot id o.downloads times with ebs, each
// between two runs of the plain SDK GET loop on the same snapshot, so
// that every download sits between two ceilings measured under about the
// same machine load (the machine is shared; only same-run ratios mean
// anything). data and total are the MiB of data and of the image.
func measureDownloads(ctx context.Context, o options, endpoint string, api *ebs.Client, state, dir, id string, data, total float64) (*downloads, error) {
	rate := func(mib float64, d time.Duration) float64 { return mib / d.Seconds() }
	gib := data / 1024
	var loops, dls, ratios, cpus, loopCPUs []float64
	loop := func(run int) error {
		cpu0 := selfCPU()
		d, n, err := getLoop(ctx, api, id, o.workers)
		if err != nil {
			return fmt.Errorf("get loop: %w", err)
		}
		cpu := selfCPU() - cpu0
		loops = append(loops, rate(data, d))
		loopCPUs = append(loopCPUs, cpu.Seconds()/gib)
		fmt.Printf("  get loop %d (plain SDK loop: list + GetSnapshotBlock + SHA-256 check of the %d blocks, nothing written): %v, %.1f MiB/s of data, %.0f blocks/s; loop CPU %v (%.2f s/GiB)\n",
			run, n, d.Round(time.Millisecond), rate(data, d), float64(n)/d.Seconds(), cpu.Round(time.Millisecond), cpu.Seconds()/gib)
		return nil
	}
	out := filepath.Join(dir, "download.img")
	fmt.Printf("downloads of the last upload (%s), each between two get loops:\n", id)
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
		fmt.Printf("round %d: download / mean of the get loops around it: %.0f%%\n", r+1, 100*ratios[r])
	}
	return &downloads{path: out, ratio: median(ratios), cpuPerGiB: median(cpus), loopCPUPerGiB: median(loopCPUs)}, nil
}
