package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestSignalDuringStartExitsAtOnce: a SIGTERM (a canceled context) while
// the stores open makes ebsd exit 0 at once, without serving, and say why.
// (pebblemeta's TestOpenGivesUpWithItsContext shows that an open stuck in
// Pebble's flush loop returns when the context ends.)
func TestSignalDuringStartExitsAtOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	env := func(string) string { return "" }
	var out, errb strings.Builder
	code := run(ctx, []string{"-addr", "127.0.0.1:0", "-data-dir", filepath.Join(dir, "data")}, env, &out, &errb)
	if code != 0 || !strings.Contains(errb.String(), "start-up interrupted") || strings.Contains(out.String(), "serving") {
		t.Fatalf("exit %d, stdout %q, stderr %q; want exit 0 and \"start-up interrupted\"", code, out.String(), errb.String())
	}
}
