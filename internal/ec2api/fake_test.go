package ec2api_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/ec2api"
	"github.com/ebsd/ebsd/internal/snapshot"
)

// fakeService is an in-memory ec2api.Service with the semantics the wire
// relies on (docs/ec2-api.md §5): accounts see only their snapshots, pages
// come in ID order with tokens bound to the Selection, DeleteTags tells a
// nil Value from an empty one. It records every input it receives. A
// non-nil err is returned by every call instead.
type fakeService struct {
	mu     sync.Mutex
	snaps  map[string][]snapshot.SnapshotInfo // by account, sorted by ID
	inputs []any
	err    error
	nextID int
}

var _ ec2api.Service = (*fakeService)(nil)

func newFake() *fakeService { return &fakeService{snaps: map[string][]snapshot.SnapshotInfo{}} }

func (f *fakeService) add(account string, s snapshot.SnapshotInfo) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s.OwnerID = account
	if s.VolumeID == "" {
		s.VolumeID = "vol-ffffffff"
	}
	l := append(f.snaps[account], s)
	slices.SortFunc(l, func(a, b snapshot.SnapshotInfo) int { return strings.Compare(a.SnapshotID, b.SnapshotID) })
	f.snaps[account] = l
}

// setErr makes every later call fail with err (nil: succeed again).
func (f *fakeService) setErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *fakeService) record(in any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inputs = append(f.inputs, in)
	return f.err
}

// calls returns a copy of the inputs received so far.
func (f *fakeService) calls() []any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.inputs)
}

// last returns the most recent input of type T.
func last[T any](f *fakeService) (T, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.inputs) - 1; i >= 0; i-- {
		if in, ok := f.inputs[i].(T); ok {
			return in, true
		}
	}
	var zero T
	return zero, false
}

func (f *fakeService) find(account, id string) int {
	for i, s := range f.snaps[account] {
		if s.SnapshotID == id {
			return i
		}
	}
	return -1
}

func checkID(op, id string) error {
	if !strings.HasPrefix(id, "snap-") {
		return ebs.E(op, ebs.KindInvalid, ebs.ReasonInvalidParameterValue, "Value (%s) for parameter snapshotId is invalid. Expected: 'snap-...'.", id)
	}
	if len(id) != 13 && len(id) != 22 {
		return ebs.E(op, ebs.KindInvalid, ebs.ReasonMalformedSnapshotID, "Invalid id: \"%s\"", id)
	}
	return nil
}

func page[T any](op string, all []T, max *int64, token *string, sel string) ([]T, string, error) {
	start := 0
	if token != nil {
		s, n, ok := strings.Cut(*token, "|")
		i, err := strconv.Atoi(n)
		if !ok || err != nil || s != strconv.Quote(sel) || i > len(all) {
			return nil, "", ebs.E(op, ebs.KindInvalid, ebs.ReasonInvalidPageToken, "The specified pagination token is not valid or is expired.")
		}
		start = i
	}
	if max == nil {
		return all[start:], "", nil
	}
	if *max < 5 || *max > 1000 {
		return nil, "", ebs.E(op, ebs.KindInvalid, ebs.ReasonInvalidParameterValue, "Value ( %d ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.", *max)
	}
	end := min(len(all), start+int(*max))
	next := ""
	if end < len(all) {
		next = strconv.Quote(sel) + "|" + strconv.Itoa(end)
	}
	return all[start:end], next, nil
}

func (f *fakeService) DescribeSnapshots(ctx context.Context, in snapshot.DescribeInput) (*snapshot.DescribeOutput, error) {
	if err := f.record(in); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	const op = "DescribeSnapshots"
	var all []snapshot.SnapshotInfo
	if len(in.SnapshotIDs) > 0 {
		if in.MaxResults != nil {
			return nil, ebs.E(op, ebs.KindInvalid, ebs.ReasonInvalidParameterCombination, "The parameter snapshotSet cannot be used with the parameter maxResults")
		}
		for _, id := range in.SnapshotIDs {
			if err := checkID(op, id); err != nil {
				return nil, err
			}
			i := f.find(in.AccountID, id)
			if i < 0 {
				return nil, ebs.SnapshotNotFound(op, id)
			}
			all = append(all, f.snaps[in.AccountID][i])
		}
	} else {
		all = f.snaps[in.AccountID]
	}
	var selected []snapshot.SnapshotInfo
	for _, s := range all {
		if in.Match == nil || in.Match(s) {
			selected = append(selected, s)
		}
	}
	got, next, err := page(op, selected, in.MaxResults, in.NextToken, in.Selection)
	if err != nil {
		return nil, err
	}
	return &snapshot.DescribeOutput{Snapshots: slices.Clone(got), NextToken: next}, nil
}

func (f *fakeService) DeleteSnapshot(ctx context.Context, in snapshot.DeleteInput) error {
	if err := f.record(in); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if in.SnapshotID == nil {
		return ebs.E("DeleteSnapshot", ebs.KindInvalid, ebs.ReasonMissingParameter, "The request must contain the parameter SnapshotId")
	}
	if err := checkID("DeleteSnapshot", *in.SnapshotID); err != nil {
		return err
	}
	i := f.find(in.AccountID, *in.SnapshotID)
	if i < 0 {
		return ebs.SnapshotNotFound("DeleteSnapshot", *in.SnapshotID)
	}
	f.snaps[in.AccountID] = slices.Delete(f.snaps[in.AccountID], i, i+1)
	return nil
}

func (f *fakeService) CopySnapshot(ctx context.Context, in snapshot.CopyInput) (*snapshot.CopyOutput, error) {
	if err := f.record(in); err != nil {
		return nil, err
	}
	f.mu.Lock()
	if in.SourceSnapshotID == nil {
		f.mu.Unlock()
		return nil, ebs.E("CopySnapshot", ebs.KindInvalid, ebs.ReasonMissingParameter, "The request must contain the parameter SourceSnapshotId")
	}
	i := f.find(in.AccountID, *in.SourceSnapshotID)
	if i < 0 {
		f.mu.Unlock()
		return nil, ebs.SnapshotNotFound("CopySnapshot", *in.SourceSnapshotID)
	}
	src := f.snaps[in.AccountID][i]
	f.nextID++
	id := fmt.Sprintf("snap-%017x", 0xc0c0000+f.nextID)
	f.mu.Unlock()
	cp := src
	cp.SnapshotID, cp.Tags, cp.Description = id, in.Tags, ""
	if in.Description != nil {
		cp.Description = *in.Description
	}
	f.add(in.AccountID, cp)
	return &snapshot.CopyOutput{SnapshotID: id, Tags: in.Tags}, nil
}

func (f *fakeService) CreateTags(ctx context.Context, in snapshot.TagsInput) error {
	if err := f.record(in); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range in.ResourceIDs {
		i := f.find(in.AccountID, id)
		if i < 0 {
			return ebs.SnapshotNotFound("CreateTags", id)
		}
		s := &f.snaps[in.AccountID][i]
		for _, t := range in.Tags {
			j := slices.IndexFunc(s.Tags, func(o ebs.Tag) bool { return o.Key == t.Key })
			if j >= 0 {
				s.Tags[j].Value = t.Value
			} else {
				s.Tags = append(s.Tags, t)
			}
		}
	}
	return nil
}

func (f *fakeService) DeleteTags(ctx context.Context, in snapshot.UntagInput) error {
	if err := f.record(in); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range in.ResourceIDs {
		i := f.find(in.AccountID, id)
		if i < 0 {
			return ebs.SnapshotNotFound("DeleteTags", id)
		}
		s := &f.snaps[in.AccountID][i]
		s.Tags = slices.DeleteFunc(s.Tags, func(t ebs.Tag) bool {
			if in.Tags == nil {
				return true
			}
			for _, m := range in.Tags {
				if m.Key == t.Key && (m.Value == nil || *m.Value == t.Value) {
					return true
				}
			}
			return false
		})
	}
	return nil
}

func (f *fakeService) DescribeTags(ctx context.Context, in snapshot.DescribeTagsInput) (*snapshot.DescribeTagsOutput, error) {
	if err := f.record(in); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var all []snapshot.TagInfo
	for _, s := range f.snaps[in.AccountID] {
		for _, t := range s.Tags {
			ti := snapshot.TagInfo{ResourceID: s.SnapshotID, Key: t.Key, Value: t.Value}
			if in.Match == nil || in.Match(ti) {
				all = append(all, ti)
			}
		}
	}
	got, next, err := page("DescribeTags", all, in.MaxResults, in.NextToken, in.Selection)
	if err != nil {
		return nil, err
	}
	return &snapshot.DescribeTagsOutput{Tags: slices.Clone(got), NextToken: next}, nil
}
