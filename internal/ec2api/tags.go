package ec2api

import (
	"strconv"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/snapshot"
)

// createTags serves CreateTags (docs/ec2-api.md §5.4). A tag whose Value
// is absent gets the empty value, as the model says.
func (h *Handler) createTags(c *call) ([]byte, error) {
	tags, err := tagList(c.form, "", "Tag")
	if err != nil {
		return nil, err
	}
	ids := c.form.strings("ResourceId")
	if c.dryRun {
		return nil, h.dryRun(c, "ResourceId.1", ids)
	}
	if err := h.svc.CreateTags(c.ctx, snapshot.TagsInput{AccountID: c.account, ResourceIDs: ids, Tags: tags}); err != nil {
		return nil, err
	}
	return ec2Return("CreateTags", c.id), nil
}

// deleteTags serves DeleteTags (docs/ec2-api.md §5.5): Tag.N.Key alone
// deletes the key whatever its value; with Tag.N.Value, even empty, only
// that value; no Tag.N at all deletes every tag.
func (h *Handler) deleteTags(c *call) ([]byte, error) {
	var matches []snapshot.TagMatch
	if items := c.form.list("Tag"); items != nil {
		matches = make([]snapshot.TagMatch, 0, len(items))
		for i, it := range items {
			key, ok := it.str("Key")
			if !ok {
				return nil, errMissing(indexed("Tag", i, "Key"))
			}
			matches = append(matches, snapshot.TagMatch{Key: key, Value: it.ptr("Value")})
		}
	}
	ids := c.form.strings("ResourceId")
	if c.dryRun {
		return nil, h.dryRun(c, "ResourceId.1", ids)
	}
	if err := h.svc.DeleteTags(c.ctx, snapshot.UntagInput{AccountID: c.account, ResourceIDs: ids, Tags: matches}); err != nil {
		return nil, err
	}
	return ec2Return("DeleteTags", c.id), nil
}

// tagList reads the list of tags name.N.Key / name.N.Value under n;
// prefix is how the client names n ("" for the root, else ending in '.'),
// for the messages.
func tagList(n *node, prefix, name string) ([]ebs.Tag, error) {
	items := n.list(name)
	if items == nil {
		return nil, nil
	}
	tags := make([]ebs.Tag, 0, len(items))
	for i, it := range items {
		key, ok := it.str("Key")
		if !ok {
			return nil, errMissing(prefix + indexed(name, i, "Key"))
		}
		value, _ := it.str("Value")
		tags = append(tags, ebs.Tag{Key: key, Value: value})
	}
	return tags, nil
}

// indexed names the member of the i-th (from 0) element of a list, as the
// client sent it when its indexes start at 1 and have no gaps.
func indexed(list string, i int, member string) string {
	return list + "." + strconv.Itoa(i+1) + "." + member
}

// writeTagSet writes a tagSet, or nothing when there are no tags: AWS
// leaves Tags out of a snapshot that has none.
func writeTagSet(d *xmlDoc, tags []ebs.Tag) {
	if len(tags) == 0 {
		return
	}
	d.open("tagSet")
	for _, t := range tags {
		d.open("item")
		d.text("key", t.Key)
		d.text("value", t.Value)
		d.close("item")
	}
	d.close("tagSet")
}
