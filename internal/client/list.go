package client

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"
)

// MaxPageSize is the largest page the List APIs return, and the page size
// listings use by default: one call per 10000 blocks (5 GiB of data).
const MaxPageSize = 10000

// MinPageSize is the smallest MaxResults the List APIs accept.
const MinPageSize = 100

// ListOptions say where a listing starts and how big its pages are.
type ListOptions struct {
	// StartBlock is the first block index listed.
	StartBlock int32
	// PageSize is MaxResults of each call, MinPageSize..MaxPageSize; 0
	// means MaxPageSize.
	PageSize int32
}

func (o ListOptions) pageSize() int32 {
	switch {
	case o.PageSize <= 0:
		return MaxPageSize
	case o.PageSize < MinPageSize:
		return MinPageSize
	case o.PageSize > MaxPageSize:
		return MaxPageSize
	}
	return o.PageSize
}

// Block is one written block of a snapshot and the token that reads it.
type Block struct {
	Index int32
	Token string
}

// BlockPage is one page of a snapshot's written blocks, in ascending
// index order.
type BlockPage struct {
	VolumeSize int64 // GiB
	BlockSize  int32
	// ExpiryTime is when the page's block tokens expire (about 7 days on
	// AWS).
	ExpiryTime time.Time
	Blocks     []Block
}

// ListBlocks streams the written blocks of a completed snapshot (its own
// and inherited ones) page by page, so that a listing of any size costs
// one page of memory. Each page is one ListSnapshotBlocks call, retried
// under the client's policy. Page tokens expire after 60 minutes: when the
// consumer was slower than that, the listing starts again after the last
// block it yielded instead of failing. Breaking out of the loop stops the
// listing.
func (c *Client) ListBlocks(ctx context.Context, snapshotID string, o ListOptions) iter.Seq2[*BlockPage, error] {
	return func(yield func(*BlockPage, error) bool) {
		next := o.StartBlock
		var token *string
		relists := 0
		for {
			in := &ebs.ListSnapshotBlocksInput{SnapshotId: aws.String(snapshotID), MaxResults: aws.Int32(o.pageSize())}
			if token != nil {
				in.NextToken = token
			} else {
				in.StartingBlockIndex = aws.Int32(next)
			}
			var out *ebs.ListSnapshotBlocksOutput
			err := c.call(ctx, fmt.Sprintf("ListSnapshotBlocks %s from %d", snapshotID, next), false, func(ctx context.Context) error {
				var err error
				out, err = c.api.ListSnapshotBlocks(ctx, in)
				return err
			})
			if token != nil && IsReason(err, types.ValidationExceptionReasonInvalidPageToken) && relists < maxRelists {
				// The page token expired while the consumer worked: list
				// again from the next block, without a token.
				relists++
				c.log.Info("page token rejected; listing again", "snapshot", snapshotID, "from", next, "err", err)
				token = nil
				continue
			}
			if err != nil {
				yield(nil, notReadable(snapshotID, err))
				return
			}
			relists = 0
			page := &BlockPage{
				VolumeSize: aws.ToInt64(out.VolumeSize),
				BlockSize:  aws.ToInt32(out.BlockSize),
				ExpiryTime: aws.ToTime(out.ExpiryTime),
				Blocks:     make([]Block, 0, len(out.Blocks)),
			}
			for _, b := range out.Blocks {
				i := aws.ToInt32(b.BlockIndex)
				if i < next {
					continue // never yield an index twice, even after a re-list
				}
				page.Blocks = append(page.Blocks, Block{Index: i, Token: aws.ToString(b.BlockToken)})
				next = i + 1
			}
			if !yield(page, nil) {
				return
			}
			if out.NextToken == nil || *out.NextToken == "" {
				return
			}
			token = out.NextToken
		}
	}
}

// maxRelists bounds how many times in a row a listing starts again after
// its page token was rejected.
const maxRelists = 3

// ChangedBlock is one block index that differs between two snapshots of
// a lineage. A token is empty when the block is absent from that
// snapshot (unwritten there: it reads as zeros).
type ChangedBlock struct {
	Index       int32
	FirstToken  string
	SecondToken string
}

// InFirst reports whether the block is written in the first snapshot.
func (b ChangedBlock) InFirst() bool { return b.FirstToken != "" }

// InSecond reports whether the block is written in the second snapshot.
func (b ChangedBlock) InSecond() bool { return b.SecondToken != "" }

// ChangedPage is one page of changed blocks, in ascending index order.
type ChangedPage struct {
	VolumeSize int64 // GiB
	BlockSize  int32
	ExpiryTime time.Time
	Blocks     []ChangedBlock
}

// Diff streams the blocks that differ between two completed snapshots of
// one lineage (ListChangedBlocks), page by page. Pages may be empty while
// more follow (the service scans a window of candidates per call), so Diff
// keeps paging until the service returns no NextToken. Pages that lack the
// volume geometry (AWS omits it on some empty pages) carry the last one
// seen. Page tokens that expired are handled as in ListBlocks.
func (c *Client) Diff(ctx context.Context, first, second string, o ListOptions) iter.Seq2[*ChangedPage, error] {
	return func(yield func(*ChangedPage, error) bool) {
		next := o.StartBlock
		var token *string
		var volumeSize int64
		var blockSize int32
		relists := 0
		for {
			in := &ebs.ListChangedBlocksInput{
				FirstSnapshotId:  aws.String(first),
				SecondSnapshotId: aws.String(second),
				MaxResults:       aws.Int32(o.pageSize()),
			}
			if token != nil {
				in.NextToken = token
			} else {
				in.StartingBlockIndex = aws.Int32(next)
			}
			var out *ebs.ListChangedBlocksOutput
			err := c.call(ctx, fmt.Sprintf("ListChangedBlocks %s %s from %d", first, second, next), false, func(ctx context.Context) error {
				var err error
				out, err = c.api.ListChangedBlocks(ctx, in)
				return err
			})
			if token != nil && IsReason(err, types.ValidationExceptionReasonInvalidPageToken) && relists < maxRelists {
				relists++
				c.log.Info("page token rejected; listing again", "first", first, "second", second, "from", next, "err", err)
				token = nil
				continue
			}
			if err != nil {
				if IsNotFound(err) {
					err = fmt.Errorf("%s or %s is not readable: it does not exist, or it is not completed yet (pending or error), which the EBS direct APIs cannot tell apart: %w", first, second, err)
				}
				yield(nil, err)
				return
			}
			relists = 0
			if out.VolumeSize != nil {
				volumeSize = *out.VolumeSize
			}
			if out.BlockSize != nil {
				blockSize = *out.BlockSize
			}
			page := &ChangedPage{
				VolumeSize: volumeSize,
				BlockSize:  blockSize,
				ExpiryTime: aws.ToTime(out.ExpiryTime),
				Blocks:     make([]ChangedBlock, 0, len(out.ChangedBlocks)),
			}
			for _, b := range out.ChangedBlocks {
				i := aws.ToInt32(b.BlockIndex)
				if i < next {
					continue
				}
				page.Blocks = append(page.Blocks, ChangedBlock{Index: i, FirstToken: aws.ToString(b.FirstBlockToken), SecondToken: aws.ToString(b.SecondBlockToken)})
				next = i + 1
			}
			if !yield(page, nil) {
				return
			}
			if out.NextToken == nil || *out.NextToken == "" {
				return
			}
			token = out.NextToken
		}
	}
}

// IsReason reports whether err is a ValidationException with reason r
// (INVALID_BLOCK_TOKEN, INVALID_PAGE_TOKEN, ...).
func IsReason(err error, r types.ValidationExceptionReason) bool {
	var ve *types.ValidationException
	return errors.As(err, &ve) && ve.Reason == r
}

// ErrNotReadable means a read API answered 404 for a snapshot: it does not
// exist, or it is not completed (pending, or failed), which the EBS
// direct APIs cannot tell apart.
var ErrNotReadable = errors.New("not readable")

// notReadable explains a 404 from a read API on snapshot id.
func notReadable(id string, err error) error {
	if !IsNotFound(err) {
		return err
	}
	return &notReadableError{id: id, err: err}
}

type notReadableError struct {
	id  string
	err error
}

func (e *notReadableError) Error() string {
	return fmt.Sprintf("snapshot %s is not readable: it does not exist, or it is not completed yet (pending or error), which the EBS direct APIs cannot tell apart ('ebs snapshots %s', EC2 DescribeSnapshots, can): %v", e.id, e.id, e.err)
}

func (e *notReadableError) Unwrap() []error { return []error{ErrNotReadable, e.err} }
