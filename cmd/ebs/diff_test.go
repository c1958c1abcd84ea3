package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/ebsd/ebsd/internal/ebstest"
)

func TestDiffCommand(t *testing.T) {
	ctx := context.Background()
	e := newReadEnv(t)
	parent := e.snapshot(t, "", map[int32][]byte{0: ebstest.Payload("a"), 5: ebstest.Payload("b")})
	child := e.snapshot(t, parent, map[int32][]byte{5: ebstest.Payload("c"), 700: ebstest.Payload("d")})
	other := e.snapshot(t, "", nil)

	tests := []struct {
		name          string
		args          []string
		first, second string
		want          string
	}{
		{"parent to child", nil, parent, child, `BLOCK       OFFSET           IN-FIRST  IN-SECOND
5           2621440          yes       yes
700         367001600        no        yes
2 changed blocks (1.0 MiB): 1 in both, 0 only in %[1]s, 1 only in %[2]s
`},
		{"child to parent", nil, child, parent, `BLOCK       OFFSET           IN-FIRST  IN-SECOND
5           2621440          yes       yes
700         367001600        yes       no
2 changed blocks (1.0 MiB): 1 in both, 1 only in %[1]s, 0 only in %[2]s
`},
		{"from a block", []string{"--start-block", "6"}, parent, child, `BLOCK       OFFSET           IN-FIRST  IN-SECOND
700         367001600        no        yes
1 changed blocks (0.5 MiB): 0 in both, 0 only in %[1]s, 1 only in %[2]s
`},
		{"itself", nil, child, child, `BLOCK       OFFSET           IN-FIRST  IN-SECOND
0 changed blocks (0.0 MiB): 0 in both, 0 only in %[1]s, 0 only in %[2]s
`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := e.ebs(ctx, nil, append(append([]string{"diff"}, tc.args...), tc.first, tc.second)...)
			if want := fmt.Sprintf(tc.want, tc.first, tc.second); code != 0 || out != want {
				t.Errorf("exit %d, stdout:\n%s\nwant:\n%s\nstderr: %s", code, out, want, errOut)
			}
		})
	}

	type changed struct {
		Index    int32 `json:"index"`
		Offset   int64 `json:"offset"`
		InFirst  bool  `json:"in_first"`
		InSecond bool  `json:"in_second"`
	}
	type diffJSON struct {
		First      string    `json:"first"`
		Second     string    `json:"second"`
		VolumeSize int64     `json:"volume_size_gib"`
		BlockSize  int64     `json:"block_size"`
		Changed    []changed `json:"changed"`
	}
	for _, tc := range []struct {
		name          string
		first, second string
		want          []changed
	}{
		{"json", child, parent, []changed{{5, 5 * 524288, true, true}, {700, 700 * 524288, true, false}}},
		{"json, nothing changed", parent, parent, []changed{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := e.ebs(ctx, nil, "diff", "--json", tc.first, tc.second)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var got diffJSON
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("--json output %q: %v", out, err)
			}
			want := diffJSON{tc.first, tc.second, 1, 524288, tc.want}
			if fmt.Sprint(got) != fmt.Sprint(want) || got.Changed == nil {
				t.Errorf("--json = %+v, want %+v", got, want)
			}
		})
	}

	t.Run("unrelated", func(t *testing.T) {
		code, out, errOut := e.ebs(ctx, nil, "diff", parent, other)
		if code != 1 || !strings.Contains(errOut, "not related") {
			t.Errorf("exit %d, stdout %q, stderr %q: want an error saying they are not related", code, out, errOut)
		}
	})
}
