package store

import "testing"

func TestFormatBytes(t *testing.T) {
	for _, tc := range []struct {
		n    uint64
		want string
	}{
		{0, "0 B"},
		{1023, "1023 B"},
		{1024, "1.0 KiB"},
		{64<<20 - 1, "63.9 MiB"}, // never "64.0 MiB" when short of 64 MiB
		{64 << 20, "64.0 MiB"},
		{3 << 30, "3.0 GiB"},
	} {
		if got := formatBytes(tc.n); got != tc.want {
			t.Errorf("formatBytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
