package server_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"

	"github.com/ebsd/ebsd/internal/ebstest"
)

// TestErrorCatalog walks the catalog of real AWS errors (spec §5.8) through
// the official SDK: status, error type, Reason and message.
func TestErrorCatalog(t *testing.T) {
	srv := ebstest.Start(t, ebstest.Options{})
	c := srv.Client(ebstest.Alice)

	pending := startSnapshot(t, c, &ebs.StartSnapshotInput{})
	done := startSnapshot(t, c, &ebs.StartSnapshotInput{})
	block := ebstest.Payload("a")
	mustPut(t, c, done, map[int32][]byte{0: block, 1: ebstest.Payload("b")})
	complete(t, c, done, 2, "")
	other := startSnapshot(t, c, &ebs.StartSnapshotInput{})
	complete(t, c, other, 0, "")
	toks := listAll(t, c, done, 100)
	missing := "snap-0123456789abcdef0"

	put := func(edit func(*ebs.PutSnapshotBlockInput)) error {
		in := &ebs.PutSnapshotBlockInput{SnapshotId: aws.String(pending), BlockIndex: aws.Int32(5),
			BlockData: bytes.NewReader(block), DataLength: aws.Int32(ebstest.BlockSize),
			Checksum: aws.String(ebstest.Checksum(block)), ChecksumAlgorithm: types.ChecksumAlgorithmChecksumAlgorithmSha256}
		edit(in)
		_, err := c.PutSnapshotBlock(ctx, in)
		return err
	}
	completeWith := func(edit func(*ebs.CompleteSnapshotInput)) error {
		in := &ebs.CompleteSnapshotInput{SnapshotId: aws.String(pending), ChangedBlocksCount: aws.Int32(0)}
		edit(in)
		_, err := c.CompleteSnapshot(ctx, in)
		return err
	}
	get := func(id string, index int32, tok string) error {
		_, err := c.GetSnapshotBlock(ctx, &ebs.GetSnapshotBlockInput{SnapshotId: &id, BlockIndex: &index, BlockToken: &tok})
		return err
	}
	tests := []struct {
		name   string
		call   func() error
		status int
		code   string
		reason string
		msg    string
	}{
		// StartSnapshot
		{"start: pending parent", func() error {
			_, err := c.StartSnapshot(ctx, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1), ParentSnapshotId: &pending})
			return err
		}, 400, "ValidationException", "INVALID_SNAPSHOT_ID", "Source snapshot (" + pending + ") is not complete."},
		{"start: missing parent", func() error {
			_, err := c.StartSnapshot(ctx, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1), ParentSnapshotId: &missing})
			return err
		}, 404, "ResourceNotFoundException", "SNAPSHOT_NOT_FOUND", "The snapshot '" + missing + "' does not exist."},
		{"start: Encrypted false with key", func() error {
			_, err := c.StartSnapshot(ctx, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1), Encrypted: aws.Bool(false),
				KmsKeyArn: aws.String("arn:aws:kms:us-east-1:111111111111:key/k")})
			return err
		}, 400, "ValidationException", "INVALID_PARAMETER_VALUE", "Encrypt cannot be false when KmsKeyArn is specified"},
		{"start: Encrypted with parent", func() error {
			_, err := c.StartSnapshot(ctx, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1), Encrypted: aws.Bool(true), ParentSnapshotId: &done})
			return err
		}, 400, "ValidationException", "INVALID_PARAMETER_VALUE", "ParentSnapshotId and Encrypted"},
		{"start: VolumeSize missing", func() error {
			_, err := c.StartSnapshot(ctx, &ebs.StartSnapshotInput{})
			return err
		}, -1, "", "", ""}, // the Go SDK refuses this itself
		{"start: VolumeSize 0", func() error {
			_, err := c.StartSnapshot(ctx, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(0)})
			return err
		}, 400, "ValidationException", "INVALID_PARAMETER_VALUE", "Value '0' at 'volumeSize' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"start: ClientToken 256", func() error {
			_, err := c.StartSnapshot(ctx, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1), ClientToken: aws.String(strings.Repeat("t", 256))})
			return err
		}, 400, "ValidationException", "INVALID_PARAMETER_VALUE", "Member must have length less than or equal to 255"},
		{"start: Timeout 5", func() error {
			_, err := c.StartSnapshot(ctx, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1), Timeout: aws.Int32(5)})
			return err
		}, 400, "ValidationException", "INVALID_PARAMETER_VALUE", "at 'timeout'"},

		// PutSnapshotBlock
		{"put: checksum mismatch", func() error {
			return put(func(in *ebs.PutSnapshotBlockInput) { in.Checksum = aws.String(ebstest.Checksum(ebstest.Payload("x"))) })
		}, 403, "InvalidSignatureException", "", "The value passed in as x-amz-Checksum does not match the computed checksum. Computed checksum: " + ebstest.Checksum(block)},
		{"put: short body", func() error {
			return put(func(in *ebs.PutSnapshotBlockInput) { in.BlockData = bytes.NewReader(block[:1000]) })
		}, 400, "ValidationException", "INVALID_PARAMETER_VALUE", "Failed to read block data"},
		{"put: data length 1", func() error {
			return put(func(in *ebs.PutSnapshotBlockInput) { in.DataLength = aws.Int32(1) })
		}, 400, "ValidationException", "INVALID_BLOCK", "Block data length 1 is not valid, expected 524288"},
		{"put: beyond volume", func() error {
			return put(func(in *ebs.PutSnapshotBlockInput) { in.BlockIndex = aws.Int32(2048) })
		}, 400, "ValidationException", "INVALID_BLOCK", "Block index 2048 is beyond the volume size extent"},
		{"put: SHA1", func() error {
			return put(func(in *ebs.PutSnapshotBlockInput) { in.ChecksumAlgorithm = "SHA1" })
		}, 400, "ValidationException", "INVALID_PARAMETER_VALUE", "Unsupported Checksum Algorithm 'SHA1', supported algorithms are SHA256"},
		{"put: checksum not Base64", func() error {
			return put(func(in *ebs.PutSnapshotBlockInput) { in.Checksum = aws.String("a!b") })
		}, 400, "ValidationException", "INVALID_PARAMETER_VALUE", "at 'checksum' failed to satisfy constraint: Member must satisfy regular expression pattern"},
		{"put: progress 101", func() error {
			return put(func(in *ebs.PutSnapshotBlockInput) { in.Progress = aws.Int32(101) })
		}, 400, "ValidationException", "INVALID_PARAMETER_VALUE", "at 'progress'"},
		{"put: progress -1", func() error {
			return put(func(in *ebs.PutSnapshotBlockInput) { in.Progress = aws.Int32(-1) })
		}, 400, "ValidationException", "INVALID_PARAMETER_VALUE", "at 'progress'"},
		{"put: completed", func() error {
			return put(func(in *ebs.PutSnapshotBlockInput) { in.SnapshotId = &done })
		}, 400, "ValidationException", "INVALID_SNAPSHOT_ID", "Snapshot is already completed"},
		{"put: unknown snapshot", func() error {
			return put(func(in *ebs.PutSnapshotBlockInput) { in.SnapshotId = &missing })
		}, 404, "ResourceNotFoundException", "SNAPSHOT_NOT_FOUND", "The snapshot '" + missing + "' does not exist."},

		// CompleteSnapshot
		{"complete: only checksum", func() error {
			return completeWith(func(in *ebs.CompleteSnapshotInput) { in.Checksum = aws.String("abc=") })
		}, 400, "ValidationException", "INVALID_PARAMETER_VALUE", "Invalid parameter combination. Checksum algorithm is missing."},
		{"complete: only algorithm", func() error {
			return completeWith(func(in *ebs.CompleteSnapshotInput) { in.ChecksumAlgorithm = "SHA256" })
		}, 400, "ValidationException", "INVALID_PARAMETER_VALUE", "Invalid parameter combination. Snapshot checksum is missing."},
		{"complete: only method", func() error {
			return completeWith(func(in *ebs.CompleteSnapshotInput) { in.ChecksumAggregationMethod = "LINEAR" })
		}, 400, "ValidationException", "INVALID_PARAMETER_VALUE", "Invalid parameter combination. Snapshot checksum is missing."},
		{"complete: TREE", func() error {
			return completeWith(func(in *ebs.CompleteSnapshotInput) {
				in.Checksum, in.ChecksumAlgorithm, in.ChecksumAggregationMethod = aws.String("abc="), "SHA256", "TREE"
			})
		}, 400, "ValidationException", "INVALID_PARAMETER_VALUE", "Member must satisfy enum value set: [LINEAR]"},
		{"complete: SHA1", func() error {
			return completeWith(func(in *ebs.CompleteSnapshotInput) {
				in.Checksum, in.ChecksumAlgorithm, in.ChecksumAggregationMethod = aws.String("abc="), "SHA1", "LINEAR"
			})
		}, 400, "ValidationException", "INVALID_PARAMETER_VALUE", "Member must satisfy enum value set: [SHA256]"},
		{"complete: count -1", func() error {
			return completeWith(func(in *ebs.CompleteSnapshotInput) { in.ChangedBlocksCount = aws.Int32(-1) })
		}, 400, "ValidationException", "INVALID_PARAMETER_VALUE", "at 'changedBlocksCount'"},
		{"complete: unknown", func() error {
			return completeWith(func(in *ebs.CompleteSnapshotInput) { in.SnapshotId = &missing })
		}, 404, "ResourceNotFoundException", "SNAPSHOT_NOT_FOUND", "does not exist"},

		// Reads
		{"get: pending snapshot", func() error { return get(pending, 0, toks[0]) }, 404, "ResourceNotFoundException", "SNAPSHOT_NOT_FOUND", "The snapshot '" + pending + "' does not exist."},
		{"list: pending snapshot", func() error {
			_, err := c.ListSnapshotBlocks(ctx, &ebs.ListSnapshotBlocksInput{SnapshotId: &pending})
			return err
		}, 404, "ResourceNotFoundException", "SNAPSHOT_NOT_FOUND", "does not exist"},
		{"get: garbage token", func() error { return get(done, 0, "AAUBAcuWqOCnDNuKle11s7IIX6jp6FYcC") }, 400, "ValidationException", "INVALID_BLOCK_TOKEN", "The block token AAUBAcuWqOCnDNuKle11s7IIX6jp6FYcC is invalid."},
		{"get: token of another index", func() error { return get(done, 1, toks[0]) }, 400, "ValidationException", "INVALID_BLOCK_TOKEN", "is invalid"},
		{"get: unwritten block", func() error { return get(done, 7, toks[0]) }, 400, "ValidationException", "INVALID_BLOCK_TOKEN", "is invalid"},
		{"get: beyond volume", func() error { return get(done, 5000, toks[0]) }, 400, "ValidationException", "INVALID_BLOCK_TOKEN", "is invalid"},
		{"get: token of another snapshot", func() error { return get(other, 0, toks[0]) }, 400, "ValidationException", "INVALID_BLOCK_TOKEN", "is invalid"},
		{"get: empty token", func() error { return get(done, 0, "") }, -1, "", "", ""}, // the Go SDK refuses an empty required member
		{"list: bad page token", func() error {
			_, err := c.ListSnapshotBlocks(ctx, &ebs.ListSnapshotBlocksInput{SnapshotId: &done, NextToken: aws.String("bogus")})
			return err
		}, 400, "ValidationException", "INVALID_PAGE_TOKEN", "The pagination token bogus is invalid."},
		{"list: block token as page token", func() error {
			_, err := c.ListSnapshotBlocks(ctx, &ebs.ListSnapshotBlocksInput{SnapshotId: &done, NextToken: aws.String(toks[0])})
			return err
		}, 400, "ValidationException", "INVALID_PAGE_TOKEN", "is invalid"},
		{"list: maxResults 50", func() error {
			_, err := c.ListSnapshotBlocks(ctx, &ebs.ListSnapshotBlocksInput{SnapshotId: &done, MaxResults: aws.Int32(50)})
			return err
		}, 400, "ValidationException", "INVALID_PARAMETER_VALUE", "1 validation error detected: Value '50' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 100"},
		{"list: maxResults 20000", func() error {
			_, err := c.ListSnapshotBlocks(ctx, &ebs.ListSnapshotBlocksInput{SnapshotId: &done, MaxResults: aws.Int32(20000)})
			return err
		}, 400, "ValidationException", "INVALID_PARAMETER_VALUE", "Member must have value less than or equal to 10000"},
		{"list: startingBlockIndex -1", func() error {
			_, err := c.ListSnapshotBlocks(ctx, &ebs.ListSnapshotBlocksInput{SnapshotId: &done, StartingBlockIndex: aws.Int32(-1)})
			return err
		}, 400, "ValidationException", "INVALID_PARAMETER_VALUE", "at 'startingBlockIndex'"},
		{"changed: no first snapshot", func() error {
			_, err := c.ListChangedBlocks(ctx, &ebs.ListChangedBlocksInput{SecondSnapshotId: &done})
			return err
		}, 400, "ValidationException", "INVALID_SNAPSHOT_ID", "First snapshot should not be empty or null"},
		{"changed: unrelated", func() error {
			_, err := c.ListChangedBlocks(ctx, &ebs.ListChangedBlocksInput{FirstSnapshotId: &other, SecondSnapshotId: &done})
			return err
		}, 400, "ValidationException", "UNRELATED_SNAPSHOTS", other + " and " + done + " are not related"},
		{"changed: page token of ListSnapshotBlocks", func() error {
			p, err := c.ListSnapshotBlocks(ctx, &ebs.ListSnapshotBlocksInput{SnapshotId: &done, MaxResults: aws.Int32(100)})
			if err != nil {
				return err
			}
			_ = p
			_, err = c.ListChangedBlocks(ctx, &ebs.ListChangedBlocksInput{FirstSnapshotId: &done, SecondSnapshotId: &done, NextToken: aws.String(toks[1])})
			return err
		}, 400, "ValidationException", "INVALID_PAGE_TOKEN", "is invalid"},
		{"bad snapshot id", func() error {
			_, err := c.ListSnapshotBlocks(ctx, &ebs.ListSnapshotBlocksInput{SnapshotId: aws.String("vol-123")})
			return err
		}, 400, "ValidationException", "INVALID_PARAMETER_VALUE", "Member must satisfy regular expression pattern: ^snap-[0-9a-f]+$"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if tc.status < 0 {
				if err == nil {
					t.Fatal("expected the SDK to refuse the request")
				}
				return
			}
			checkError(t, err, tc.status, tc.code, tc.reason, tc.msg)
		})
	}
	// None of the failed puts wrote anything.
	if got := complete(t, c, pending, 0, ""); got != types.StatusCompleted {
		t.Fatalf("pending snapshot: %s, want completed with 0 blocks", got)
	}
}

func TestOtherAccountsSeeNothing(t *testing.T) {
	srv := ebstest.Start(t, ebstest.Options{})
	alice, bob := srv.Client(ebstest.Alice), srv.Client(ebstest.Bob)
	id := startSnapshot(t, alice, &ebs.StartSnapshotInput{})
	mustPut(t, alice, id, map[int32][]byte{0: ebstest.Payload("a")})
	complete(t, alice, id, 1, "")
	toks := listAll(t, alice, id, 100)

	for name, call := range map[string]func() error{
		"put": func() error { return putBlock(bob, id, 1, ebstest.Payload("b")) },
		"complete": func() error {
			_, err := bob.CompleteSnapshot(ctx, &ebs.CompleteSnapshotInput{SnapshotId: &id, ChangedBlocksCount: aws.Int32(0)})
			return err
		},
		"list": func() error {
			_, err := bob.ListSnapshotBlocks(ctx, &ebs.ListSnapshotBlocksInput{SnapshotId: &id})
			return err
		},
		"get": func() error {
			_, err := bob.GetSnapshotBlock(ctx, &ebs.GetSnapshotBlockInput{SnapshotId: &id, BlockIndex: aws.Int32(0), BlockToken: aws.String(toks[0])})
			return err
		},
		"parent": func() error {
			_, err := bob.StartSnapshot(ctx, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1), ParentSnapshotId: &id})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			checkError(t, call(), 404, "ResourceNotFoundException", "SNAPSHOT_NOT_FOUND", "does not exist")
		})
	}
}
