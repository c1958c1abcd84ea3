package client

import (
	"errors"
	"fmt"
)

// Where the size of a downloaded file came from (DownloadResult.SizeSource).
const (
	SizeFromFlag     = "flag"     // DownloadInput.Size, ebs download --size
	SizeFromManifest = "manifest" // the image size the upload recorded
	SizeFromVolume   = "volume"   // not known: the whole volume
	SizeFromDevice   = "device"   // a block device keeps its own size
)

// fileSize decides how large the downloaded file ends up: in.Size, else
// the image size the upload recorded in the snapshot's manifest, else
// the whole volume of volumeSize GiB. It also returns the recorded size
// (0: none), which the download's own manifest keeps.
//
// The size the upload tagged the snapshot with (ImageSizeTag) cannot be
// read here: the EBS direct APIs return no tags.
func (c *Client) fileSize(in DownloadInput, device bool, volumeSize int64) (size int64, source string, recorded int64, err error) {
	volBytes := volumeSize << 30
	m, err := LoadManifest(c.opts.StateDir, in.SnapshotID)
	switch {
	case err == nil && m.VolumeSize == volumeSize && m.ImageSize > 0 && m.ImageSize <= volBytes:
		recorded = m.ImageSize
	case err != nil && !errors.Is(err, ErrNoManifest):
		c.log.Warn("cannot read the snapshot's manifest for the image size", "err", err)
	}
	switch {
	case device:
		return 0, SizeFromDevice, recorded, nil
	case in.Size > volBytes:
		return 0, "", 0, fmt.Errorf("size %d bytes is more than the snapshot's volume of %d GiB (%d bytes)", in.Size, volumeSize, volBytes)
	case in.Size > 0:
		return in.Size, SizeFromFlag, recorded, nil
	case recorded > 0:
		return recorded, SizeFromManifest, recorded, nil
	}
	return volBytes, SizeFromVolume, 0, nil
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
