package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Tag adds tags to snapshot id, overwriting the values of keys it already
// has (CreateTags).
func (s *Snapshots) Tag(ctx context.Context, id string, tags []types.Tag) error {
	if len(tags) == 0 {
		return errors.New("CreateTags: no tags given")
	}
	if _, err := s.api.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: tags}); err != nil {
		return &SnapshotError{Op: "CreateTags", ID: id, Err: err}
	}
	return nil
}

// Untag deletes tags of snapshot id (DeleteTags): a tag with a nil Value
// deletes the key whatever its value, one with a Value only if the value
// is that (an empty one: only if it is empty).
func (s *Snapshots) Untag(ctx context.Context, id string, tags []types.Tag) error {
	if len(tags) == 0 {
		// DeleteTags without tags deletes every tag of the snapshot: never
		// by accident.
		return errors.New("DeleteTags: no tags given")
	}
	if _, err := s.api.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{id}, Tags: tags}); err != nil {
		return &SnapshotError{Op: "DeleteTags", ID: id, Err: err}
	}
	return nil
}

// Tags returns the tags of snapshot id (DescribeSnapshots).
func (s *Snapshots) Tags(ctx context.Context, id string) (map[string]string, error) {
	out, err := s.api.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{id}})
	if err != nil {
		return nil, &SnapshotError{Op: "DescribeSnapshots", ID: id, Err: err}
	}
	for _, sn := range out.Snapshots {
		if aws.ToString(sn.SnapshotId) == id {
			return tagMap(sn.Tags), nil
		}
	}
	return nil, fmt.Errorf("DescribeSnapshots %s: the service did not return the snapshot", id)
}
