package cluster_test

import (
	"os"
	"testing"
)

// skipOrFail skips the test for a missing tool, or fails it under CI,
// where scripts/test.sh installs every tool the tests need.
func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}
