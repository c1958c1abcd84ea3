package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"
	"github.com/google/uuid"

	ebsdomain "github.com/ebsd/ebsd/internal/ebs"
)

// UploadInput says what to upload and into what snapshot.
type UploadInput struct {
	// Image is the raw disk image, read with ReadAt by many workers at
	// once (an *os.File of a file or block device will do).
	Image io.ReaderAt
	// Size is the image's size in bytes; a last partial block is padded
	// with zeros.
	Size int64
	// VolumeSize is the snapshot's volume size in GiB; 0 means the image
	// size rounded up (at least 1, and at least the parent's size).
	VolumeSize int64

	// Description, Tags, Timeout (minutes, 0 = the service's default),
	// Encrypted and KMSKeyARN go to StartSnapshot; they are for new
	// snapshots only, not with Resume. A KMSKeyARN implies Encrypted.
	Description string
	Tags        []types.Tag
	Timeout     int32
	Encrypted   bool
	KMSKeyARN   string

	// Parent makes the upload incremental against this completed
	// snapshot: only blocks whose content differs from the parent's are
	// sent (see loadParent for how they are found).
	Parent string
	// Resume continues this pending snapshot instead of starting one:
	// blocks the interrupted run's journal records, and whose content
	// still matches, are not sent again.
	Resume string
	// ZeroBlocks says what to do with all-zero blocks.
	ZeroBlocks ZeroPolicy
	// NoSparse reads every block of the image, holes included, instead of
	// asking the file system where the holes are (SEEK_DATA/SEEK_HOLE):
	// for file systems whose answers cannot be trusted (see holeMap).
	NoSparse bool
	// Wait polls after completion until the snapshot is completed (or in
	// error) and readable.
	Wait bool
	// OnStart, if set, is called with the snapshot ID as soon as
	// StartSnapshot returns (or at once when resuming), so that the ID
	// can be shown before the long part begins.
	OnStart func(snapshotID string)
}

// UploadResult says what an upload did. The JSON names are the --json
// output of ebs upload.
type UploadResult struct {
	SnapshotID   string `json:"snapshot_id"`
	Status       string `json:"status"` // pending, completed or error
	VolumeSize   int64  `json:"volume_size_gib"`
	Parent       string `json:"parent,omitempty"`
	ParentSource string `json:"parent_source,omitempty"` // "manifest" or "listing": how the parent's blocks were known
	Encrypted    bool   `json:"encrypted"`
	ZeroBlocks   string `json:"zero_blocks"` // the policy applied: skip or upload

	Blocks        int64  `json:"blocks"`         // blocks examined
	Written       int64  `json:"written"`        // blocks sent by this run
	Zero          int64  `json:"zero"`           // zero blocks skipped
	Unchanged     int64  `json:"unchanged"`      // equal to the parent's: not sent
	Resumed       int64  `json:"resumed"`        // sent by an interrupted run: not sent again
	BytesSent     int64  `json:"bytes_sent"`     // block data sent by this run
	ChangedBlocks int64  `json:"changed_blocks"` // ChangedBlocksCount sent on completion
	Checksum      string `json:"checksum"`       // the LINEAR aggregate sent on completion
	// ImageSizeTagged says whether StartSnapshot tagged the snapshot with
	// the image size (ImageSizeTag): not when the user's tags already
	// reach AWS's limit, and not on a resume (the run that started the
	// snapshot did).
	ImageSizeTagged bool `json:"image_size_tagged"`

	// Throttled is how many puts the service throttled;
	// LowestConcurrency is the fewest puts in flight that throttling
	// brought the upload down to (the workers, if it never did).
	Throttled         int64 `json:"throttled"`
	LowestConcurrency int   `json:"lowest_concurrency"`

	Duration time.Duration `json:"-"`
}

// ErrSnapshotFailed means the service put the snapshot into the error
// state (a checksum or count mismatch, or it timed out).
var ErrSnapshotFailed = errors.New("the snapshot is in the error state")

// Upload uploads an image into a new snapshot (or into a pending one, with
// Resume) and completes it with the count and LINEAR aggregate checksum
// of the blocks written. Blocks move in parallel, Workers at a time, each
// read into a pooled buffer, so memory stays near Workers x 512 KiB plus
// 36 bytes per block written.
//
// The result is non-nil with SnapshotID set whenever a snapshot was
// started, even on error: the snapshot is then still pending, and an
// Upload with Resume set to it continues where this one stopped.
func (c *Client) Upload(ctx context.Context, in UploadInput) (*UploadResult, error) {
	began := c.opts.Now()
	if err := checkUploadInput(&in); err != nil {
		return nil, err
	}

	// A resume learns from the interrupted run's journal how it was set
	// up, so that it makes the same decisions about every block.
	var prior *uploadHeader
	if in.Resume != "" {
		h, err := peekUploadHeader(UploadJournalPath(c.opts.StateDir, in.Resume))
		switch {
		case err == nil:
			if err := h.matches(&in); err != nil {
				return nil, err
			}
			prior = &h
			if in.Parent == "" {
				in.Parent = h.parent
			}
		case errors.Is(err, os.ErrNotExist):
			c.log.Info("no journal of the interrupted upload: every block is sent again into the same snapshot (puts overwrite)", "snapshot", in.Resume)
		default:
			return nil, err
		}
	}

	var parent *parentBlocks
	if in.Parent != "" {
		var err error
		if parent, err = c.loadParent(ctx, in.Parent); err != nil {
			return nil, err
		}
	}
	volume, err := volumeSize(&in, prior, parent)
	if err != nil {
		return nil, err
	}

	// A state directory that cannot hold the journal fails the upload
	// before a snapshot is started, not after.
	if err := os.MkdirAll(filepath.Dir(UploadJournalPath(c.opts.StateDir, "x")), 0o700); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}

	res := &UploadResult{VolumeSize: volume, Parent: in.Parent}
	if parent != nil {
		res.ParentSource = parent.source
	}
	var notFoundUntil time.Time
	encrypted := in.Encrypted || in.KMSKeyARN != ""
	if in.Resume == "" {
		tags, tagged := imageSizeTags(in.Tags, in.Size)
		if !tagged {
			c.log.Warn("the snapshot is not tagged with the image size: the tags given leave no room under AWS's limit (or name the tag themselves); "+
				"a download elsewhere restores the whole volume unless given --size", "tag", ImageSizeTag, "limit", ebsdomain.MaxTags)
		}
		out, err := c.startSnapshot(ctx, &in, volume, tags)
		if err != nil {
			return nil, err
		}
		res.ImageSizeTagged = tagged
		res.SnapshotID = aws.ToString(out.SnapshotId)
		encrypted = encrypted || aws.ToString(out.KmsKeyArn) != ""
		// AWS may not know a snapshot for a while after starting it
		// (coldsnap #43): puts retry "not found" during that time only, so
		// that a wrong --resume ID fails fast.
		notFoundUntil = c.opts.Now().Add(2 * time.Minute)
	} else {
		res.SnapshotID = in.Resume
	}
	res.Encrypted = encrypted
	c.log.Info("snapshot started", "snapshot", res.SnapshotID, "volume_gib", volume, "parent", in.Parent, "resume", in.Resume != "")
	if in.OnStart != nil {
		in.OnStart(res.SnapshotID)
	}

	zero := in.ZeroBlocks.resolve(encrypted)
	switch {
	case prior != nil:
		zero = prior.zero
	case in.Resume != "" && in.ZeroBlocks == ZeroAuto:
		// Whether the pending snapshot is encrypted is not known here:
		// uploading zeros is right either way.
		zero = ZeroUpload
	}
	res.ZeroBlocks = zero.String()

	header := uploadHeader{snapshotID: res.SnapshotID, imageSize: in.Size, volumeSize: volume, parent: in.Parent, zero: zero}
	j, err := OpenJournal(UploadJournalPath(c.opts.StateDir, res.SnapshotID), header.bytes())
	if err != nil {
		return res, err
	}
	run := &uploadRun{
		c: c, in: &in, id: res.SnapshotID, zero: zero, journal: j, done: j.Done(),
		notFoundUntil: notFoundUntil, volumeBlocks: ebsdomain.BlockCount(volume),
		gate: newGate(c.opts.Workers, c.log),
	}
	if parent != nil {
		run.parent = parent.digests
	}
	// On failure the journal is kept, with every block acknowledged so
	// far, for a resume.
	fail := func(err error) (*UploadResult, error) {
		if cerr := j.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("journal: %w", cerr))
		}
		return res, err
	}
	written, err := run.run(ctx)
	run.fill(res)
	res.Duration = c.opts.Now().Sub(began)
	if err != nil {
		return fail(err)
	}
	if err := j.Flush(); err != nil {
		return fail(fmt.Errorf("journal: %w", err))
	}

	res.ChangedBlocks, res.Checksum = int64(len(written)), written.linear()
	res.Status, err = c.completeSnapshot(ctx, res.SnapshotID, res.ChangedBlocks, res.Checksum, in.Wait, notFoundUntil)
	res.Duration = c.opts.Now().Sub(began)
	if err != nil {
		return fail(err)
	}
	if err := j.Remove(); err != nil {
		c.log.Warn("could not remove the upload journal", "err", err)
	}
	if res.Status == string(types.StatusError) {
		return res, fmt.Errorf("snapshot %s: %w", res.SnapshotID, ErrSnapshotFailed)
	}
	m := &Manifest{SnapshotID: res.SnapshotID, VolumeSize: volume, ImageSize: in.Size, blocks: written}
	if parent != nil {
		m.blocks = overlay(written, parent.digests)
	}
	if err := m.Save(c.opts.StateDir); err != nil {
		c.log.Warn("could not keep the snapshot's manifest (incremental uploads against it will read it instead)", "err", err)
	}
	return res, nil
}

// checkUploadInput rejects inputs that cannot work, before anything is
// started.
func checkUploadInput(in *UploadInput) error {
	if in.Image == nil {
		return errors.New("upload: no image")
	}
	if in.Size < 0 {
		return fmt.Errorf("upload: negative image size %d", in.Size)
	}
	if in.Resume != "" && (in.Description != "" || len(in.Tags) > 0 || in.Timeout != 0 || in.Encrypted || in.KMSKeyARN != "") {
		return errors.New("description, tags, timeout, encryption and KMS key apply to a new snapshot, not to a resumed one")
	}
	if in.KMSKeyARN != "" {
		in.Encrypted = true
	}
	if in.Parent != "" && in.Encrypted && in.KMSKeyARN == "" {
		return errors.New("a child snapshot inherits its parent's encryption: drop --encrypted (or give --kms-key-arn for an unencrypted parent)")
	}
	if in.ZeroBlocks > ZeroUpload {
		return fmt.Errorf("upload: unknown zero-block policy %d", in.ZeroBlocks)
	}
	return nil
}

// matches checks that a resume asks for what the interrupted run did.
func (h uploadHeader) matches(in *UploadInput) error {
	switch {
	case h.snapshotID != in.Resume:
		return fmt.Errorf("the journal of %s is about snapshot %s", in.Resume, h.snapshotID)
	case h.imageSize != in.Size:
		return fmt.Errorf("the interrupted upload into %s was of an image of %d bytes, this one is %d bytes: resume with the same image", in.Resume, h.imageSize, in.Size)
	case in.VolumeSize != 0 && in.VolumeSize != h.volumeSize:
		return fmt.Errorf("the interrupted upload into %s used a volume size of %d GiB, not %d", in.Resume, h.volumeSize, in.VolumeSize)
	case in.Parent != "" && in.Parent != h.parent:
		return fmt.Errorf("the interrupted upload into %s had parent %q, not %q", in.Resume, h.parent, in.Parent)
	case in.ZeroBlocks != ZeroAuto && in.ZeroBlocks != h.zero:
		return fmt.Errorf("the interrupted upload into %s used --zero-blocks=%s: resume with the same", in.Resume, h.zero)
	}
	return nil
}

// volumeSize returns the snapshot's volume size in GiB and checks that the
// image fits.
func volumeSize(in *UploadInput, prior *uploadHeader, parent *parentBlocks) (int64, error) {
	v := in.VolumeSize
	if v == 0 && prior != nil {
		v = prior.volumeSize
	}
	if v == 0 {
		v = max((in.Size+(1<<30)-1)>>30, ebsdomain.MinVolumeSize)
		if parent != nil {
			v = max(v, parent.volumeSize)
		}
	}
	if v < ebsdomain.MinVolumeSize || v > ebsdomain.MaxVolumeSize {
		return 0, fmt.Errorf("volume size %d GiB is out of range (%d to %d GiB)", v, ebsdomain.MinVolumeSize, ebsdomain.MaxVolumeSize)
	}
	if need := (in.Size + (1 << 30) - 1) >> 30; need > v {
		return 0, &TooLargeError{ImageSize: in.Size, VolumeSize: v, Need: need}
	}
	return v, nil
}

// TooLargeError means the image does not fit the volume size asked for.
type TooLargeError struct {
	ImageSize  int64 // bytes
	VolumeSize int64 // GiB
	Need       int64 // GiB
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("image is %d bytes but the volume is %d GiB; use --volume-size >= %d", e.ImageSize, e.VolumeSize, e.Need)
}

// startSnapshot starts the snapshot with tags. One ClientToken serves
// every attempt, so that a retry after a lost response returns the same
// snapshot instead of starting a second one.
func (c *Client) startSnapshot(ctx context.Context, in *UploadInput, volume int64, tags []types.Tag) (*ebs.StartSnapshotOutput, error) {
	req := &ebs.StartSnapshotInput{
		VolumeSize:  aws.Int64(volume),
		ClientToken: aws.String(uuid.NewString()),
		Tags:        tags,
	}
	if in.Description != "" {
		req.Description = aws.String(in.Description)
	}
	if in.Timeout != 0 {
		req.Timeout = aws.Int32(in.Timeout)
	}
	if in.Parent != "" {
		req.ParentSnapshotId = aws.String(in.Parent)
	} else if in.Encrypted {
		req.Encrypted = aws.Bool(true)
	}
	if in.KMSKeyARN != "" {
		req.KmsKeyArn = aws.String(in.KMSKeyARN)
	}
	var out *ebs.StartSnapshotOutput
	err := c.call(ctx, "StartSnapshot", false, func(ctx context.Context) error {
		var err error
		out, err = c.api.StartSnapshot(ctx, req)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("start snapshot: %w", err)
	}
	return out, nil
}
