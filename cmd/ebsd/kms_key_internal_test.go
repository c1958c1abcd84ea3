package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestKMSKeyCommand(t *testing.T) {
	file := filepath.Join(t.TempDir(), "kms-keys.json")
	arn := "arn:aws:kms:us-east-1:123456789012:key/backups"
	env := func(string) string { return "" }
	tests := []struct {
		args     []string
		code     int
		stdout   string
		stderrIn string
	}{
		{[]string{"kms-key", "-kms-keys", file, "add", arn}, 0, "added " + arn, ""},
		{[]string{"kms-key", "-kms-keys", file, "list"}, 0, arn, ""},
		{[]string{"kms-key", "-kms-keys", file, "add", arn}, 1, "", "exists"},
		{[]string{"kms-key", "-kms-keys", file, "add", "not-an-arn"}, 1, "", "not-an-arn"},
		{[]string{"kms-key", "-kms-keys", file}, 1, "", "expected 'add ARN' or 'list'"},
	}
	for _, tc := range tests {
		var out, errb strings.Builder
		code := run(context.Background(), tc.args, env, &out, &errb)
		if code != tc.code || !strings.Contains(out.String(), tc.stdout) || !strings.Contains(errb.String(), tc.stderrIn) {
			t.Errorf("ebsd %s: exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q",
				strings.Join(tc.args, " "), code, out.String(), errb.String(), tc.code, tc.stdout, tc.stderrIn)
		}
	}
}
