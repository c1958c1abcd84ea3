package ec2api

import (
	"strconv"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/snapshot"
)

// copySnapshot serves CopySnapshot (docs/ec2-api.md §5.3). PresignedUrl
// and DestinationRegion, which botocore and the JS SDK add on their own,
// are accepted and ignored; so is CompletionDurationMinutes (ebsd copies
// are never time-based).
func (h *Handler) copySnapshot(c *call) ([]byte, error) {
	for _, name := range []string{"DestinationOutpostArn", "DestinationAvailabilityZone"} {
		if _, ok := c.form.str(name); ok {
			return nil, wireErr(fInvalidParameterValue, "The parameter %s is not supported: ebsd copies snapshots within its own region only.", name)
		}
	}
	encrypted, err := boolPtrParam(c.form, "Encrypted")
	if err != nil {
		return nil, err
	}
	tags, err := tagSpecifications(c.form)
	if err != nil {
		return nil, err
	}
	source := c.form.ptr("SourceSnapshotId")
	if c.dryRun {
		var ids []string
		if source != nil {
			ids = []string{*source}
		}
		return nil, h.dryRun(c, "SourceSnapshotId", ids)
	}
	out, err := h.svc.CopySnapshot(c.ctx, snapshot.CopyInput{
		AccountID:        c.account,
		Region:           h.region,
		SourceRegion:     c.form.ptr("SourceRegion"),
		SourceSnapshotID: source,
		Description:      c.form.ptr("Description"),
		Encrypted:        encrypted,
		KMSKeyID:         c.form.ptr("KmsKeyId"),
		Tags:             tags,
	})
	if err != nil {
		return nil, err
	}
	d := ec2Response("CopySnapshot", c.id)
	d.text("snapshotId", out.SnapshotID)
	writeTagSet(d, out.Tags)
	return d.end("CopySnapshot"), nil
}

// tagSpecifications reads TagSpecification.N: each names the resource type
// its tags go to, and a copy makes only a snapshot.
func tagSpecifications(root *node) ([]ebs.Tag, error) {
	var tags []ebs.Tag
	for i, spec := range root.list("TagSpecification") {
		rt, ok := spec.str("ResourceType")
		if !ok {
			return nil, errMissing(indexed("TagSpecification", i, "ResourceType"))
		}
		if rt != resourceTypeSnapshot {
			return nil, wireErr(fInvalidParameterValue, "'%s' is not a valid taggable resource type for this operation.", echo(rt))
		}
		t, err := tagList(spec, "TagSpecification."+strconv.Itoa(i+1)+".", "Tag")
		if err != nil {
			return nil, err
		}
		tags = append(tags, t...)
	}
	return tags, nil
}
