package ebs

const (
	// BlockSize is the size in bytes of every EBS block: 512 KiB.
	BlockSize = 524288

	// BlocksPerGiB is how many blocks one GiB of volume holds.
	BlocksPerGiB = 1 << 30 / BlockSize

	// MinVolumeSize and MaxVolumeSize bound VolumeSize, in GiB.
	MinVolumeSize = 1
	MaxVolumeSize = 65536

	// MinTimeout, MaxTimeout and DefaultTimeout bound a pending snapshot's
	// idle timeout, in minutes.
	MinTimeout     = 10
	MaxTimeout     = 4320
	DefaultTimeout = 60

	// MaxTags is the most tags one snapshot may carry.
	MaxTags = 50
)

// BlockCount returns the number of blocks in a volume of sizeGiB GiB, i.e.
// one more than the largest valid block index.
func BlockCount(sizeGiB int64) int64 { return sizeGiB * BlocksPerGiB }
