package client

import (
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"

	ebsdomain "github.com/ebsd/ebsd/internal/ebs"
)

// ImageSizeTag is the tag an upload puts on its snapshot with the image's
// size in bytes. A snapshot holds a whole volume (whole GiB); the image
// it came from is often smaller, and a restore that gives back 1 GiB for
// a 100 MiB image is not the image. The manifest the upload kept
// (Manifest.ImageSize) is on the uploading machine only; the tag travels
// with the snapshot, and ebs download reads it back with EC2
// DescribeSnapshots (the EBS direct APIs return no tags) when no
// manifest says and no --size is given.
const ImageSizeTag = "ebs:image-size"

// imageSizeTags returns the user's tags plus ImageSizeTag for an image
// of size bytes, and whether it was added: not when the user's tags
// already reach AWS's limit of 50, where one more would fail the upload,
// nor when they set the tag themselves.
func imageSizeTags(user []types.Tag, size int64) ([]types.Tag, bool) {
	if len(user) >= ebsdomain.MaxTags {
		return user, false
	}
	for _, t := range user {
		if aws.ToString(t.Key) == ImageSizeTag {
			return user, false
		}
	}
	tags := append(make([]types.Tag, 0, len(user)+1), user...)
	return append(tags, types.Tag{Key: aws.String(ImageSizeTag), Value: aws.String(strconv.FormatInt(size, 10))}), true
}
