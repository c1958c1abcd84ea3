package ec2api

import (
	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/snapshot"
)

// What AWS shows of every EBS-direct snapshot and copy, and ebsd has no
// other kind (docs/ec2-api.md §5.1.3).
const (
	storageTier          = "standard"
	transferType         = "standard"
	resourceTypeSnapshot = "snapshot"
)

// describeSnapshots serves DescribeSnapshots (docs/ec2-api.md §5.1).
func (h *Handler) describeSnapshots(c *call) ([]byte, error) {
	filters, err := parseFilters(c.form)
	if err != nil {
		return nil, err
	}
	match, sel, err := snapshotMatch(filters, c.form.strings("Owner"), c.form.strings("RestorableBy"), c.account)
	if err != nil {
		return nil, err
	}
	maxResults, err := int64Param(c.form, "MaxResults")
	if err != nil {
		return nil, err
	}
	out, err := h.svc.DescribeSnapshots(c.ctx, snapshot.DescribeInput{
		AccountID:   c.account,
		SnapshotIDs: c.form.strings("SnapshotId"),
		Match:       match,
		Selection:   sel,
		MaxResults:  maxResults,
		NextToken:   c.form.ptr("NextToken"),
	})
	if err != nil {
		return nil, err
	}
	if c.dryRun {
		return nil, errDryRun()
	}
	d := ec2Response("DescribeSnapshots", c.id)
	d.open("snapshotSet")
	for i := range out.Snapshots {
		writeSnapshot(d, &out.Snapshots[i])
	}
	d.close("snapshotSet")
	d.textIf("nextToken", out.NextToken)
	return d.end("DescribeSnapshots"), nil
}

// writeSnapshot writes one item of a snapshotSet with the model's element
// names: State is <status>, StateMessage <statusMessage>. Description is
// always written, empty or not, as AWS does: scripts read it without a
// default. Elements with nothing to say are left out, never empty.
func writeSnapshot(d *xmlDoc, s *snapshot.SnapshotInfo) {
	d.open("item")
	d.text("snapshotId", s.SnapshotID)
	d.text("volumeId", s.VolumeID)
	d.text("status", string(s.Status))
	d.textIf("statusMessage", s.StatusMsg)
	d.time("startTime", s.StartTime)
	d.textIf("progress", s.Progress)
	d.text("ownerId", s.OwnerID)
	d.int("volumeSize", s.VolumeSize)
	d.text("description", s.Description)
	d.bool("encrypted", s.Encrypted)
	if s.Encrypted {
		d.textIf("kmsKeyId", s.KMSKeyARN)
	}
	writeTagSet(d, s.Tags)
	d.text("storageTier", storageTier)
	d.text("transferType", transferType)
	if !s.CompleteTime.IsZero() {
		d.time("completionTime", s.CompleteTime)
	}
	if s.Status == ebs.StatusCompleted {
		d.int("fullSnapshotSizeInBytes", s.FullSizeBytes)
	}
	d.close("item")
}
