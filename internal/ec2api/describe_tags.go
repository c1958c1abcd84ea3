package ec2api

import "github.com/ebsd/ebsd/internal/snapshot"

// describeTags serves DescribeTags for snapshots (docs/ec2-api.md §5.6).
func (h *Handler) describeTags(c *call) ([]byte, error) {
	filters, err := parseFilters(c.form)
	if err != nil {
		return nil, err
	}
	match, sel, err := tagMatch(filters)
	if err != nil {
		return nil, err
	}
	maxResults, err := int64Param(c.form, "MaxResults")
	if err != nil {
		return nil, err
	}
	out, err := h.svc.DescribeTags(c.ctx, snapshot.DescribeTagsInput{
		AccountID:  c.account,
		Match:      match,
		Selection:  sel,
		MaxResults: maxResults,
		NextToken:  c.form.ptr("NextToken"),
	})
	if err != nil {
		return nil, err
	}
	if c.dryRun {
		return nil, errDryRun()
	}
	d := ec2Response("DescribeTags", c.id)
	d.open("tagSet")
	for _, t := range out.Tags {
		d.open("item")
		d.text("resourceId", t.ResourceID)
		d.text("resourceType", resourceTypeSnapshot)
		d.text("key", t.Key)
		d.text("value", t.Value)
		d.close("item")
	}
	d.close("tagSet")
	d.textIf("nextToken", out.NextToken)
	return d.end("DescribeTags"), nil
}
