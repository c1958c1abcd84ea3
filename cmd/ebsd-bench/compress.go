package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"
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
	put, get, putCPU, getCPU, ratio, written, gcCPU, rss spread
}

// runCompression measures the cost and the gain of -compression zstd
// (compaction compresses) and zstd-on-write (Put compresses) against
// -compression off on random data and, with -image, on a disk image:
// rounds of a fresh ebsd with each setting, in an order that rotates,
// putting every block, then, ebsd stopped, one collection with "ebsd gc"
// (where zstd compresses), then reading every block back from a restarted
// ebsd. It prints bytes stored per logical byte after the collection and,
// last, the rates with compression over those without in the same round,
// with the goals.
func runCompression(ctx context.Context, opts options, dir string) error {
	sets := []dataset{randomDataset(opts.blocks)}
	if opts.image != "" {
		ds, err := imageDataset(opts.image)
		if err != nil {
			return err
		}
		sets = append(sets, ds)
	}
	modes := []string{"off", "zstd", "zstd-on-write"}
	fmt.Printf("ebsd-bench: -compression %v, %d workers, %d rounds, data in %s\n", modes, opts.workers, opts.rounds, dir)
	type key struct{ set, mode string }
	stats := map[key]*modeStats{}
	// Rates and, steadier on a shared machine, server CPU per GiB: with
	// compression over without, within each round, by dataset and mode.
	putRatio, getRatio := map[key]*spread{}, map[key]*spread{}
	putCPURatio, getCPURatio := map[key]*spread{}, map[key]*spread{}
	for _, ds := range sets {
		fmt.Printf("dataset %s: %d blocks (%.0f MiB)\n", ds.name, ds.n, float64(ds.n)/2)
		for _, m := range modes {
			k := key{ds.name, m}
			stats[k] = &modeStats{}
			putRatio[k], getRatio[k], putCPURatio[k], getCPURatio[k] = &spread{}, &spread{}, &spread{}, &spread{}
		}
		for r := range opts.rounds {
			got := map[string]session{}
			order := append(slices.Clone(modes[r%len(modes):]), modes[:r%len(modes)]...)
			for _, m := range order {
				s, err := runSession(ctx, opts, dir, ds, append([]string{"-compression", m}, opts.args...), true, true)
				if err != nil {
					return fmt.Errorf("%s, -compression %s: %w", ds.name, m, err)
				}
				got[m] = s
				st := stats[key{ds.name, m}]
				st.put, st.get = append(st.put, s.putRate), append(st.get, s.getRate)
				st.putCPU, st.getCPU = append(st.putCPU, s.putCPU), append(st.getCPU, s.getCPU)
				st.ratio = append(st.ratio, float64(s.stored)/float64(s.logical))
				st.written = append(st.written, float64(s.written)/float64(s.logical))
				st.gcCPU = append(st.gcCPU, s.gcCPU)
				st.rss = append(st.rss, float64(s.rss)/(1<<20))
				fmt.Printf("  round %d, -compression %-13s: put %4.0f blocks/s (%.2f server CPU-s/GiB), stored %.3f of logical; "+
					"ebsd gc %v (%.2f CPU-s/GiB), stored %.3f; get %4.0f blocks/s (%.2f CPU-s/GiB), peak RSS %.0f MiB\n",
					r+1, m, s.putRate, s.putCPU, float64(s.written)/float64(s.logical), s.gcTime.Round(time.Millisecond), s.gcCPU,
					float64(s.stored)/float64(s.logical), s.getRate, s.getCPU, float64(s.rss)/(1<<20))
			}
			for _, m := range modes[1:] {
				k := key{ds.name, m}
				*putRatio[k] = append(*putRatio[k], got[m].putRate/got["off"].putRate)
				*getRatio[k] = append(*getRatio[k], got[m].getRate/got["off"].getRate)
				*putCPURatio[k] = append(*putCPURatio[k], got[m].putCPU/got["off"].putCPU)
				*getCPURatio[k] = append(*getCPURatio[k], got[m].getCPU/got["off"].getCPU)
			}
		}
	}
	fmt.Println()
	for _, ds := range sets {
		for _, m := range modes {
			st := stats[key{ds.name, m}]
			fmt.Printf("%s, -compression %s: put blocks/s %v; get blocks/s %v; server CPU-s/GiB put %v, get %v, ebsd gc %v; peak RSS MiB %v\n",
				ds.name, m, st.put, st.get, st.putCPU, st.getCPU, st.gcCPU, st.rss)
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
		for _, m := range modes[1:] {
			st := stats[key{ds.name, m}]
			fmt.Printf("%s: bytes stored per logical byte, %s: %v after the collection (%v before it), off: %v; %s the goal <= %.2f\n",
				ds.name, m, st.ratio, st.written, stats[key{ds.name, "off"}].ratio, verdict(st.ratio.med() <= goal), goal)
		}
	}
	for _, ds := range sets {
		for _, m := range modes[1:] {
			k := key{ds.name, m}
			fmt.Printf("%s: same-round server CPU per GiB with %s / off: put %v, get %v\n", ds.name, m, *putCPURatio[k], *getCPURatio[k])
		}
	}
	for _, ds := range sets {
		for _, m := range modes[1:] {
			k := key{ds.name, m}
			p, g := *putRatio[k], *getRatio[k]
			fmt.Printf("%s: same-round rate with %s / off: PutSnapshotBlock %v, %s the goal >= %.2f; GetSnapshotBlock %v, %s it\n",
				ds.name, m, p, verdict(p.med() >= goalRate), goalRate, g, verdict(g.med() >= goalRate))
		}
	}
	return nil
}
