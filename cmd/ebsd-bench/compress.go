package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// The goals of issue #14 for compression at rest.
const (
	goalImageRatio  = 0.35 // bytes stored per logical byte of a real OS image
	goalRandomRatio = 1.01 // ... and of random data
	goalRate        = 0.90 // Put and Get rates with compression, over without
)

// imageDataset returns the non-zero blocks of the disk image at path,
// read into memory (zero blocks are never sent, as ebs upload skips them).
func imageDataset(path string) (dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return dataset{}, err
	}
	defer f.Close()
	var blocks [][]byte
	zero := make([]byte, blockSize)
	for {
		b := make([]byte, blockSize)
		n, err := io.ReadFull(f, b)
		if n > 0 && !bytes.Equal(b, zero) {
			blocks = append(blocks, b)
		}
		if err != nil {
			break
		}
	}
	if len(blocks) == 0 {
		return dataset{}, fmt.Errorf("%s holds no non-zero block", path)
	}
	ds := dataset{name: "image " + filepath.Base(path), n: len(blocks)}
	ds.fill = func(buf []byte, i int) { copy(buf, blocks[i]) }
	ds.sums = checksums(ds)
	return ds, nil
}

// modeStats are the measurements of one dataset with one -compression.
type modeStats struct {
	put, get, putCPU, getCPU, ratio, rss spread
}

// runCompression measures the cost and the gain of -compression zstd
// against -compression off on random data and, with -image, on a disk
// image: rounds of a fresh ebsd with each setting, in an order that
// alternates, putting every block, then reading every block back. It
// prints bytes stored per logical byte and, last, the rates with
// compression over those without in the same round, with the goals.
func runCompression(ctx context.Context, opts options, dir string) error {
	sets := []dataset{randomDataset(opts.blocks)}
	if opts.image != "" {
		ds, err := imageDataset(opts.image)
		if err != nil {
			return err
		}
		sets = append(sets, ds)
	}
	fmt.Printf("ebsd-bench: -compression zstd against off, %d workers, %d rounds, data in %s\n", opts.workers, opts.rounds, dir)
	modes := []string{"off", "zstd"}
	type key struct{ set, mode string }
	stats := map[key]*modeStats{}
	// Rates and, steadier on a shared machine, server CPU per GiB: with
	// compression over without, within each round.
	putRatio, getRatio := map[string]*spread{}, map[string]*spread{}
	putCPURatio, getCPURatio := map[string]*spread{}, map[string]*spread{}
	for _, ds := range sets {
		fmt.Printf("dataset %s: %d blocks (%.0f MiB)\n", ds.name, ds.n, float64(ds.n)/2)
		putRatio[ds.name], getRatio[ds.name] = &spread{}, &spread{}
		putCPURatio[ds.name], getCPURatio[ds.name] = &spread{}, &spread{}
		for _, m := range modes {
			stats[key{ds.name, m}] = &modeStats{}
		}
		for r := range opts.rounds {
			got := map[string]session{}
			order := modes
			if r%2 == 1 {
				order = []string{modes[1], modes[0]}
			}
			for _, m := range order {
				s, err := runSession(ctx, opts, dir, ds, append([]string{"-compression", m}, opts.args...), true)
				if err != nil {
					return fmt.Errorf("%s, -compression %s: %w", ds.name, m, err)
				}
				got[m] = s
				st := stats[key{ds.name, m}]
				st.put, st.get = append(st.put, s.putRate), append(st.get, s.getRate)
				st.putCPU, st.getCPU = append(st.putCPU, s.putCPU), append(st.getCPU, s.getCPU)
				st.ratio = append(st.ratio, float64(s.stored)/float64(s.logical))
				st.rss = append(st.rss, float64(s.rss)/(1<<20))
				fmt.Printf("  round %d, -compression %-4s: put %4.0f blocks/s (%.2f server CPU-s/GiB), get %4.0f blocks/s (%.2f CPU-s/GiB), stored %.3f of logical, peak RSS %.0f MiB\n",
					r+1, m, s.putRate, s.putCPU, s.getRate, s.getCPU, float64(s.stored)/float64(s.logical), float64(s.rss)/(1<<20))
			}
			*putRatio[ds.name] = append(*putRatio[ds.name], got["zstd"].putRate/got["off"].putRate)
			*getRatio[ds.name] = append(*getRatio[ds.name], got["zstd"].getRate/got["off"].getRate)
			*putCPURatio[ds.name] = append(*putCPURatio[ds.name], got["zstd"].putCPU/got["off"].putCPU)
			*getCPURatio[ds.name] = append(*getCPURatio[ds.name], got["zstd"].getCPU/got["off"].getCPU)
		}
	}
	fmt.Println()
	for _, ds := range sets {
		for _, m := range modes {
			st := stats[key{ds.name, m}]
			fmt.Printf("%s, -compression %s: put blocks/s %v; get blocks/s %v; server CPU-s/GiB put %v, get %v; peak RSS MiB %v\n",
				ds.name, m, st.put, st.get, st.putCPU, st.getCPU, st.rss)
		}
	}
	fmt.Println()
	verdict := func(ok bool) string {
		if ok {
			return "meets"
		}
		return "MISSES"
	}
	for i, ds := range sets {
		goal := goalRandomRatio
		if i > 0 {
			goal = goalImageRatio
		}
		r := stats[key{ds.name, "zstd"}].ratio
		fmt.Printf("%s: bytes stored per logical byte, zstd: %v, off: %v; %s the goal <= %.2f\n",
			ds.name, r, stats[key{ds.name, "off"}].ratio, verdict(r.med() <= goal), goal)
	}
	for _, ds := range sets {
		fmt.Printf("%s: same-round server CPU per GiB with zstd / without: put %v, get %v\n",
			ds.name, *putCPURatio[ds.name], *getCPURatio[ds.name])
	}
	for _, ds := range sets {
		p, g := *putRatio[ds.name], *getRatio[ds.name]
		fmt.Printf("%s: same-round rate with zstd / without: PutSnapshotBlock %v, %s the goal >= %.2f; GetSnapshotBlock %v, %s it\n",
			ds.name, p, verdict(p.med() >= goalRate), goalRate, g, verdict(g.med() >= goalRate))
	}
	return nil
}
