package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/ebsd/ebsd/internal/client"
)

const downloadSummary = `Download a completed snapshot into FILE, a regular file or a block device.

A regular file is created (an existing one is refused unless --force, or
--resume continuing an interrupted download into it), written in place,
and then cut to the size of the image the snapshot was uploaded from, so
that it compares equal to that image: --size BYTES, else the size 'ebs
upload' recorded in the snapshot's manifest in --state-dir, else in the
snapshot's ebs:image-size tag (read with EC2 DescribeSnapshots: the EBS
direct APIs return no tags; a service without the EC2 API is skipped).
Without any (a snapshot not uploaded by ebs) the file is the whole
volume. Nothing but zeros is ever cut off. All-zero blocks and blocks the snapshot does not hold are
left as holes, so the file takes only the space of the data.

A block device must be at least the volume size and is never truncated:
every listed block is written, zero ones included, and the ranges of
unlisted blocks are zeroed (BLKZEROOUT where the device supports it),
because they read as zeros in the snapshot while the device holds old
data; --no-zero-fill skips that for a device known to be zeroed.

Every block is verified (length, and SHA-256 against the checksum the
service sends) before it is written; a block that fails is fetched again,
and never written unverified. The file is locked while the download runs:
a second download into it fails at once.

Resume (--resume): each verified write is journaled in --state-dir; an
interrupted download continues with 'ebs download --resume SNAP FILE',
which re-reads and re-hashes the blocks already written (locally, cheaply)
and downloads only those missing or changed. An existing FILE that no
journal ties to the snapshot is refused: it may be anything, and the
download would overwrite it; --resume --force downloads everything into it.

Throttling: when the service throttles, the number of requests in flight
is halved (down to 1), then raised by one per run of successes, up to
--workers; -v shows each change, and the summary the lowest reached.

After a download, the snapshot's manifest (the SHA-256 of each block) is
kept in --state-dir, so that 'ebs upload --parent SNAP' finds the changed
blocks of a new image without reading the snapshot again.

Output: a summary on stderr; with --json, an object with snapshot_id, path,
device, volume_size_gib, file_bytes, size_source (flag, manifest, tag,
volume or device), blocks, written, zero, resumed, bytes_received, zero_filled_bytes,
throttled, lowest_concurrency, duration_seconds and retries on stdout.`

// downloadOutput is the --json result of ebs download.
type downloadOutput struct {
	*client.DownloadResult
	DurationSeconds float64 `json:"duration_seconds"`
	Retries         int64   `json:"retries"`
}

func runDownload(ctx context.Context, m *Main, args []string) error {
	var g Globals
	var in client.DownloadInput
	fs := newFlagSet(m, "download", "[flags] SNAPSHOT FILE", downloadSummary, &g)
	fs.BoolVar(&in.Resume, "resume", false, "continue an interrupted download into FILE, skipping the blocks already written and still intact")
	fs.BoolVar(&in.Force, "force", false, "overwrite FILE if it exists (with --resume: even when no journal ties it to the snapshot)")
	fs.Int64Var(&in.Size, "size", 0, "cut the file to `bytes`, the size of the uploaded image (default: the size 'ebs upload' recorded in --state-dir, else in the snapshot's ebs:image-size tag, else the whole volume)")
	fs.BoolVar(&in.NoZeroFill, "no-zero-fill", false, "on a block device, leave the ranges of unwritten blocks as they are instead of zeroing them")
	pos, err := parse(fs, args, 2)
	if err != nil {
		return err
	}
	in.SnapshotID, in.Path = pos[0], pos[1]

	obs := newObserver(m, &g)
	c, err := m.client(ctx, &g, obs)
	if err != nil {
		return err
	}
	res, err := c.Download(ctx, in)
	if err != nil {
		var de *client.DownloadError
		if errors.As(err, &de) {
			fmt.Fprintf(m.Stderr, "ebs download: %d blocks of %s are written and journaled in %s; 'ebs download --resume %s %s' continues.\n",
				de.Done, in.SnapshotID, in.Path, in.SnapshotID, in.Path)
		}
		return err
	}
	out := downloadOutput{DownloadResult: res, DurationSeconds: res.Duration.Seconds(), Retries: obs.Retries()}
	if !g.Quiet {
		if in.Resume && res.Resumed == 0 && res.Blocks > 0 {
			fmt.Fprintln(m.Stderr, "--resume: nothing of an earlier download into this file could be reused (no journal, or its blocks changed); everything was downloaded")
		}
		if res.SizeSource == client.SizeFromVolume {
			fmt.Fprintf(m.Stderr, "note: the image's size is not known (no manifest of its upload in --state-dir, no readable %s tag on the snapshot), so %s is the whole volume; "+
				"--size BYTES restores the image's size\n", client.ImageSizeTag, in.Path)
		}
		fmt.Fprintln(m.Stderr, downloadSummaryLine(&out))
	}
	if g.JSON {
		return printJSON(m.Stdout, out)
	}
	return nil
}

// downloadSummaryLine says what a download did, in one line.
func downloadSummaryLine(o *downloadOutput) string {
	kind := "file"
	if o.Device {
		kind = "device"
	}
	size := ""
	switch o.SizeSource {
	case client.SizeFromFlag:
		size = fmt.Sprintf(" of %d bytes (--size)", o.FileBytes)
	case client.SizeFromManifest:
		size = fmt.Sprintf(" of %d bytes (the uploaded image's)", o.FileBytes)
	case client.SizeFromTag:
		size = fmt.Sprintf(" of %d bytes (the uploaded image's, from the tag %s)", o.FileBytes, client.ImageSizeTag)
	case client.SizeFromVolume:
		size = fmt.Sprintf(" of %d bytes (the whole volume)", o.FileBytes)
	}
	s := fmt.Sprintf("downloaded %s (%d GiB) into %s %s%s: %d blocks (%d written, %d zero, %d resumed), %s received in %.1fs (%.1f MiB/s)",
		o.SnapshotID, o.VolumeSize, kind, o.Path, size, o.Blocks, o.Written, o.Zero, o.Resumed,
		mib(o.BytesReceived), o.DurationSeconds, float64(o.BytesReceived)/(1<<20)/max(o.DurationSeconds, 1e-9))
	if o.ZeroFilled > 0 {
		s += fmt.Sprintf(", %s zero-filled", mib(o.ZeroFilled))
	}
	if o.Retries > 0 {
		s += fmt.Sprintf(", %d retries", o.Retries)
	}
	if o.Throttled > 0 {
		s += fmt.Sprintf(", %d throttled (concurrency lowered to %d at the least)", o.Throttled, o.LowestConcurrency)
	}
	return s
}
