package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ebsd/ebsd/internal/ebstest"
)

func TestLsCommand(t *testing.T) {
	ctx := context.Background()
	e := newReadEnv(t)
	id := e.snapshot(t, "", map[int32][]byte{3: ebstest.Payload("a"), 9: ebstest.Payload("b"), 2047: ebstest.Payload("c")})

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"all", nil, `BLOCK       OFFSET
3           1572864
9           4718592
2047        1073217536
3 blocks (1.5 MiB) of a 1 GiB volume
`},
		{"from a block", []string{"--start-block", "4"}, `BLOCK       OFFSET
9           4718592
2047        1073217536
2 blocks (1.0 MiB) of a 1 GiB volume
`},
		{"limited", []string{"--limit", "1"}, `BLOCK       OFFSET
3           1572864
1 blocks (0.5 MiB) of a 1 GiB volume (--limit 1: there may be more)
`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := e.ebs(ctx, nil, append(append([]string{"ls"}, tc.args...), id)...)
			if code != 0 || out != tc.want {
				t.Errorf("exit %d, stdout:\n%s\nwant:\n%s\nstderr: %s", code, out, tc.want, errOut)
			}
		})
	}

	t.Run("json", func(t *testing.T) {
		code, out, errOut := e.ebs(ctx, nil, "ls", "--json", "--start-block", "4", id)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var got struct {
			Snapshot   string `json:"snapshot"`
			VolumeSize int64  `json:"volume_size_gib"`
			BlockSize  int64  `json:"block_size"`
			Blocks     []struct {
				Index  int32 `json:"index"`
				Offset int64 `json:"offset"`
			} `json:"blocks"`
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("--json output %q: %v", out, err)
		}
		if got.Snapshot != id || got.VolumeSize != 1 || got.BlockSize != 524288 || len(got.Blocks) != 2 ||
			got.Blocks[0].Index != 9 || got.Blocks[1].Offset != 2047*524288 {
			t.Errorf("--json = %+v", got)
		}
	})
	t.Run("errors", func(t *testing.T) {
		pending := e.start(t, "", nil)
		if code, _, errOut := e.ebs(ctx, nil, "ls", pending); code != 1 || !strings.Contains(errOut, "not completed yet") {
			t.Errorf("pending: exit %d, stderr %q", code, errOut)
		}
		if code, _, _ := e.ebs(ctx, nil, "ls", "--limit", "-1", id); code != 2 {
			t.Errorf("--limit -1: exit %d, want 2", code)
		}
	})
}
