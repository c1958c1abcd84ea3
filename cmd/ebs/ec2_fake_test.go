package main

import (
	"bytes"
	"context"
	"strconv"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/ebsd/ebsd/internal/client"
)

// fakeEC2 is an injected EC2 API: it records every request and answers
// from its fields. DescribeSnapshots serves snapshots in pages of
// pageSize (NextToken is the offset) and ignores filters: the tests check
// what was asked, not EC2's matching.
type fakeEC2 struct {
	mu        sync.Mutex
	snapshots []types.Snapshot
	pageSize  int
	// describe, when set, answers DescribeSnapshots instead (n counts
	// the calls from 1).
	describe func(n int, in *ec2.DescribeSnapshotsInput) (*ec2.DescribeSnapshotsOutput, error)
	// deleteErr gives the error of DeleteSnapshot per ID.
	deleteErr map[string]error
	// honourDryRun makes DeleteSnapshot answer DryRunOperation to DryRun.
	honourDryRun bool
	tagErr       error
	copyID       string

	describes []*ec2.DescribeSnapshotsInput
	deletes   []*ec2.DeleteSnapshotInput
	creates   []*ec2.CreateTagsInput
	untags    []*ec2.DeleteTagsInput
	copies    []*ec2.CopySnapshotInput
}

var _ client.EC2API = (*fakeEC2)(nil)

func (f *fakeEC2) Options() ec2.Options { return ec2.Options{Region: "eu-west-3"} }

func (f *fakeEC2) DescribeSnapshots(_ context.Context, in *ec2.DescribeSnapshotsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSnapshotsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := *in
	f.describes = append(f.describes, &c)
	if f.describe != nil {
		return f.describe(len(f.describes), in)
	}
	start, _ := strconv.Atoi(aws.ToString(in.NextToken))
	end := len(f.snapshots)
	if f.pageSize > 0 {
		end = min(end, start+f.pageSize)
	}
	out := &ec2.DescribeSnapshotsOutput{Snapshots: f.snapshots[start:end]}
	if end < len(f.snapshots) {
		out.NextToken = aws.String(strconv.Itoa(end))
	}
	return out, nil
}

func (f *fakeEC2) DeleteSnapshot(_ context.Context, in *ec2.DeleteSnapshotInput, _ ...func(*ec2.Options)) (*ec2.DeleteSnapshotOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deletes = append(f.deletes, in)
	if err := f.deleteErr[aws.ToString(in.SnapshotId)]; err != nil {
		return nil, err
	}
	if f.honourDryRun && aws.ToBool(in.DryRun) {
		return nil, ec2Error("DeleteSnapshot", "DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
	}
	return &ec2.DeleteSnapshotOutput{}, nil
}

func (f *fakeEC2) CreateTags(_ context.Context, in *ec2.CreateTagsInput, _ ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.creates = append(f.creates, in)
	return &ec2.CreateTagsOutput{}, f.tagErr
}

func (f *fakeEC2) DeleteTags(_ context.Context, in *ec2.DeleteTagsInput, _ ...func(*ec2.Options)) (*ec2.DeleteTagsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.untags = append(f.untags, in)
	return &ec2.DeleteTagsOutput{}, f.tagErr
}

func (f *fakeEC2) CopySnapshot(_ context.Context, in *ec2.CopySnapshotInput, _ ...func(*ec2.Options)) (*ec2.CopySnapshotOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.copies = append(f.copies, in)
	return &ec2.CopySnapshotOutput{SnapshotId: aws.String(f.copyID)}, nil
}

// ec2Error is an EC2 API error as the SDK returns it.
func ec2Error(op, code, msg string) error {
	return &smithy.OperationError{ServiceID: "EC2", OperationName: op, Err: &smithy.GenericAPIError{Code: code, Message: msg}}
}

// runEC2 runs one ebs command line against api and returns the exit
// code, stdout and stderr.
func runEC2(api client.EC2API, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errb,
		NewEC2API: func(context.Context, *Globals) (client.EC2API, error) { return api, nil },
		NewAPI: func(context.Context, *Globals) (apiClient, error) {
			panic("an EC2 command built an EBS client")
		},
	}
	code := m.Run(context.Background(), args)
	return code, out.String(), errb.String()
}

// Short names for fakeEC2.describe's signature.
type (
	ec2DescribeIn  = ec2.DescribeSnapshotsInput
	ec2DescribeOut = ec2.DescribeSnapshotsOutput
)
