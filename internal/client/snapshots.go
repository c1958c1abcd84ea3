package client

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Snapshots finds, tags, copies and deletes snapshots through the EC2
// API, which ebsd serves on the same listener as the EBS direct APIs.
type Snapshots struct {
	api EC2API
}

// NewSnapshots returns snapshot management over api.
func NewSnapshots(api EC2API) *Snapshots { return &Snapshots{api: api} }

// Snapshot is one snapshot as DescribeSnapshots reports it, in the shape
// ebs snapshots --json prints: every key is always present, so that
// scripts need not guess which ones a snapshot omits.
type Snapshot struct {
	SnapshotID     string     `json:"snapshot_id"`
	Status         string     `json:"status"` // pending, completed, error (EC2's State)
	StatusMessage  string     `json:"status_message"`
	Progress       string     `json:"progress"` // "0%" .. "100%"
	VolumeSize     int32      `json:"volume_size_gib"`
	StartTime      time.Time  `json:"start_time"`
	CompletionTime *time.Time `json:"completion_time"` // null until completed
	Description    string     `json:"description"`
	Encrypted      bool       `json:"encrypted"`
	KMSKeyID       string     `json:"kms_key_id"`
	OwnerID        string     `json:"owner_id"`
	VolumeID       string     `json:"volume_id"`
	// FullSizeBytes is the data the snapshot holds (written blocks, own
	// and inherited), known once it is completed; 0 before.
	FullSizeBytes int64             `json:"full_snapshot_size_bytes"`
	Tags          map[string]string `json:"tags"`
}

// SnapshotFilter is one DescribeSnapshots filter: a snapshot matches when
// its field Name matches any of Values (EC2 wildcards * and ?); several
// filters must all match.
type SnapshotFilter struct {
	Name   string
	Values []string
}

// SnapshotQuery selects snapshots for List.
type SnapshotQuery struct {
	// IDs names snapshots; none means every snapshot of the caller's.
	IDs     []string
	Filters []SnapshotFilter
}

// listPageSize is the page size of a listing without IDs: the most
// DescribeSnapshots gives, as the AWS CLI asks for.
const listPageSize = 1000

// List returns the caller's own snapshots that q selects (OwnerIds=self:
// on AWS the default also lists every public snapshot), following every
// page, sorted by start time, then ID.
func (s *Snapshots) List(ctx context.Context, q SnapshotQuery) ([]Snapshot, error) {
	in := &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}, SnapshotIds: q.IDs}
	for _, f := range q.Filters {
		in.Filters = append(in.Filters, types.Filter{Name: aws.String(f.Name), Values: f.Values})
	}
	var limit int32
	if len(q.IDs) == 0 {
		// AWS refuses MaxResults together with SnapshotIds
		// (InvalidParameterCombination); named IDs fit one answer anyway.
		limit = listPageSize
	}
	var out []Snapshot
	p := ec2.NewDescribeSnapshotsPaginator(s.api, in, func(o *ec2.DescribeSnapshotsPaginatorOptions) { o.Limit = limit })
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("DescribeSnapshots: %w", err)
		}
		for _, sn := range page.Snapshots {
			out = append(out, snapshotOf(sn))
		}
	}
	slices.SortStableFunc(out, func(a, b Snapshot) int {
		if c := a.StartTime.Compare(b.StartTime); c != 0 {
			return c
		}
		return cmp.Compare(a.SnapshotID, b.SnapshotID)
	})
	return out, nil
}

// snapshotOf converts the SDK's snapshot, with its pointers, into ours.
func snapshotOf(s types.Snapshot) Snapshot {
	out := Snapshot{
		SnapshotID:    aws.ToString(s.SnapshotId),
		Status:        string(s.State),
		StatusMessage: aws.ToString(s.StateMessage),
		Progress:      aws.ToString(s.Progress),
		VolumeSize:    aws.ToInt32(s.VolumeSize),
		StartTime:     aws.ToTime(s.StartTime).UTC(),
		Description:   aws.ToString(s.Description),
		Encrypted:     aws.ToBool(s.Encrypted),
		KMSKeyID:      aws.ToString(s.KmsKeyId),
		OwnerID:       aws.ToString(s.OwnerId),
		VolumeID:      aws.ToString(s.VolumeId),
		FullSizeBytes: aws.ToInt64(s.FullSnapshotSizeInBytes),
		Tags:          tagMap(s.Tags),
	}
	if s.CompletionTime != nil {
		t := s.CompletionTime.UTC()
		out.CompletionTime = &t
	}
	return out
}

// tagMap turns a tag list into a map (keys are unique per resource),
// never nil, so that JSON shows {} rather than null.
func tagMap(tags []types.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}
