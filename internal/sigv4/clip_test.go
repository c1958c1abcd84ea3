package sigv4_test

import (
	"strings"
	"testing"

	"github.com/ebsd/ebsd/internal/sigv4"
)

func TestClip(t *testing.T) {
	tests := []struct {
		name string
		s    string
		n    int
		want string
	}{
		{"short", "abc", 4, "abc"},
		{"exactly n", "abcd", 4, "abcd"},
		{"cut", "abcdef", 4, "abcd..."},
		{"at a rune boundary", "ab\u00e9cd", 3, "ab..."}, // é is 2 bytes at 2-3: never half of it
		{"a rune at the start", "\u00e9\u00e9", 1, "..."},
		{"empty", "", 0, ""},
		{"long", strings.Repeat("x", 1000), 128, strings.Repeat("x", 128) + "..."},
	}
	for _, tc := range tests {
		if got := sigv4.Clip(tc.s, tc.n); got != tc.want {
			t.Errorf("%s: Clip(%q, %d) = %q, want %q", tc.name, tc.s, tc.n, got, tc.want)
		}
	}
}
