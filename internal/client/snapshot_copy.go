package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// CopyInput says what CopySnapshot makes of a snapshot.
type CopyInput struct {
	SourceID    string
	Description string // the copy's; a copy never inherits its source's
	// Encrypted encrypts the copy (of an unencrypted source) under
	// KMSKeyID, or the account's default key when that is "". A copy of
	// an encrypted snapshot is always encrypted.
	Encrypted bool
	KMSKeyID  string
	Tags      []types.Tag // the copy's only tags: the source's are not copied
}

// Copy copies a snapshot within its region (CopySnapshot) and returns the
// new snapshot's ID. The copy starts pending; WaitCompleted waits for it.
func (s *Snapshots) Copy(ctx context.Context, in CopyInput) (string, error) {
	if in.KMSKeyID != "" && !in.Encrypted {
		return "", errors.New("CopySnapshot: a KMS key needs Encrypted")
	}
	req := &ec2.CopySnapshotInput{
		SourceSnapshotId: aws.String(in.SourceID),
		// A copy stays in the region of the client, which is the source's.
		SourceRegion: aws.String(s.api.Options().Region),
	}
	if in.Description != "" {
		req.Description = aws.String(in.Description)
	}
	if in.Encrypted {
		req.Encrypted = aws.Bool(true)
	}
	if in.KMSKeyID != "" {
		req.KmsKeyId = aws.String(in.KMSKeyID)
	}
	if len(in.Tags) > 0 {
		req.TagSpecifications = []types.TagSpecification{{ResourceType: types.ResourceTypeSnapshot, Tags: in.Tags}}
	}
	out, err := s.api.CopySnapshot(ctx, req)
	if err != nil {
		return "", &SnapshotError{Op: "CopySnapshot", ID: in.SourceID, Err: err}
	}
	id := aws.ToString(out.SnapshotId)
	if id == "" {
		return "", fmt.Errorf("CopySnapshot %s: the service returned no snapshot ID", in.SourceID)
	}
	return id, nil
}

// WaitCompleted waits, for at most timeout, until snapshot id is
// completed, with the SDK's SnapshotCompleted waiter (DescribeSnapshots,
// failing at once if the snapshot goes to error), polling every
// minDelay at first and backing off to 15 s.
func (s *Snapshots) WaitCompleted(ctx context.Context, id string, timeout, minDelay time.Duration) error {
	w := ec2.NewSnapshotCompletedWaiter(s.api, func(o *ec2.SnapshotCompletedWaiterOptions) {
		o.MinDelay = minDelay
		o.MaxDelay = max(minDelay, 15*time.Second)
	})
	err := w.Wait(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{id}}, timeout)
	if err == nil || ctx.Err() != nil {
		return err
	}
	// The waiter says only "transitioned to Failure" or "exceeded max
	// wait time": the snapshot's state and message say why.
	out, derr := s.api.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{id}})
	if derr == nil && len(out.Snapshots) == 1 {
		sn := out.Snapshots[0]
		state := fmt.Sprintf("%s, %s", sn.State, aws.ToString(sn.Progress))
		if msg := aws.ToString(sn.StateMessage); msg != "" {
			state += ": " + msg
		}
		return fmt.Errorf("wait for %s to complete: it is %s: %w", id, state, err)
	}
	return fmt.Errorf("wait for %s to complete: %w", id, err)
}
