package ec2api

import (
	"strings"
	"testing"
)

func TestPatternMatch(t *testing.T) {
	tests := []struct {
		pattern, value string
		want           bool
	}{
		{"abc", "abc", true},
		{"abc", "abcd", false},
		{"abc", "ab", false},
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"*", "anything", true},
		{"a*", "a", true},
		{"a*", "abc", true},
		{"a*", "ba", false},
		{"*c", "abc", true},
		{"*c", "abcd", false},
		{"a*c", "ac", true},
		{"a*c", "abbbc", true},
		{"a*c", "abbbcd", false},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"a**c", "abc", true},
		{"?", "a", true},
		{"?", "", false},
		{"?", "ab", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"??", "é€", true}, // a character is a code point, not a byte
		{"?", "€", true},
		{"*?", "", false},
		{"*?", "x", true},
		{"2026-09-*", "2026-09-25T15:19:43.497Z", true},
		{"2026-09-*", "2026-10-01T00:00:00.000Z", false},
		{"*%", "100%", true},
		{"tag*", "Tag", false}, // values are case-sensitive
		// Escapes: \* \? \\ are literal.
		{`\*`, "*", true},
		{`\*`, "a", false},
		{`a\?`, "a?", true},
		{`a\?`, "ab", false},
		{`\\`, `\`, true},
		{`\*amazon\?\\`, `*amazon?\`, true}, // the example of the AWS docs
		{`\*amazon\?\\`, `xamazonyz`, false},
		{`a\`, `a\`, true}, // a '\' at the end stands for itself
		{`\a`, "a", true},
		{`*\*`, "x*", true},
		{`*\*`, "xy", false},
		// Backtracking.
		{"*aab", "aaaab", true},
		{"a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaa", false},
		{"*x*y*z*", "__x__y__z__", true},
		{"*x*y*z*", "__x__z__y__", false},
	}
	for _, tt := range tests {
		p := compilePattern(tt.pattern)
		if got := p.match(tt.value); got != tt.want {
			t.Errorf("%q matches %q = %v, want %v", tt.pattern, tt.value, got, tt.want)
		}
	}
}

// TestPatternLongIsCheap: a huge pattern against a short value is refused
// by its length before any matching, so a 1 MiB filter value costs no more
// than reading it.
func TestPatternLongIsCheap(t *testing.T) {
	p := compilePattern(strings.Repeat("a*", 200_000) + "b")
	if p.match(strings.Repeat("a", 200)) {
		t.Fatal("matched")
	}
	if p.minLen != 200_001 {
		t.Fatalf("minLen = %d", p.minLen)
	}
	q := compilePattern(strings.Repeat("*", 100_000) + "x")
	if len(q.elems) != 2 || !q.match("yyyx") {
		t.Fatalf("consecutive stars not merged: %d elements", len(q.elems))
	}
}

func TestMatchAny(t *testing.T) {
	ps := []pattern{compilePattern("pending"), compilePattern("comp*")}
	for v, want := range map[string]bool{"pending": true, "completed": true, "error": false} {
		if got := matchAny(ps, v); got != want {
			t.Errorf("matchAny(%q) = %v", v, got)
		}
	}
}
