package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"
)

// Delete deletes snapshot id (DeleteSnapshot). With dryRun the service
// only checks that it would: it answers DryRunOperation, which is the
// success of a dry run, and Delete returns nil.
func (s *Snapshots) Delete(ctx context.Context, id string, dryRun bool) error {
	in := &ec2.DeleteSnapshotInput{SnapshotId: aws.String(id)}
	if dryRun {
		in.DryRun = aws.Bool(true)
	}
	_, err := s.api.DeleteSnapshot(ctx, in)
	if dryRun && IsDryRunOK(err) {
		return nil
	}
	if err != nil {
		return &SnapshotError{Op: "DeleteSnapshot", ID: id, Err: err}
	}
	if dryRun {
		// A service that ignores DryRun has just deleted the snapshot:
		// say so rather than report a dry run.
		return fmt.Errorf("DeleteSnapshot %s: the service ignored DryRun and deleted the snapshot", id)
	}
	return nil
}

// IsDryRunOK reports whether err is EC2's answer to a DryRun request that
// would have succeeded.
func IsDryRunOK(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "DryRunOperation"
}
