package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"

	"github.com/ebsd/ebsd/internal/client"
	ebsdomain "github.com/ebsd/ebsd/internal/ebs"
)

const uploadSummary = `Upload a raw disk image (a file or a block device) into a new EBS snapshot
and print its ID on stdout. An image whose size is not a multiple of 512 KiB
is padded with zeros; the volume size defaults to the image size rounded up
to whole GiB. The image size is recorded, so that 'ebs download' gives back
the image rather than the whole volume: in the manifest in --state-dir, and
as the snapshot tag ebs:image-size=BYTES, unless the --tag flags already
reach AWS's limit of 50 tags (then it is not added, and ebs says so).

Zero blocks: by default all-zero blocks are skipped for unencrypted
snapshots (unwritten blocks read back as zeros) and uploaded for encrypted
ones, where skipping them is not safe; --zero-blocks=skip|upload overrides.
The holes of a sparse image file are found with SEEK_DATA/SEEK_HOLE, after
an fdatasync of the image, and are not read; --no-sparse reads every block
instead, for file systems whose hole reports cannot be trusted (OpenZFS
2.1 and 2.2.0-2.2.1 reported fresh data as holes).

Throttling: when the service throttles, the number of requests in flight
is halved (down to 1), then raised by one per run of successes, up to
--workers; -v shows each change, and the summary the lowest reached.

Incremental (--parent SNAP): only the blocks whose content differs from the
parent's are sent. The differing blocks are found by comparing the SHA-256
of every image block with the parent's manifest, a list of its block
digests that ebs keeps in --state-dir for every snapshot it uploaded or
downloaded: no parent data is read and no unchanged data is re-uploaded.
Without a manifest, ebs lists the parent and reads each of its blocks once
for the checksum that comes with it (download traffic, said in -v output),
and keeps the manifest it learned. A block that is zero in the image but
not in the parent is written as zeros, whatever --zero-blocks says.

Resume (--resume SNAP): every acknowledged block is journaled in
--state-dir; 'ebs upload --resume SNAP IMAGE' continues an interrupted
upload into the same pending snapshot, skipping the journaled blocks whose
content still matches. Without the journal it sends every block again.

Output: the snapshot ID on stdout (with --json, an object with snapshot_id,
status, volume_size_gib, parent, parent_source, encrypted, zero_blocks,
blocks, written, zero, unchanged, resumed, bytes_sent, changed_blocks,
checksum, image_size_tagged, throttled, lowest_concurrency, image,
image_bytes, duration_seconds, retries and, on failure, error); a summary
line on stderr.`

// uploadFlags are ebs upload's own flags.
type uploadFlags struct {
	volumeSize  int64
	description string
	tags        tagFlag
	timeout     int
	encrypted   bool
	kmsKeyARN   string
	parent      string
	resume      string
	zeroBlocks  string
	noSparse    bool
	wait        bool
}

// uploadOutput is the --json result of ebs upload.
type uploadOutput struct {
	*client.UploadResult
	Image           string  `json:"image"`
	ImageBytes      int64   `json:"image_bytes"`
	DurationSeconds float64 `json:"duration_seconds"`
	Retries         int64   `json:"retries"`
	Error           string  `json:"error,omitempty"`
}

func runUpload(ctx context.Context, m *Main, args []string) error {
	var g Globals
	var o uploadFlags
	fs := newFlagSet(m, "upload", "[flags] IMAGE", uploadSummary, &g)
	fs.Int64Var(&o.volumeSize, "volume-size", 0, "volume size in GiB (default: the image size rounded up, at least the parent's)")
	fs.StringVar(&o.description, "description", "", "snapshot description")
	fs.Var(&o.tags, "tag", "tag `key=value` for the snapshot (repeatable)")
	fs.IntVar(&o.timeout, "timeout", 0, "`minutes` without activity after which the service cancels the pending snapshot, 10 to 4320 (default: the service's, 60)")
	fs.BoolVar(&o.encrypted, "encrypted", false, "encrypt the snapshot (with the default KMS key unless --kms-key-arn)")
	fs.StringVar(&o.kmsKeyARN, "kms-key-arn", "", "KMS key to encrypt the snapshot with (implies --encrypted)")
	fs.StringVar(&o.parent, "parent", "", "upload incrementally against this completed `snapshot`: only differing blocks are sent")
	fs.StringVar(&o.resume, "resume", "", "continue an interrupted upload into this pending `snapshot`")
	fs.StringVar(&o.zeroBlocks, "zero-blocks", "", "what to do with all-zero blocks: `policy` skip or upload (default: skip for unencrypted snapshots, upload for encrypted ones)")
	fs.BoolVar(&o.noSparse, "no-sparse", false, "read every block of the image, holes included, instead of asking the file system where its holes are")
	fs.BoolVar(&o.wait, "wait", false, "wait until the snapshot is completed and readable")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	path := pos[0]
	in, err := o.input()
	if err != nil {
		return err
	}

	img, size, err := client.OpenImage(path)
	if err != nil {
		return fmt.Errorf("image: %w", err)
	}
	defer img.Close()
	in.Image, in.Size = img, size
	if need := (size + (1 << 30) - 1) >> 30; o.volumeSize != 0 && need > o.volumeSize {
		return &usageError{(&client.TooLargeError{ImageSize: size, VolumeSize: o.volumeSize, Need: need}).Error()}
	}

	obs := newObserver(m, &g)
	c, err := m.client(ctx, &g, obs)
	if err != nil {
		return err
	}
	in.OnStart = func(id string) {
		if !g.Quiet {
			verb := "started"
			if o.resume != "" {
				verb = "resumed"
			}
			fmt.Fprintf(m.Stderr, "snapshot %s %s\n", id, verb)
		}
	}
	res, err := c.Upload(ctx, in)
	if res == nil {
		return err
	}
	out := uploadOutput{UploadResult: res, Image: path, ImageBytes: size, DurationSeconds: res.Duration.Seconds(), Retries: obs.Retries()}
	if err != nil {
		out.Error = err.Error()
	}
	if g.JSON {
		if perr := printJSON(m.Stdout, out); perr != nil && err == nil {
			return perr
		}
	} else {
		fmt.Fprintln(m.Stdout, res.SnapshotID)
	}
	if err != nil {
		return &pendingError{err: err, id: res.SnapshotID, image: path, timeout: o.timeout, resumed: o.resume != "",
			failed: errors.Is(err, client.ErrSnapshotFailed), gone: client.IsNotFound(err)}
	}
	if !g.Quiet {
		if o.resume == "" && !res.ImageSizeTagged {
			fmt.Fprintf(m.Stderr, "note: the snapshot is not tagged %s=%d: the --tag flags leave no room under AWS's limit of %d tags, or give that key; "+
				"'ebs download' with this --state-dir knows the size all the same, elsewhere pass it --size %d\n", client.ImageSizeTag, size, ebsdomain.MaxTags, size)
		}
		fmt.Fprintln(m.Stderr, uploadSummaryLine(&out))
	}
	return nil
}

// input checks the flags and turns them into an UploadInput.
func (o *uploadFlags) input() (client.UploadInput, error) {
	in := client.UploadInput{
		VolumeSize: o.volumeSize, Description: o.description, Tags: o.tags.tags,
		Timeout: int32(o.timeout), Encrypted: o.encrypted || o.kmsKeyARN != "", KMSKeyARN: o.kmsKeyARN,
		Parent: o.parent, Resume: o.resume, Wait: o.wait, NoSparse: o.noSparse,
	}
	var err error
	if in.ZeroBlocks, err = client.ParseZeroPolicy(o.zeroBlocks); err != nil {
		return in, usagef("--zero-blocks: %v", err)
	}
	switch {
	case o.volumeSize < 0 || o.volumeSize > ebsdomain.MaxVolumeSize:
		return in, usagef("--volume-size %d: want 1 to %d GiB", o.volumeSize, ebsdomain.MaxVolumeSize)
	case o.timeout != 0 && (o.timeout < ebsdomain.MinTimeout || o.timeout > ebsdomain.MaxTimeout):
		return in, usagef("--timeout %d: want %d to %d minutes", o.timeout, ebsdomain.MinTimeout, ebsdomain.MaxTimeout)
	case len(o.description) > 255:
		return in, usagef("--description: at most 255 characters")
	case o.resume != "" && (o.description != "" || len(o.tags.tags) > 0 || o.timeout != 0 || in.Encrypted):
		return in, usagef("--description, --tag, --timeout, --encrypted and --kms-key-arn apply to a new snapshot, not with --resume")
	case o.parent != "" && o.encrypted && o.kmsKeyARN == "":
		return in, usagef("--encrypted with --parent: a child snapshot has its parent's encryption")
	case o.parent != "" && o.parent == o.resume:
		return in, usagef("--parent and --resume name the same snapshot")
	}
	for _, id := range []string{o.parent, o.resume} {
		if id != "" && !strings.HasPrefix(id, "snap-") {
			return in, usagef("%q is not a snapshot ID (snap-...)", id)
		}
	}
	return in, nil
}

// uploadSummaryLine says what an upload did, for stderr.
func uploadSummaryLine(o *uploadOutput) string {
	r := o.UploadResult
	secs := max(r.Duration.Seconds(), 1e-9)
	s := fmt.Sprintf("snapshot %s %s: %d blocks: %d written, %d zero skipped, %d unchanged, %d resumed; %s image in %v (%.1f MiB/s), %s sent (%.1f MiB/s)",
		r.SnapshotID, r.Status, r.Blocks, r.Written, r.Zero, r.Unchanged, r.Resumed,
		mib(o.ImageBytes), r.Duration.Round(time.Millisecond), float64(o.ImageBytes)/(1<<20)/secs,
		mib(r.BytesSent), float64(r.BytesSent)/(1<<20)/secs)
	if o.Retries > 0 {
		s += fmt.Sprintf(", %d retries", o.Retries)
	}
	if r.Throttled > 0 {
		s += fmt.Sprintf(", %d throttled (concurrency lowered to %d at the least)", r.Throttled, r.LowestConcurrency)
	}
	return s
}

// pendingError is an upload that failed after its snapshot was started:
// it says what became of the snapshot and how to go on.
type pendingError struct {
	err     error
	id      string
	image   string
	timeout int
	resumed bool
	failed  bool // the snapshot is in the error state
	gone    bool // the service does not know the snapshot
}

func (e *pendingError) Error() string { return e.err.Error() + "\n  " + e.Advice() }
func (e *pendingError) Unwrap() error { return e.err }

// Advice says what to do with the snapshot left behind.
func (e *pendingError) Advice() string {
	switch {
	case e.failed:
		return fmt.Sprintf("Snapshot %s is in the error state and cannot be used; upload again.", e.id)
	case e.gone:
		return fmt.Sprintf("The service does not know snapshot %s as pending (a wrong ID, or it timed out); upload again without --resume.", e.id)
	}
	after := "after its timeout without activity"
	switch {
	case e.timeout != 0:
		after = fmt.Sprintf("after %d minutes without activity", e.timeout)
	case !e.resumed:
		after = fmt.Sprintf("after %d minutes without activity", ebsdomain.DefaultTimeout)
	}
	return fmt.Sprintf("Snapshot %s is still pending: 'ebs upload --resume %s %s' (with the same --state-dir) continues it, or the service cancels it %s.",
		e.id, e.id, e.image, after)
}

// tagFlag collects repeated --tag key=value flags.
type tagFlag struct{ tags []types.Tag }

func (t *tagFlag) String() string {
	if t == nil {
		return ""
	}
	var s []string
	for _, tg := range t.tags {
		s = append(s, aws.ToString(tg.Key)+"="+aws.ToString(tg.Value))
	}
	return strings.Join(s, ",")
}

// Set parses one key=value, checking the EBS tag rules.
func (t *tagFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	switch {
	case !ok:
		return fmt.Errorf("tag %q: want key=value", v)
	case k == "" || len(k) > 127:
		return fmt.Errorf("tag %q: the key must be 1 to 127 characters", v)
	case len(val) > 255:
		return fmt.Errorf("tag %q: the value must be at most 255 characters", v)
	case strings.HasPrefix(strings.ToLower(k), "aws:"):
		return fmt.Errorf("tag %q: keys starting with aws: are reserved", v)
	case len(t.tags) >= ebsdomain.MaxTags:
		return fmt.Errorf("at most %d tags", ebsdomain.MaxTags)
	}
	for _, tg := range t.tags {
		if aws.ToString(tg.Key) == k {
			return fmt.Errorf("tag %q given twice", k)
		}
	}
	t.tags = append(t.tags, types.Tag{Key: aws.String(k), Value: aws.String(val)})
	return nil
}

var _ flag.Value = (*tagFlag)(nil)
