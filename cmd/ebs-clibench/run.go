package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/ebsd/ebsd/internal/benchserver"
)

type options struct {
	ebsd, ebs, dir string
	size           byteSize
	workers        int
	seed           uint64
	rounds         int
	download       bool
	downloads      int
	verify         bool
	profiles       string // directory for CPU profiles of the child transfers; "" = none
	profileRuns    *int   // transfers profiled so far, numbering the files
	endpoint       string // an ebsd already running (with snapshot)
	snapshot       string // an existing snapshot to measure downloads of
}

func run(ctx context.Context, o options) error {
	dir := o.dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "ebs-clibench-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	size := int64(o.size)
	blocks := (size + blockSize - 1) / blockSize
	total := float64(size) / (1 << 20)
	client := "this program's child mode (internal/client, as ebs uses it)"
	if o.ebs != "" {
		client = o.ebs
	}
	fmt.Printf("image: %.0f MiB, %d blocks, half of them zero; %d round(s); workers: %d; client: %s\n", total, blocks, o.rounds, o.workers, client)

	srv, err := benchserver.Start(ctx, o.ebsd, filepath.Join(dir, "server"))
	if err != nil {
		return err
	}
	defer srv.Stop()
	api := sdkClient(srv.Endpoint, o.workers)
	state := filepath.Join(dir, "state")
	rate := func(mib float64, d time.Duration) float64 { return mib / d.Seconds() }

	// Rounds alternate ceiling and upload, each round on a new image
	// (ebsd stores a block's content once: an upload of content it holds
	// already would write nothing), and a last ceiling closes the run, so
	// that every upload sits between two ceilings on a server of about
	// the same fill.
	var img *image
	var ceil, ups []float64
	var data float64
	measureCeiling := func(run int) error {
		cpu0 := selfCPU()
		d, err := ceiling(ctx, api, img, o.workers, run)
		if err != nil {
			return fmt.Errorf("ceiling: %w", err)
		}
		cpu := selfCPU() - cpu0
		ceil = append(ceil, rate(data, d))
		fmt.Printf("  ceiling %d (plain SDK loop: read + SHA-256 + PutSnapshotBlock of the %d non-zero blocks, Start to Complete): %v, %.1f MiB/s of data; loop CPU %v\n",
			run, len(img.nonZero), d.Round(time.Millisecond), rate(data, d), cpu.Round(time.Millisecond))
		return nil
	}
	var id string
	for r := 1; r <= o.rounds; r++ {
		if img != nil {
			os.Remove(img.path)
		}
		t0 := time.Now()
		if img, err = makeImage(filepath.Join(dir, "disk.img"), size, o.seed+uint64(r)-1); err != nil {
			return err
		}
		data = float64(len(img.nonZero)) * blockSize / (1 << 20)
		fmt.Printf("round %d: image with seed %d: %d non-zero blocks (%.0f MiB of data), written in %v\n",
			r, o.seed+uint64(r)-1, len(img.nonZero), data, time.Since(t0).Round(time.Millisecond))
		if err := measureCeiling(r); err != nil {
			return err
		}
		up, err := runTransfer(ctx, o, srv.Endpoint, state, "upload", img.path)
		if err != nil {
			return fmt.Errorf("upload: %w", err)
		}
		id, _ = up.result["snapshot_id"].(string)
		ups = append(ups, rate(data, up.duration))
		fmt.Printf("  ebs upload: %v (wall %v with process start): %.1f MiB/s of image, %.1f MiB/s of data; written %v, zero skipped %v; client peak RSS %.1f MiB, CPU %v\n",
			up.duration.Round(time.Millisecond), up.wall.Round(time.Millisecond), rate(total, up.duration), rate(data, up.duration),
			up.result["written"], up.result["zero"], float64(up.peakRSS)/(1<<20), up.cpu.Round(time.Millisecond))
	}
	if err := measureCeiling(o.rounds + 1); err != nil {
		return err
	}
	var upRatios []float64
	for r := range ups {
		upRatios = append(upRatios, ups[r]/((ceil[r]+ceil[r+1])/2))
		fmt.Printf("round %d: upload / mean of the ceilings around it: %.0f%%\n", r+1, 100*upRatios[r])
	}
	upRatio := median(upRatios)

	if !o.download {
		fmt.Printf("ratio: ebs upload / plain put loop %.2f (median of %d round(s), each against the loops around it; goal >= 0.90)\n", upRatio, len(ups))
		return nil
	}
	if err := waitReadable(ctx, api, id); err != nil {
		return err
	}
	dl, err := measureDownloads(ctx, o, srv.Endpoint, api, state, dir, id, data, total)
	if err != nil {
		return err
	}
	if rss, err := srv.PeakRSS(); err == nil {
		fmt.Printf("server peak RSS: %.1f MiB\n", float64(rss)/(1<<20))
	}
	if o.verify {
		same, err := sameContent(img.path, dl.path, size)
		if err != nil {
			return err
		}
		if !same {
			return fmt.Errorf("round trip: %s differs from %s", dl.path, img.path)
		}
		fmt.Println("round trip: the download is identical to the image")
	}
	fmt.Printf("ratio: ebs upload / plain put loop %.2f (median of %d round(s), each against the loops around it; goal >= 0.90)\n", upRatio, len(ups))
	dl.report(o.downloads)
	return nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// sameContent reports whether the first n bytes of a and b are equal and
// b holds nothing but zeros after them (the volume's padding).
func sameContent(a, b string, n int64) (bool, error) {
	fa, err := os.Open(a)
	if err != nil {
		return false, err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return false, err
	}
	defer fb.Close()
	ba, bb := make([]byte, 4<<20), make([]byte, 4<<20)
	ra, rb := io.LimitReader(fa, n), io.LimitReader(fb, n)
	for {
		na, ea := io.ReadFull(ra, ba)
		nb, _ := io.ReadFull(rb, bb[:na])
		if nb != na || !bytes.Equal(ba[:na], bb[:nb]) {
			return false, nil
		}
		if ea == io.EOF || ea == io.ErrUnexpectedEOF {
			break
		}
		if ea != nil {
			return false, ea
		}
	}
	zero := make([]byte, len(bb))
	for {
		k, err := fb.Read(bb)
		if !bytes.Equal(bb[:k], zero[:k]) {
			return false, nil
		}
		if err == io.EOF {
			return true, nil
		}
		if err != nil {
			return false, err
		}
	}
}

// selfCPU returns the CPU time this process has used so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
