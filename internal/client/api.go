package client

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/ebs"
)

// API is the part of the official EBS client that Client uses.
// *ebs.Client implements it.
type API interface {
	StartSnapshot(ctx context.Context, in *ebs.StartSnapshotInput, optFns ...func(*ebs.Options)) (*ebs.StartSnapshotOutput, error)
	PutSnapshotBlock(ctx context.Context, in *ebs.PutSnapshotBlockInput, optFns ...func(*ebs.Options)) (*ebs.PutSnapshotBlockOutput, error)
	CompleteSnapshot(ctx context.Context, in *ebs.CompleteSnapshotInput, optFns ...func(*ebs.Options)) (*ebs.CompleteSnapshotOutput, error)
	GetSnapshotBlock(ctx context.Context, in *ebs.GetSnapshotBlockInput, optFns ...func(*ebs.Options)) (*ebs.GetSnapshotBlockOutput, error)
	ListSnapshotBlocks(ctx context.Context, in *ebs.ListSnapshotBlocksInput, optFns ...func(*ebs.Options)) (*ebs.ListSnapshotBlocksOutput, error)
	ListChangedBlocks(ctx context.Context, in *ebs.ListChangedBlocksInput, optFns ...func(*ebs.Options)) (*ebs.ListChangedBlocksOutput, error)
}

var _ API = (*ebs.Client)(nil)
