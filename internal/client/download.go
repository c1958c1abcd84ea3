package client

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/ebsd/ebsd/internal/fsutil"
)

// DownloadInput says which snapshot to download where.
type DownloadInput struct {
	SnapshotID string
	// Path is a regular file (created, sparse) or a block device.
	Path string
	// Resume continues an interrupted download into Path: blocks the
	// journal records are re-read and re-hashed locally and skipped when
	// they still match; the rest is downloaded. An existing file with no
	// journal about it is refused, unless Force: it may be anything.
	Resume bool
	// Force overwrites an existing regular file, with or without Resume.
	// (A block device is always written over: naming it is the consent.)
	Force bool
	// NoZeroFill leaves the ranges of unlisted blocks on a device as they
	// are, instead of zeroing them. Use it only on a device known to read
	// as zeros (new, or discarded).
	NoZeroFill bool
	// AsDevice treats a regular file like a block device: never
	// truncated, every listed block written, unlisted ranges zeroed. The
	// mode is otherwise chosen from the file type; tests use this to stand
	// a file in for a device.
	AsDevice bool
	// Size is the size in bytes a regular file is cut to when the
	// download is done: the image the snapshot was uploaded from, not the
	// whole volume. 0 means the image size the upload recorded in the
	// snapshot's manifest in the state directory, else in its
	// ImageSizeTag (read when Options.EC2 is set), else the volume's
	// size. A block device keeps its size: Size must be 0.
	Size int64
}

// DownloadResult says what a download did.
type DownloadResult struct {
	SnapshotID string `json:"snapshot_id"`
	Path       string `json:"path"`
	Device     bool   `json:"device"` // written as a block device
	VolumeSize int64  `json:"volume_size_gib"`
	// FileBytes is the size of the file written: the image's, or the
	// whole volume's when that is not known (SizeSource says which); 0
	// for a device.
	FileBytes  int64  `json:"file_bytes"`
	SizeSource string `json:"size_source"` // flag, manifest, tag, volume or device (the SizeFrom constants)
	// Blocks is how many blocks the snapshot lists (written blocks, own
	// and inherited); each was Written, Zero or Resumed.
	Blocks int64 `json:"blocks"`
	// Written is how many blocks were downloaded and written.
	Written int64 `json:"written"`
	// Zero is how many downloaded blocks were all zeros: left as holes in
	// a file, written as zeros on a device.
	Zero int64 `json:"zero"`
	// Resumed is how many blocks an earlier run had written and that
	// still matched their digest locally.
	Resumed int64 `json:"resumed"`
	// BytesReceived is the block data received and verified.
	BytesReceived int64 `json:"bytes_received"`
	// ZeroFilled is how many bytes of unlisted ranges were zeroed on a
	// device.
	ZeroFilled int64 `json:"zero_filled_bytes"`
	// Throttled is how many requests the service throttled;
	// LowestConcurrency is the fewest requests in flight that throttling
	// brought the download down to (the workers, if it never did).
	Throttled         int64         `json:"throttled"`
	LowestConcurrency int           `json:"lowest_concurrency"`
	Duration          time.Duration `json:"-"`
}

// Download writes snapshot in.SnapshotID into in.Path.
//
// A regular file is created (an existing one only with Force, or with
// Resume when a journal of this snapshot's download into it exists),
// locked against other downloads for the duration, sized to the volume
// and written in place: listed blocks are written at index*BlockSize,
// all-zero blocks and unlisted blocks stay holes. Once every block is
// written, the file is cut to the image's size (see fileSize), if only
// zeros lie past it. A block device is never
// truncated; it must be at least the volume size; every listed block is
// written, zero ones included, and unlisted ranges are zeroed (they read
// as zeros in the snapshot, but the device holds old data) unless
// NoZeroFill.
//
// Blocks stream from ListSnapshotBlocks pages through a bounded queue to
// Workers goroutines. Each block is fetched with retries, and its length
// and SHA-256 are checked against the service's x-amz-Checksum before it
// is written: a mismatch is retried, and unverified data is never
// written. Expired block tokens (7 days) are refreshed by listing again
// from that block. Each verified write is journaled under the state
// directory, so that Resume skips it later. On success the file is
// fsynced, the snapshot's manifest (the digest of every block) is saved
// for later incremental uploads (--parent), and the journal is removed.
func (c *Client) Download(ctx context.Context, in DownloadInput) (*DownloadResult, error) {
	start := c.opts.Now()
	if in.SnapshotID == "" || in.Path == "" {
		return nil, errors.New("download: a snapshot ID and a path are needed")
	}
	if in.Size < 0 {
		return nil, fmt.Errorf("download: negative size %d", in.Size)
	}
	t, err := openTarget(in)
	if err != nil {
		return nil, err
	}
	defer t.close()
	if err := c.checkResume(in, t); err != nil {
		return nil, err
	}
	if t.device && in.Size != 0 {
		return nil, fmt.Errorf("%s is a block device, which keeps its size: a size applies to a regular file only", in.Path)
	}
	res := &DownloadResult{SnapshotID: in.SnapshotID, Path: in.Path, Device: t.device}

	// Count the blocks first, for progress and ETA: one call per 10000
	// blocks (5 GiB of data), cheap next to fetching them.
	volumeSize, total, err := c.countBlocks(ctx, in.SnapshotID)
	if err != nil {
		t.discard()
		return nil, err
	}
	res.VolumeSize = volumeSize
	volBytes := volumeSize << 30
	size, source, recorded, err := c.fileSize(ctx, in, t.device, volumeSize)
	if err != nil {
		t.discard()
		return nil, err
	}
	res.FileBytes, res.SizeSource = size, source

	j, resume, err := c.openDownloadJournal(in, t)
	if err != nil {
		t.discard()
		return nil, err
	}
	journalOK := false
	defer func() {
		if !journalOK {
			j.Close()
		}
	}()
	if err := t.prepare(volBytes, resume); err != nil {
		return nil, err
	}

	d := &download{
		c: c, in: in, t: t, j: j, res: res,
		done:   j.Done(),
		blocks: int32(volBytes / BlockSize),
		tokens: &tokenCache{},
		gate:   newGate(c.opts.Workers, c.log),
	}
	if !resume {
		d.done = nil
	}
	mode := "file"
	if t.device {
		mode = "device"
	}
	c.log.Info("downloading", "snapshot", in.SnapshotID, "path", in.Path, "mode", mode, "volume_gib", volumeSize,
		"blocks", total, "resume", resume, "journaled", len(d.done), "workers", c.opts.Workers,
		"file_bytes", size, "size_from", source)
	c.opts.Observer.Begin("download", total, total*BlockSize)
	err = d.run(ctx)
	c.opts.Observer.End()
	if err != nil {
		return nil, d.failed(err)
	}
	digests := d.digests.sorted().dedupe()
	if !t.device && size < volBytes {
		if err := d.cutTo(size, digests); err != nil {
			return nil, d.failed(err)
		}
	}
	synced := c.opts.Now()
	if err := t.f.Sync(); err != nil {
		return nil, fmt.Errorf("sync %s: %w", in.Path, err)
	}
	if t.created {
		// The new file's name must survive a crash too.
		if err := fsutil.SyncDir(filepath.Dir(t.abs)); err != nil {
			return nil, fmt.Errorf("sync the directory of %s: %w", in.Path, err)
		}
	}
	c.log.Info("download written and synced", "snapshot", in.SnapshotID, "path", in.Path,
		"took", synced.Sub(start).Round(time.Millisecond), "sync", c.opts.Now().Sub(synced).Round(time.Millisecond))
	m := &Manifest{SnapshotID: in.SnapshotID, VolumeSize: volumeSize, ImageSize: recorded, blocks: digests}
	if err := m.Save(c.opts.StateDir); err != nil {
		// The download itself is fine; only incremental uploads lose.
		c.log.Warn("could not save the snapshot's manifest", "snapshot", in.SnapshotID, "err", err)
	}
	journalOK = true
	if err := j.Remove(); err != nil {
		c.log.Warn("could not remove the download journal", "err", err)
	}
	res.Blocks = res.Written + res.Zero + res.Resumed
	res.Duration = c.opts.Now().Sub(start)
	return res, nil
}

// countBlocks returns the volume size (GiB) and how many blocks snapshot
// id lists.
func (c *Client) countBlocks(ctx context.Context, id string) (volumeSize, blocks int64, err error) {
	for page, err := range c.ListBlocks(ctx, id, ListOptions{}) {
		if err != nil {
			return 0, 0, err
		}
		if page.BlockSize != 0 && page.BlockSize != BlockSize {
			return 0, 0, fmt.Errorf("snapshot %s has blocks of %d bytes; only %d is supported", id, page.BlockSize, BlockSize)
		}
		volumeSize = page.VolumeSize
		blocks += int64(len(page.Blocks))
	}
	if volumeSize <= 0 {
		return 0, 0, fmt.Errorf("snapshot %s: the service returned no volume size", id)
	}
	return volumeSize, blocks, nil
}

// DownloadError is a download that failed after it began writing: what
// it wrote is kept and journaled, and Resume continues it.
type DownloadError struct {
	SnapshotID string
	Path       string
	Done       int64 // blocks verified and written before the failure
	Err        error
}

func (e *DownloadError) Error() string {
	return fmt.Sprintf("download of %s into %s failed after %d blocks: %v", e.SnapshotID, e.Path, e.Done, e.Err)
}

func (e *DownloadError) Unwrap() error { return e.Err }

// zeroBlock is an all-zero block, never written to; zeroDigest is its
// SHA-256: a block whose digest is this is all zeros, with no need to
// scan it.
var (
	zeroBlock  = make([]byte, BlockSize)
	zeroDigest = sha256.Sum256(zeroBlock)
)
