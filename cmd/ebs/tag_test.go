package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// tagString shows tags as key:value, with nil values apart: k (any
// value), k: (empty). (Not key=value: "a=b=c" would not show where the
// key ends.)
func tagString(tags []types.Tag) string {
	var s []string
	for _, t := range tags {
		if t.Value == nil {
			s = append(s, aws.ToString(t.Key))
			continue
		}
		s = append(s, aws.ToString(t.Key)+":"+aws.ToString(t.Value))
	}
	return strings.Join(s, " ")
}

func TestTagParsing(t *testing.T) {
	tests := []struct {
		name         string
		args         []string
		set, deleted string // tagString of CreateTags / DeleteTags; "" = not called
		code         int
	}{
		{"set", []string{"env=prod", "team=storage"}, "env:prod team:storage", "", 0},
		{"KEY= sets the empty value", []string{"empty="}, "empty:", "", 0},
		{"= in the value", []string{"url=a=b=c"}, "url:a=b=c", "", 0},
		{"KEY alone is not a tag to set", []string{"env"}, "", "", 2},
		{"empty key", []string{"=v"}, "", "", 2},
		{"aws: is reserved", []string{"aws:x=1"}, "", "", 2},
		{"AWS: too", []string{"AWS:x=1"}, "", "", 2},
		{"key too long", []string{strings.Repeat("k", 128) + "=v"}, "", "", 2},
		{"127 characters, not bytes", []string{strings.Repeat("é", 127) + "=v"}, strings.Repeat("é", 127) + ":v", "", 0},
		{"value too long", []string{"k=" + strings.Repeat("v", 257)}, "", "", 2},
		{"a key twice", []string{"k=1", "k=2"}, "", "", 2},
		{"delete any value", []string{"--delete", "env"}, "", "env", 0},
		{"delete only if empty", []string{"--delete", "env="}, "", "env:", 0},
		{"delete only with a value holding =", []string{"--delete", "url=a=b"}, "", "url:a=b", 0},
		{"set and delete", []string{"a=1", "--delete", "b", "c=", "--delete", "d=x"}, "a:1 c:", "b d:x", 0},
		{"set and delete one key", []string{"a=1", "--delete", "a"}, "", "", 2},
		{"nothing to do", nil, "", "", 2},
		{"no snapshot", []string{}, "", "", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeEC2{}
			args := []string{"tag", "snap-0000000000000000a"}
			if tc.name == "no snapshot" {
				args = []string{"tag"}
			}
			code, _, stderr := runEC2(f, append(args, tc.args...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tc.code, stderr)
			}
			var set, deleted string
			if len(f.creates) > 0 {
				set = tagString(f.creates[0].Tags)
				if r := f.creates[0].Resources; len(r) != 1 || r[0] != "snap-0000000000000000a" {
					t.Errorf("CreateTags resources %v", r)
				}
			}
			if len(f.untags) > 0 {
				deleted = tagString(f.untags[0].Tags)
				if r := f.untags[0].Resources; len(r) != 1 || r[0] != "snap-0000000000000000a" {
					t.Errorf("DeleteTags resources %v", r)
				}
			}
			if set != tc.set || deleted != tc.deleted || len(f.creates) > 1 || len(f.untags) > 1 {
				t.Errorf("CreateTags %q, DeleteTags %q (%d, %d calls); want %q, %q", set, deleted, len(f.creates), len(f.untags), tc.set, tc.deleted)
			}
		})
	}
}

func TestTagJSONAndErrors(t *testing.T) {
	f := &fakeEC2{}
	code, stdout, stderr := runEC2(f, "tag", "--json", "snap-0000000000000000a", "a=1", "--delete", "b", "--delete", "c=")
	var out tagOutput
	if err := json.Unmarshal([]byte(stdout), &out); err != nil || code != 0 {
		t.Fatalf("exit %d, %v: %q %q", code, err, stdout, stderr)
	}
	if out.Set["a"] != "1" || len(out.Deleted) != 2 || out.Deleted[0].Value != nil || aws.ToString(out.Deleted[1].Value) != "" || out.Deleted[1].Value == nil {
		t.Errorf("%+v", out)
	}
	f.tagErr = ec2Error("CreateTags", "InvalidSnapshot.NotFound", "The snapshot 'snap-0000000000000000a' does not exist.")
	code, _, stderr = runEC2(f, "tag", "snap-0000000000000000a", "a=1")
	if code != 1 || !strings.Contains(stderr, "snapshot snap-0000000000000000a does not exist (or belongs to another account)") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
