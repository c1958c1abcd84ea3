package client

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// EC2API is the part of the official EC2 client that snapshot management
// uses: the EBS direct APIs can neither find, delete, tag nor copy a
// snapshot, nor read its tags back. *ec2.Client implements it.
type EC2API interface {
	DescribeSnapshots(ctx context.Context, in *ec2.DescribeSnapshotsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeSnapshotsOutput, error)
	DeleteSnapshot(ctx context.Context, in *ec2.DeleteSnapshotInput, optFns ...func(*ec2.Options)) (*ec2.DeleteSnapshotOutput, error)
	CopySnapshot(ctx context.Context, in *ec2.CopySnapshotInput, optFns ...func(*ec2.Options)) (*ec2.CopySnapshotOutput, error)
	CreateTags(ctx context.Context, in *ec2.CreateTagsInput, optFns ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error)
	DeleteTags(ctx context.Context, in *ec2.DeleteTagsInput, optFns ...func(*ec2.Options)) (*ec2.DeleteTagsOutput, error)
	// Options gives the client's region, which CopySnapshot names as the
	// source region (a copy stays in its region).
	Options() ec2.Options
}

var _ EC2API = (*ec2.Client)(nil)

// NewEC2SDK returns an official EC2 client configured as NewSDK's EBS
// client is (credentials, region, profile, CA bundle), at the same
// endpoint when one is given: ebsd serves both APIs on one listener.
//
// Unlike the EBS client it keeps the SDK's standard retries (three
// attempts with backoff on throttling, 5xx and dropped connections): its
// calls are few and there is no retry loop of ours around them. Hopeless
// connection failures (an untrusted certificate, https to plain http, an
// unknown host) are not retried, so they fail at once with a hint.
func NewEC2SDK(ctx context.Context, o SDKOptions) (*ec2.Client, error) {
	cfg, err := loadConfig(ctx, o, awshttp.NewBuildableClient())
	if err != nil {
		return nil, err
	}
	return ec2.NewFromConfig(cfg, func(eo *ec2.Options) {
		if o.Endpoint != "" {
			eo.BaseEndpoint = aws.String(o.Endpoint)
		}
		eo.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
				if Hopeless(err) {
					return aws.FalseTernary
				}
				return aws.UnknownTernary
			})}, so.Retryables...)
		})
	}), nil
}
