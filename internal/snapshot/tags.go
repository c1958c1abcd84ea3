package snapshot

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
)

const (
	opCreateTags = "CreateTags"
	opDeleteTags = "DeleteTags"
)

// maxTagResources is how many resources one CreateTags or DeleteTags may
// name, and maxTagChanges how many tags DeleteTags may name.
const (
	maxTagResources = 1000
	maxTagChanges   = 1000
)

// errTagLimit aborts a CreateTags that would leave a snapshot with more
// than ebs.MaxTags tags.
var errTagLimit = errors.New("tag limit exceeded")

// CreateTags adds tags to snapshots, overwriting the value of a key a
// snapshot already has (docs/ec2-api.md §5.4). Every resource is checked
// before any is changed, so a bad ID changes nothing.
func (s *Service) CreateTags(ctx context.Context, in TagsInput) error {
	if len(in.ResourceIDs) == 0 {
		return missing(opCreateTags, "ResourceId")
	}
	if len(in.Tags) == 0 {
		return missing(opCreateTags, "Tag")
	}
	if err := checkEC2Tags(opCreateTags, in.Tags); err != nil {
		return err
	}
	ids, err := s.tagResources(ctx, opCreateTags, in.AccountID, in.ResourceIDs)
	if err != nil {
		return err
	}
	for _, id := range ids {
		_, err := s.meta.UpdateSnapshot(ctx, id, func(rec *store.Snapshot) error {
			if rec.State == store.StateDeleted {
				return errDeleted
			}
			tags := mergeTags(rec.Tags, in.Tags)
			if len(tags) > ebs.MaxTags {
				return errTagLimit
			}
			rec.Tags = tags
			return nil
		})
		if err := tagUpdateError(opCreateTags, id, err); err != nil {
			return err
		}
	}
	return nil
}

// DeleteTags deletes tags of snapshots (docs/ec2-api.md §5.5): a key alone
// deletes that key whatever its value, a key with a value ("" included)
// only with exactly that value, and no tags at all deletes every tag.
func (s *Service) DeleteTags(ctx context.Context, in UntagInput) error {
	if len(in.ResourceIDs) == 0 {
		return missing(opDeleteTags, "ResourceId")
	}
	if len(in.Tags) > maxTagChanges {
		return ebs.E(opDeleteTags, ebs.KindInvalid, ebs.ReasonInvalidParameterValue,
			"The request names %d tags; DeleteTags accepts at most %d.", len(in.Tags), maxTagChanges)
	}
	ids, err := s.tagResources(ctx, opDeleteTags, in.AccountID, in.ResourceIDs)
	if err != nil {
		return err
	}
	for _, id := range ids {
		_, err := s.meta.UpdateSnapshot(ctx, id, func(rec *store.Snapshot) error {
			if rec.State == store.StateDeleted {
				return errDeleted
			}
			rec.Tags = removeTags(rec.Tags, in.Tags)
			return nil
		})
		if err := tagUpdateError(opDeleteTags, id, err); err != nil {
			return err
		}
	}
	return nil
}

// tagResources checks the resource IDs of a tagging request, all before
// any change: each must be one of the caller's snapshots. It returns them
// sorted, without duplicates.
func (s *Service) tagResources(ctx context.Context, op, account string, resources []string) ([]string, error) {
	if len(resources) > maxTagResources {
		return nil, ebs.E(op, ebs.KindInvalid, ebs.ReasonInvalidParameterValue,
			"The request names %d resources; at most %d are allowed.", len(resources), maxTagResources)
	}
	ids := slices.Clone(resources)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for _, id := range ids {
		if !strings.HasPrefix(id, "snap-") {
			// ebsd holds snapshots only; AWS's answer for an ID of no
			// known resource type.
			return nil, ebs.E(op, ebs.KindInvalid, ebs.ReasonInvalidResourceID, "The ID '%s' is not valid", id)
		}
		if err := checkEC2SnapshotID(op, "resourceId", id); err != nil {
			return nil, err
		}
	}
	for _, id := range ids {
		if _, err := s.visible(ctx, op, account, id); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// tagUpdateError maps the error of a tag update of snapshot id.
func tagUpdateError(op, id string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errDeleted), errors.Is(err, store.ErrNotFound):
		return ebs.SnapshotNotFound(op, id)
	case errors.Is(err, errTagLimit):
		return ebs.E(op, ebs.KindInvalid, ebs.ReasonTagLimitExceeded,
			"The maximum number of tags for a resource (%d) has been exceeded: snapshot %s would have more.", ebs.MaxTags, id)
	}
	return internal(op, err)
}

// mergeTags returns have with add applied: a key in both takes add's
// value, in have's place; new keys follow, in add's order.
func mergeTags(have, add []ebs.Tag) []ebs.Tag {
	out := slices.Clone(have)
	for _, t := range add {
		if i := slices.IndexFunc(out, func(h ebs.Tag) bool { return h.Key == t.Key }); i >= 0 {
			out[i].Value = t.Value
		} else {
			out = append(out, t)
		}
	}
	return out
}

// removeTags returns have without the tags del names; a nil del removes
// every tag.
func removeTags(have []ebs.Tag, del []TagMatch) []ebs.Tag {
	if del == nil {
		return nil
	}
	out := make([]ebs.Tag, 0, len(have))
	for _, t := range have {
		if !slices.ContainsFunc(del, func(m TagMatch) bool {
			return m.Key == t.Key && (m.Value == nil || *m.Value == t.Value)
		}) {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
