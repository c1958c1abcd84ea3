package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ebsd/ebsd/internal/ebstest"
)

func TestInfoCommand(t *testing.T) {
	ctx := context.Background()
	e := newReadEnv(t)
	blocks := map[int32][]byte{1: ebstest.Payload("a"), 2: ebstest.Payload("b")}
	id := e.snapshot(t, "", blocks)

	code, out, errOut := e.ebs(ctx, nil, "info", id)
	want := fmt.Sprintf(`SNAPSHOT     %s
STATUS       completed
VOLUME SIZE  1 GiB
BLOCK SIZE   524288
BLOCKS       2 written (1.0 MiB, 0.1%% of the volume)
IMAGE SIZE   not known (the whole volume; no manifest in --state-dir, no ebs:image-size tag)
MANIFEST     no
`, id)
	if code != 0 || out != want {
		t.Errorf("exit %d, stdout:\n%s\nwant:\n%s\nstderr: %s", code, out, want, errOut)
	}

	// A download keeps the manifest; info says so.
	if code, _, errOut := e.ebs(ctx, nil, "download", "--quiet", id, filepath.Join(t.TempDir(), "x.img")); code != 0 {
		t.Fatalf("download: exit %d: %s", code, errOut)
	}
	code, out, errOut = e.ebs(ctx, nil, "info", "--json", id)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("--json output %q: %v", out, err)
	}
	for k, v := range map[string]any{"snapshot_id": id, "status": "completed", "volume_size_gib": 1.0, "block_size": 524288.0,
		"blocks": 2.0, "written_bytes": 2.0 * 524288, "manifest": true} {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}

	pending := e.start(t, "", nil)
	for _, snap := range []string{pending, "snap-0123456789abcdef0"} {
		code, out, errOut := e.ebs(ctx, nil, "info", snap)
		if code != 1 || out != "" || !strings.Contains(errOut, "does not exist, or it is not completed yet (pending or error)") ||
			!strings.Contains(errOut, "cannot tell apart") {
			t.Errorf("info %s: exit %d, stdout %q, stderr %q", snap, code, out, errOut)
		}
	}
}
