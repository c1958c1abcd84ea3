package main

import (
	"context"
	"runtime"
	"strings"
	"testing"
)

func TestVersionFlag(t *testing.T) {
	for _, arg := range []string{"--version", "-version"} {
		var out, errb strings.Builder
		m := &Main{Stdout: &out, Stderr: &errb}
		code := m.Run(context.Background(), []string{arg})
		if code != 0 || !strings.HasPrefix(out.String(), "ebs ") || !strings.Contains(out.String(), runtime.Version()) || errb.Len() != 0 {
			t.Errorf("ebs %s: exit %d, stdout %q, stderr %q; want exit 0 and a version line", arg, code, out.String(), errb.String())
		}
	}
}
