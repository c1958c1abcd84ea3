package token

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCursorToken(t *testing.T) {
	s, err := NewSigner([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	exp := now.Add(time.Hour)
	long := strings.Repeat("x", MaxCursorLen)
	for _, cur := range []string{"", "snap-0123456789abcdef0", long} {
		tok := s.CursorToken(CursorDescribeSnapshots, "111122223333", "status=completed", cur, exp)
		got, err := s.VerifyCursor(tok, CursorDescribeSnapshots, "111122223333", "status=completed", now)
		if err != nil || got != cur {
			t.Fatalf("VerifyCursor(%q) = %q, %v", cur, got, err)
		}
	}
	tok := s.CursorToken(CursorDescribeTags, "111122223333", "sel", "snap-1\x00key", exp)
	for name, verify := range map[string]func() (string, error){
		"other kind": func() (string, error) {
			return s.VerifyCursor(tok, CursorDescribeSnapshots, "111122223333", "sel", now)
		},
		"other account":   func() (string, error) { return s.VerifyCursor(tok, CursorDescribeTags, "444455556666", "sel", now) },
		"other selection": func() (string, error) { return s.VerifyCursor(tok, CursorDescribeTags, "111122223333", "sel2", now) },
		"tampered": func() (string, error) {
			return s.VerifyCursor(flip(tok), CursorDescribeTags, "111122223333", "sel", now)
		},
		"garbage": func() (string, error) { return s.VerifyCursor("!!", CursorDescribeTags, "111122223333", "sel", now) },
		"too long": func() (string, error) {
			return s.VerifyCursor(strings.Repeat("A", 1000), CursorDescribeTags, "111122223333", "sel", now)
		},
		"page token": func() (string, error) {
			return s.VerifyCursor(s.PageToken(PageListBlocks, "111122223333", nil, 5, exp), CursorDescribeTags, "111122223333", "sel", now)
		},
	} {
		if _, err := verify(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := s.VerifyCursor(tok, CursorDescribeTags, "111122223333", "sel", exp); !errors.Is(err, ErrExpired) {
		t.Errorf("expired: err = %v, want ErrExpired", err)
	}
}

// flip changes the first character of a token to another valid one.
func flip(tok string) string {
	c := byte('A')
	if tok[0] == 'A' {
		c = 'B'
	}
	return string(c) + tok[1:]
}
