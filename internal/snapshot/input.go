package snapshot

import (
	"io"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
)

// The inputs and outputs of the six operations.
//
// Members that travel in the path, a header or the query are given as the
// text the request carried (nil when absent): the service parses and checks
// every one of them, so that all validation lives in one place and reads
// like AWS's. AccountID is the authenticated caller's account.

// StartInput is the request of StartSnapshot. Its members come from a JSON
// body, so they arrive typed.
type StartInput struct {
	AccountID        string
	VolumeSize       *int64
	ParentSnapshotID *string
	Tags             []ebs.Tag
	Description      *string
	ClientToken      *string
	Encrypted        *bool
	KMSKeyARN        *string
	Timeout          *int64
}

// SnapshotOutput is the response of StartSnapshot.
type SnapshotOutput struct {
	SnapshotID       string
	OwnerID          string
	Status           ebs.Status
	StartTime        time.Time
	VolumeSize       int64
	BlockSize        int32
	Tags             []ebs.Tag // nil when the snapshot has none
	ParentSnapshotID string    // "" when none
	KMSKeyARN        string    // "" when unencrypted
	Description      string    // "" when none
}

// PutBlockInput is the request of PutSnapshotBlock.
type PutBlockInput struct {
	AccountID         string
	SnapshotID        string  // path
	BlockIndex        string  // path
	DataLength        *string // x-amz-Data-Length
	Checksum          *string // x-amz-Checksum
	ChecksumAlgorithm *string // x-amz-Checksum-Algorithm
	Progress          *string // x-amz-Progress
	// Body is the block data; the service reads at most DataLength bytes.
	Body io.Reader
	// PayloadHash is the SHA-256 of the body that a signed request claims
	// (a hex X-Amz-Content-Sha256), or nil for UNSIGNED-PAYLOAD. The service
	// checks it with the same single hash that checks Checksum.
	PayloadHash *ebs.Digest
}

// PutBlockOutput is the response of PutSnapshotBlock.
type PutBlockOutput struct {
	Checksum          string
	ChecksumAlgorithm string
}

// CompleteInput is the request of CompleteSnapshot.
type CompleteInput struct {
	AccountID                 string
	SnapshotID                string  // path
	ChangedBlocksCount        *string // x-amz-ChangedBlocksCount
	Checksum                  *string // x-amz-Checksum
	ChecksumAlgorithm         *string // x-amz-Checksum-Algorithm
	ChecksumAggregationMethod *string // x-amz-Checksum-Aggregation-Method
}

// CompleteOutput is the response of CompleteSnapshot.
type CompleteOutput struct {
	Status ebs.Status
}

// GetBlockInput is the request of GetSnapshotBlock.
type GetBlockInput struct {
	AccountID  string
	SnapshotID string  // path
	BlockIndex string  // path
	BlockToken *string // query blockToken
}

// GetBlockOutput is the response of GetSnapshotBlock. Data is borrowed from
// a pool: the caller must call Release once it has written Data out, and
// must not use Data after that.
type GetBlockOutput struct {
	Data              []byte
	Checksum          string
	ChecksumAlgorithm string
	Release           func()
}

// ListBlocksInput is the request of ListSnapshotBlocks.
type ListBlocksInput struct {
	AccountID          string
	SnapshotID         string  // path
	NextToken          *string // query pageToken
	MaxResults         *string // query maxResults
	StartingBlockIndex *string // query startingBlockIndex
}

// Block is one entry of ListSnapshotBlocks.
type Block struct {
	BlockIndex int32
	BlockToken string
}

// ListBlocksOutput is the response of ListSnapshotBlocks.
type ListBlocksOutput struct {
	Blocks     []Block
	ExpiryTime time.Time
	VolumeSize int64
	BlockSize  int32
	NextToken  string // "" on the last page
}

// ListChangedInput is the request of ListChangedBlocks.
type ListChangedInput struct {
	AccountID          string
	SecondSnapshotID   string  // path
	FirstSnapshotID    *string // query firstSnapshotId
	NextToken          *string // query pageToken
	MaxResults         *string // query maxResults
	StartingBlockIndex *string // query startingBlockIndex
}

// ChangedBlock is one entry of ListChangedBlocks. A token is "" when the
// block does not exist in that snapshot.
type ChangedBlock struct {
	BlockIndex       int32
	FirstBlockToken  string
	SecondBlockToken string
}

// ListChangedOutput is the response of ListChangedBlocks.
type ListChangedOutput struct {
	ChangedBlocks []ChangedBlock
	ExpiryTime    time.Time
	VolumeSize    int64
	BlockSize     int32
	NextToken     string // "" on the last page
}
