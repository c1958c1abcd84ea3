package snapshot

import (
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
)

// The inputs and outputs of the snapshot-management operations that the EC2
// Query API carries (docs/ec2-api.md §5): DescribeSnapshots,
// DeleteSnapshot, CopySnapshot, CreateTags, DeleteTags and DescribeTags.
// The wire layer parses the form into these; the service checks every
// value, so that validation lives in one place.

// SnapshotInfo is one snapshot as DescribeSnapshots shows it.
type SnapshotInfo struct {
	SnapshotID   string
	OwnerID      string
	VolumeID     string // always "vol-ffffffff", as AWS shows EBS-direct snapshots
	Status       ebs.Status
	StatusMsg    string // why it failed; "" otherwise
	Progress     string // "0%", "99%" or "100%"
	StartTime    time.Time
	CompleteTime time.Time // zero until completed
	VolumeSize   int64     // GiB
	Description  string
	Tags         []ebs.Tag
	Encrypted    bool
	KMSKeyARN    string // "" when unencrypted
	// FullSizeBytes is the bytes of the written blocks of the view, 0
	// until completed (FullSnapshotSizeInBytes).
	FullSizeBytes int64
}

// DescribeInput is the request of DescribeSnapshots.
type DescribeInput struct {
	AccountID string
	// SnapshotIDs, when not empty, asks for exactly these snapshots: each
	// must exist and be the caller's (InvalidSnapshot.NotFound otherwise),
	// and MaxResults must not be given.
	SnapshotIDs []string
	// Match selects among the snapshots; nil selects all. The wire layer
	// builds it from the EC2 filters and owner and restorable-by lists.
	Match func(SnapshotInfo) bool
	// Selection identifies what Match selects (the filters, canonically
	// written), so that a NextToken is refused with other filters.
	Selection string
	// MaxResults is the page size as the request gave it, nil when absent:
	// then every match is returned on one page.
	MaxResults *int64
	NextToken  *string
}

// DescribeOutput is the response of DescribeSnapshots.
type DescribeOutput struct {
	Snapshots []SnapshotInfo
	NextToken string // "" on the last page
}

// DeleteInput is the request of DeleteSnapshot.
type DeleteInput struct {
	AccountID  string
	SnapshotID *string
}

// CopyInput is the request of CopySnapshot.
type CopyInput struct {
	AccountID        string
	Region           string // the region the server serves
	SourceRegion     *string
	SourceSnapshotID *string
	Description      *string
	Encrypted        *bool
	KMSKeyID         *string // a key ID, alias, key ARN or alias ARN
	Tags             []ebs.Tag
}

// CopyOutput is the response of CopySnapshot.
type CopyOutput struct {
	SnapshotID string
	Tags       []ebs.Tag // the tags given, nil when none
}

// TagsInput is the request of CreateTags.
type TagsInput struct {
	AccountID   string
	ResourceIDs []string
	Tags        []ebs.Tag
}

// TagMatch names tags to delete: Key, and Value when it is not nil (then
// only a tag with exactly that value, "" included, is deleted).
type TagMatch struct {
	Key   string
	Value *string
}

// UntagInput is the request of DeleteTags. A nil Tags deletes every tag of
// the resources.
type UntagInput struct {
	AccountID   string
	ResourceIDs []string
	Tags        []TagMatch
}

// TagInfo is one tag of one snapshot, as DescribeTags shows it.
type TagInfo struct {
	ResourceID string
	Key        string
	Value      string
}

// DescribeTagsInput is the request of DescribeTags (snapshots only).
type DescribeTagsInput struct {
	AccountID  string
	Match      func(TagInfo) bool // nil selects all
	Selection  string             // as in DescribeInput
	MaxResults *int64
	NextToken  *string
}

// DescribeTagsOutput is the response of DescribeTags.
type DescribeTagsOutput struct {
	Tags      []TagInfo
	NextToken string
}
