package client

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Where the size of a downloaded file came from (DownloadResult.SizeSource).
const (
	SizeFromFlag     = "flag"     // DownloadInput.Size, ebs download --size
	SizeFromManifest = "manifest" // the image size the upload recorded
	SizeFromTag      = "tag"      // the snapshot's ImageSizeTag, read with DescribeSnapshots
	SizeFromVolume   = "volume"   // not known: the whole volume
	SizeFromDevice   = "device"   // a block device keeps its own size
)

// fileSize decides how large the downloaded file ends up: in.Size, else
// the image size the upload recorded (ImageSize: in the snapshot's
// manifest, else in its ImageSizeTag), else the whole volume of
// volumeSize GiB. It also returns the recorded size (0: none), which the
// download's own manifest keeps. With in.Size, the flag wins and no tag
// is read.
func (c *Client) fileSize(ctx context.Context, in DownloadInput, device bool, volumeSize int64) (size int64, source string, recorded int64, err error) {
	volBytes := volumeSize << 30
	recorded, from := c.imageSize(ctx, in.SnapshotID, volumeSize, in.Size == 0)
	switch {
	case device:
		return 0, SizeFromDevice, recorded, nil
	case in.Size > volBytes:
		return 0, "", 0, fmt.Errorf("size %d bytes is more than the snapshot's volume of %d GiB (%d bytes)", in.Size, volumeSize, volBytes)
	case in.Size > 0:
		return in.Size, SizeFromFlag, recorded, nil
	case recorded > 0:
		return recorded, from, recorded, nil
	}
	return volBytes, SizeFromVolume, 0, nil
}

// ImageSize returns the size in bytes of the image snapshot id (of
// volumeSize GiB) was uploaded from, and where it was found:
// SizeFromManifest (the manifest in the state directory) or SizeFromTag
// (the snapshot's ImageSizeTag); 0 and "" when neither says.
func (c *Client) ImageSize(ctx context.Context, id string, volumeSize int64) (int64, string) {
	return c.imageSize(ctx, id, volumeSize, true)
}

func (c *Client) imageSize(ctx context.Context, id string, volumeSize int64, readTag bool) (int64, string) {
	volBytes := volumeSize << 30
	m, err := LoadManifest(c.opts.StateDir, id)
	switch {
	case err == nil && m.VolumeSize == volumeSize && m.ImageSize > 0 && m.ImageSize <= volBytes:
		return m.ImageSize, SizeFromManifest
	case err != nil && !errors.Is(err, ErrNoManifest):
		c.log.Warn("cannot read the snapshot's manifest for the image size", "err", err)
	}
	if !readTag {
		return 0, ""
	}
	if n := c.taggedImageSize(ctx, id, volBytes); n > 0 {
		return n, SizeFromTag
	}
	return 0, ""
}

// tagReadTimeout bounds the DescribeSnapshots call that reads the image
// size tag: it only spares the user a --size, and must not hold up a
// download for long.
const tagReadTimeout = 30 * time.Second

// taggedImageSize reads the image size from the snapshot's ImageSizeTag
// through the EC2 API, or returns 0 when it cannot: no EC2 client, a
// service without the EC2 API (an older ebsd: silently), no permission
// for DescribeSnapshots, no tag, or a tag that cannot be the size of an
// image of a volume of volBytes.
func (c *Client) taggedImageSize(ctx context.Context, id string, volBytes int64) int64 {
	if c.opts.EC2 == nil {
		return 0
	}
	ctx, cancel := context.WithTimeout(ctx, tagReadTimeout)
	defer cancel()
	tags, err := NewSnapshots(c.opts.EC2).Tags(ctx, id)
	switch {
	case err != nil && EC2Unavailable(err):
		c.log.Debug("the service has no EC2 API to read the image size tag from", "err", err)
		return 0
	case err != nil:
		c.log.Warn("cannot read the snapshot's tags for the image size", "tag", ImageSizeTag, "err", err)
		return 0
	}
	v, ok := tags[ImageSizeTag]
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 || n > volBytes {
		c.log.Warn("ignoring a tag that is not an image size of this volume", "tag", ImageSizeTag, "value", v, "volume_bytes", volBytes)
		return 0
	}
	return n
}

// cutTo truncates the downloaded file to size bytes, once every block is
// written. What lies past size must be zeros, as it is past the end of
// an uploaded image (the upload pads the last block with zeros, and
// writes zeros over parent blocks past the image): data there means the
// size is wrong, and the file is left whole rather than cut.
func (d *download) cutTo(size int64, digests blockDigests) error {
	tail := size % BlockSize
	for _, b := range digests {
		start := int64(b.index) * BlockSize
		switch {
		case start+BlockSize <= size, b.sum == zeroDigest:
			continue
		case start >= size:
			return d.dataPast(size, b.index)
		}
		// The block that size cuts: its part past size must be zeros.
		rest := make([]byte, BlockSize-tail)
		if _, err := d.t.f.ReadAt(rest, size); err != nil {
			return fmt.Errorf("read %s at %d: %w", d.in.Path, size, err)
		}
		if !isZero(rest) {
			return d.dataPast(size, b.index)
		}
	}
	if err := d.t.f.Truncate(size); err != nil {
		return fmt.Errorf("cut %s to %d bytes: %w", d.in.Path, size, err)
	}
	return nil
}

func (d *download) dataPast(size int64, index int32) error {
	return fmt.Errorf("snapshot %s holds data past %d bytes (in block %d), so that is not the image's size: %s is left whole (the volume); "+
		"'ebs download --resume' with a larger --size, or none, finishes it", d.in.SnapshotID, size, index, d.in.Path)
}
