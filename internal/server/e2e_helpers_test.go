package server_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"
	"github.com/aws/smithy-go"

	"github.com/ebsd/ebsd/internal/ebstest"
)

var ctx = context.Background()

// apiError is what a test checks of an error the SDK returned.
type apiError struct {
	Status  int
	Code    string
	Reason  string
	Message string
}

// asAPIError decodes err the way an SDK user would.
func asAPIError(t *testing.T, err error) apiError {
	t.Helper()
	if err == nil {
		t.Fatal("expected an error, got success")
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not a smithy.APIError", err)
	}
	out := apiError{Code: ae.ErrorCode(), Message: ae.ErrorMessage()}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		out.Status = re.HTTPStatusCode()
	}
	var (
		ve *types.ValidationException
		nf *types.ResourceNotFoundException
		ad *types.AccessDeniedException
	)
	switch {
	case errors.As(err, &ve):
		out.Reason = string(ve.Reason)
	case errors.As(err, &nf):
		out.Reason = string(nf.Reason)
	case errors.As(err, &ad):
		out.Reason = string(ad.Reason)
	}
	return out
}

// checkError checks err's status, type, reason and that the message
// contains msg.
func checkError(t *testing.T, err error, status int, code, reason, msg string) {
	t.Helper()
	got := asAPIError(t, err)
	if got.Status != status || got.Code != code || got.Reason != reason || !bytes.Contains([]byte(got.Message), []byte(msg)) {
		t.Fatalf("error = %+v\nwant status %d, code %s, reason %q, message containing %q", got, status, code, reason, msg)
	}
}

func startSnapshot(t *testing.T, c *ebs.Client, in *ebs.StartSnapshotInput) string {
	t.Helper()
	if in.VolumeSize == nil {
		in.VolumeSize = aws.Int64(1)
	}
	out, err := c.StartSnapshot(ctx, in)
	if err != nil {
		t.Fatalf("StartSnapshot: %v", err)
	}
	return *out.SnapshotId
}

func putBlock(c *ebs.Client, id string, index int32, data []byte) error {
	_, err := c.PutSnapshotBlock(ctx, &ebs.PutSnapshotBlockInput{
		SnapshotId: &id, BlockIndex: &index, BlockData: bytes.NewReader(data),
		DataLength: aws.Int32(int32(len(data))), Checksum: aws.String(ebstest.Checksum(data)),
		ChecksumAlgorithm: types.ChecksumAlgorithmChecksumAlgorithmSha256,
	})
	return err
}

func mustPut(t *testing.T, c *ebs.Client, id string, blocks map[int32][]byte) {
	t.Helper()
	for i, b := range blocks {
		if err := putBlock(c, id, i, b); err != nil {
			t.Fatalf("PutSnapshotBlock(%s, %d): %v", id, i, err)
		}
	}
}

// complete completes a snapshot and returns its final status.
func complete(t *testing.T, c *ebs.Client, id string, count int32, checksum string) types.Status {
	t.Helper()
	in := &ebs.CompleteSnapshotInput{SnapshotId: &id, ChangedBlocksCount: &count}
	if checksum != "" {
		in.Checksum = &checksum
		in.ChecksumAlgorithm = types.ChecksumAlgorithmChecksumAlgorithmSha256
		in.ChecksumAggregationMethod = types.ChecksumAggregationMethodChecksumAggregationLinear
	}
	out, err := c.CompleteSnapshot(ctx, in)
	if err != nil {
		t.Fatalf("CompleteSnapshot: %v", err)
	}
	if out.Status != types.StatusPending {
		t.Fatalf("first CompleteSnapshot status = %s, want pending (as AWS)", out.Status)
	}
	out, err = c.CompleteSnapshot(ctx, &ebs.CompleteSnapshotInput{SnapshotId: &id, ChangedBlocksCount: &count})
	if err != nil {
		t.Fatalf("CompleteSnapshot again: %v", err)
	}
	return out.Status
}

// listAll pages through ListSnapshotBlocks with the SDK's paginator.
func listAll(t *testing.T, c *ebs.Client, id string, pageSize int32) map[int32]string {
	t.Helper()
	got := map[int32]string{}
	p := ebs.NewListSnapshotBlocksPaginator(c, &ebs.ListSnapshotBlocksInput{SnapshotId: &id, MaxResults: &pageSize})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListSnapshotBlocks: %v", err)
		}
		if *page.BlockSize != ebstest.BlockSize {
			t.Fatalf("BlockSize = %d", *page.BlockSize)
		}
		for _, b := range page.Blocks {
			if _, dup := got[*b.BlockIndex]; dup {
				t.Fatalf("block %d listed twice", *b.BlockIndex)
			}
			got[*b.BlockIndex] = *b.BlockToken
		}
	}
	return got
}

// getBlock reads one block and checks its checksum header.
func getBlock(t *testing.T, c *ebs.Client, id string, index int32, tok string) []byte {
	t.Helper()
	out, err := c.GetSnapshotBlock(ctx, &ebs.GetSnapshotBlockInput{SnapshotId: &id, BlockIndex: &index, BlockToken: &tok})
	if err != nil {
		t.Fatalf("GetSnapshotBlock(%s, %d): %v", id, index, err)
	}
	defer out.BlockData.Close()
	data, err := io.ReadAll(out.BlockData)
	if err != nil {
		t.Fatal(err)
	}
	if *out.DataLength != ebstest.BlockSize || *out.Checksum != ebstest.Checksum(data) || out.ChecksumAlgorithm != types.ChecksumAlgorithmChecksumAlgorithmSha256 {
		t.Fatalf("GetSnapshotBlock headers: length %d checksum %s (data %s) algorithm %s",
			*out.DataLength, *out.Checksum, ebstest.Checksum(data), out.ChecksumAlgorithm)
	}
	return data
}

// readAll reads every listed block of a snapshot.
func readAll(t *testing.T, c *ebs.Client, id string) map[int32][]byte {
	t.Helper()
	out := map[int32][]byte{}
	for i, tok := range listAll(t, c, id, 100) {
		out[i] = getBlock(t, c, id, i, tok)
	}
	return out
}

func sameBlocks(t *testing.T, got, want map[int32][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d blocks, want %d", len(got), len(want))
	}
	for i, w := range want {
		if !bytes.Equal(got[i], w) {
			t.Fatalf("block %d differs", i)
		}
	}
}
