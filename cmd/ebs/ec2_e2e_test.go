package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/ebsd/ebsd/internal/client"
	ebscreds "github.com/ebsd/ebsd/internal/credentials"
	"github.com/ebsd/ebsd/internal/ebstest"
)

// e2e runs ebs command lines as a user would, with no injected client:
// the SDK clients are built from the environment and --endpoint-url,
// against one in-process ebsd that serves both APIs.
type e2e struct {
	t     *testing.T
	url   string
	state string
}

func newE2E(t *testing.T) *e2e {
	srv := ebstest.Start(t, ebstest.Options{})
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"AWS_SESSION_TOKEN": "", "AWS_REGION": "us-east-1", "AWS_PROFILE": "", "AWS_CA_BUNDLE": "",
		"AWS_CONFIG_FILE": empty, "AWS_SHARED_CREDENTIALS_FILE": empty, "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_EBS": "", "AWS_ENDPOINT_URL_EC2": "",
	} {
		t.Setenv(k, v)
	}
	e := &e2e{t: t, url: srv.URL, state: t.TempDir()}
	e.as(ebstest.Alice)
	return e
}

// as makes the following commands run with cred's keys.
func (e *e2e) as(cred ebscreds.Credential) {
	e.t.Setenv("AWS_ACCESS_KEY_ID", cred.AccessKeyID)
	e.t.Setenv("AWS_SECRET_ACCESS_KEY", cred.SecretAccessKey)
}

// run runs "ebs CMD --endpoint-url URL --state-dir STATE ARGS...".
func (e *e2e) run(args ...string) (int, string, string) {
	e.t.Helper()
	var out, errb bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errb}
	args = append([]string{args[0], "--endpoint-url", e.url, "--state-dir", e.state, "--workers", "4"}, args[1:]...)
	code := m.Run(context.Background(), args)
	return code, out.String(), errb.String()
}

// ok runs a command that must succeed and returns its stdout.
func (e *e2e) ok(args ...string) string {
	e.t.Helper()
	code, stdout, stderr := e.run(args...)
	if code != 0 {
		e.t.Fatalf("ebs %s: exit %d: %s", strings.Join(args, " "), code, stderr)
	}
	return stdout
}

// list runs ebs snapshots --json with args and returns the snapshots.
func (e *e2e) list(args ...string) []client.Snapshot {
	e.t.Helper()
	var out snapshotsOutput
	stdout := e.ok(append([]string{"snapshots", "--json"}, args...)...)
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		e.t.Fatalf("snapshots --json: %v: %s", err, stdout)
	}
	return out.Snapshots
}

func ids(list []client.Snapshot) []string {
	s := []string{}
	for _, sn := range list {
		s = append(s, sn.SnapshotID)
	}
	return s
}

// TestSnapshotLifecycleE2E: upload, then find, tag, copy, restore and
// delete through the EC2 API of a real ebsd, with the SDK clients ebs
// builds itself (issue 12 part 6, and issue 16's image size read back).
func TestSnapshotLifecycleE2E(t *testing.T) {
	e := newE2E(t)
	path, img := writeImage(t, 5*client.BlockSize+100)
	size := strconv.Itoa(len(img))

	// upload, then it is listed with its description, tags and state.
	id := strings.TrimSpace(e.ok("upload", "--quiet", "--wait", "--description", "base image", "--tag", "env=test", path))
	list := e.list()
	if !reflect.DeepEqual(ids(list), []string{id}) {
		t.Fatalf("snapshots %v, want [%s]", ids(list), id)
	}
	s := list[0]
	if s.Status != "completed" || s.Progress != "100%" || s.VolumeSize != 1 || s.Description != "base image" || s.CompletionTime == nil ||
		!reflect.DeepEqual(s.Tags, map[string]string{"env": "test", client.ImageSizeTag: size}) {
		t.Errorf("listed as %+v", s)
	}
	if table := e.ok("snapshots"); !strings.Contains(table, id+"  completed") || !strings.Contains(table, "env=test") {
		t.Errorf("table:\n%s", table)
	}

	// tag: set one, delete one; filters see the change.
	e.ok("tag", id, "team=storage", "--delete", "env")
	if got := e.list(id)[0].Tags; !reflect.DeepEqual(got, map[string]string{"team": "storage", client.ImageSizeTag: size}) {
		t.Errorf("tags after ebs tag: %v", got)
	}
	if got := ids(e.list("--tag", "team=storage", "--status", "completed")); !reflect.DeepEqual(got, []string{id}) {
		t.Errorf("--tag team=storage: %v", got)
	}
	if got := ids(e.list("--tag", "env")); len(got) != 0 {
		t.Errorf("--tag env after deleting it: %v", got)
	}
	if got := ids(e.list("--filter", "description=base*")); !reflect.DeepEqual(got, []string{id}) {
		t.Errorf("--filter description=base*: %v", got)
	}

	// download elsewhere (no manifest): the image's size from the tag.
	restored := filepath.Join(t.TempDir(), "restored.img")
	e.ok("download", "--quiet", "--state-dir", t.TempDir(), id, restored)
	if got, err := os.ReadFile(restored); err != nil || !bytes.Equal(got, img) {
		t.Errorf("restored file (%d bytes, %v) is not the image (%d bytes)", len(got), err, len(img))
	}

	// cp: a completed copy with only its own description and tags.
	cp := strings.TrimSpace(e.ok("cp", "--quiet", "--wait", "--interval", "50ms", "--description", "copy", "--tag", "k=v", id))
	if cp == id || !strings.HasPrefix(cp, "snap-") {
		t.Fatalf("cp printed %q", cp)
	}
	c := e.list(cp)[0]
	if c.Status != "completed" || c.Description != "copy" || !reflect.DeepEqual(c.Tags, map[string]string{"k": "v"}) {
		t.Errorf("copy listed as %+v", c)
	}
	if got := ids(e.list()); !reflect.DeepEqual(got, []string{id, cp}) {
		t.Errorf("snapshots %v, want [%s %s] by start time", got, id, cp)
	}

	// Another account sees none of them and can delete none.
	e.as(ebstest.Bob)
	if got := ids(e.list()); len(got) != 0 {
		t.Errorf("Bob lists %v", got)
	}
	if code, _, stderr := e.run("rm", id); code != 1 || !strings.Contains(stderr, "snapshot "+id+" does not exist (or belongs to another account)") {
		t.Errorf("Bob's rm: exit %d, stderr %q", code, stderr)
	}
	e.as(ebstest.Alice)

	// rm: a dry run deletes nothing; then both go, and a third ID fails.
	if out := e.ok("rm", "--dry-run", id); out != "would delete "+id+" (dry run)\n" {
		t.Errorf("dry run: %q", out)
	}
	if got := ids(e.list()); len(got) != 2 {
		t.Errorf("after the dry run: %v", got)
	}
	code, stdout, stderr := e.run("rm", id, cp, "snap-00000000")
	if code != 1 || stdout != "deleted "+id+"\ndeleted "+cp+"\n" || !strings.Contains(stderr, "snapshot snap-00000000 does not exist") {
		t.Errorf("rm: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if got := ids(e.list()); len(got) != 0 {
		t.Errorf("after rm: %v", got)
	}
	if code, _, stderr := e.run("snapshots", id); code != 1 || !strings.Contains(stderr, "does not exist (or belongs to another account)") {
		t.Errorf("snapshots of a deleted ID: exit %d, stderr %q", code, stderr)
	}
}
