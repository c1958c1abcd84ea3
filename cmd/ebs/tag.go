package main

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/ebsd/ebsd/internal/client"
	ebsdomain "github.com/ebsd/ebsd/internal/ebs"
)

const tagSummary = `Add or change tags of a snapshot (EC2 CreateTags), and delete tags
(DeleteTags), against ebsd or AWS.

KEY=VALUE sets the tag KEY to VALUE, overwriting the value it had; KEY=
sets it to the empty value. The first = ends the key: a=b=c sets a to
"b=c" (so a key cannot contain =). --delete KEY deletes the tag KEY
whatever its value; --delete KEY=VALUE only if its value is VALUE, and
--delete KEY= only if its value is empty. A key may not be both set and
deleted. Tags are set first, then deleted.

A key is 1 to 127 characters and may not start with aws:, a value at most
256; a snapshot holds at most 50 tags. 'ebs snapshots SNAPSHOT' shows them.

Output: one line on stderr; with --json, an object with snapshot_id, set
(the tags set, an object) and deleted (a list of {key, value}, value null
for "whatever its value") on stdout.`

// tagOutput is the --json result of ebs tag.
type tagOutput struct {
	SnapshotID string            `json:"snapshot_id"`
	Set        map[string]string `json:"set"`
	Deleted    []deletedTag      `json:"deleted"`
}

type deletedTag struct {
	Key   string  `json:"key"`
	Value *string `json:"value"`
}

func runTag(ctx context.Context, m *Main, args []string) error {
	var g Globals
	var del ec2TagFlag
	del.deleting = true
	fs := newFlagSet(m, "tag", "[flags] SNAPSHOT [KEY=VALUE...] [--delete KEY[=VALUE]...]", tagSummary, &g)
	fs.Var(&del, "delete", "delete the tag `KEY` (any value), or KEY=VALUE (only with that value; KEY= only if empty); repeatable")
	pos, err := parseAll(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("expected a snapshot ID, then KEY=VALUE tags and/or --delete KEY")
	}
	id := pos[0]
	var set ec2TagFlag
	for _, a := range pos[1:] {
		if err := set.Set(a); err != nil {
			return &usageError{err.Error()}
		}
	}
	if len(set.tags) == 0 && len(del.tags) == 0 {
		return usagef("nothing to do: give KEY=VALUE tags to set and/or --delete KEY")
	}
	for _, d := range del.tags {
		if _, ok := set.find(aws.ToString(d.Key)); ok {
			return usagef("tag %q is both set and deleted", aws.ToString(d.Key))
		}
	}
	api, err := m.ec2(ctx, &g)
	if err != nil {
		return err
	}
	s := client.NewSnapshots(api)
	out := tagOutput{SnapshotID: id, Set: map[string]string{}, Deleted: []deletedTag{}}
	if len(set.tags) > 0 {
		if err := s.Tag(ctx, id, set.tags); err != nil {
			return err
		}
		for _, t := range set.tags {
			out.Set[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	if len(del.tags) > 0 {
		if err := s.Untag(ctx, id, del.tags); err != nil {
			if len(set.tags) > 0 {
				return fmt.Errorf("%w (the tags to set were set)", err)
			}
			return err
		}
		for _, t := range del.tags {
			out.Deleted = append(out.Deleted, deletedTag{Key: aws.ToString(t.Key), Value: t.Value})
		}
	}
	if !g.Quiet {
		fmt.Fprintf(m.Stderr, "%s: %d tag(s) set, %d deleted\n", id, len(out.Set), len(out.Deleted))
	}
	if g.JSON {
		return printJSON(m.Stdout, out)
	}
	return nil
}

// ec2TagFlag collects tags for the EC2 API: KEY=VALUE to set (KEY= is the
// empty value), or, when deleting, KEY alone too (any value).
type ec2TagFlag struct {
	tags     []types.Tag
	deleting bool
}

func (t *ec2TagFlag) String() string {
	if t == nil {
		return ""
	}
	var s []string
	for _, tg := range t.tags {
		if tg.Value == nil {
			s = append(s, aws.ToString(tg.Key))
			continue
		}
		s = append(s, aws.ToString(tg.Key)+"="+aws.ToString(tg.Value))
	}
	return strings.Join(s, ",")
}

// Set parses one tag, checking EC2's tag rules.
func (t *ec2TagFlag) Set(v string) error {
	tag, err := parseEC2Tag(v, t.deleting)
	if err != nil {
		return err
	}
	if _, ok := t.find(aws.ToString(tag.Key)); ok {
		return fmt.Errorf("tag %q given twice", aws.ToString(tag.Key))
	}
	if !t.deleting && len(t.tags) >= ebsdomain.MaxTags {
		return fmt.Errorf("at most %d tags", ebsdomain.MaxTags)
	}
	t.tags = append(t.tags, tag)
	return nil
}

func (t *ec2TagFlag) find(key string) (types.Tag, bool) {
	for _, tg := range t.tags {
		if aws.ToString(tg.Key) == key {
			return tg, true
		}
	}
	return types.Tag{}, false
}

// EC2's tag limits (CreateTags): in characters, not bytes.
const (
	maxTagKeyChars   = 127
	maxTagValueChars = 256
)

// parseEC2Tag parses KEY=VALUE (the first = ends the key; KEY= is the
// empty value). KEY alone is a tag without a value, which only deleting
// accepts (it means any value): a tag to set needs one. Deleting takes
// any key the snapshot may hold, aws: ones included (the service says
// whether it may).
func parseEC2Tag(v string, deleting bool) (types.Tag, error) {
	k, val, hasValue := strings.Cut(v, "=")
	switch {
	case !hasValue && !deleting:
		return types.Tag{}, fmt.Errorf("tag %q: want KEY=VALUE (KEY= for an empty value)", v)
	case k == "" || utf8.RuneCountInString(k) > maxTagKeyChars:
		return types.Tag{}, fmt.Errorf("tag %q: the key must be 1 to %d characters", v, maxTagKeyChars)
	case utf8.RuneCountInString(val) > maxTagValueChars:
		return types.Tag{}, fmt.Errorf("tag %q: the value must be at most %d characters", v, maxTagValueChars)
	case !deleting && strings.HasPrefix(strings.ToLower(k), "aws:"):
		return types.Tag{}, fmt.Errorf("tag %q: keys starting with aws: are reserved", v)
	}
	tag := types.Tag{Key: aws.String(k)}
	if hasValue {
		tag.Value = aws.String(val)
	}
	return tag, nil
}
