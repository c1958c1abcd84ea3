package token_test

import (
	"testing"

	"github.com/ebsd/ebsd/internal/token"
)

// TestAllocs holds minting to one allocation (the string) and verifying to
// none: a ListSnapshotBlocks page mints up to 10000 tokens.
func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	s := mustSigner(t, 1)
	c := keyedClaims()
	tok := s.BlockToken(c, account, snapA, 9, expires)
	page := s.PageToken(token.PageChangedBlocks, account, []string{snapA, snapB}, 9, expires)
	for _, tc := range []struct {
		name string
		max  float64
		fn   func()
	}{
		{"BlockToken", 1, func() { s.BlockToken(c, account, snapA, 9, expires) }},
		{"VerifyBlock", 0, func() { s.VerifyBlock(tok, account, snapA, 9, t0) }},
		{"VerifyBlock forged", 0, func() { s.VerifyBlock(tok, account, snapA, 10, t0) }},
		{"PageToken", 1, func() { s.PageToken(token.PageChangedBlocks, account, []string{snapA, snapB}, 9, expires) }},
		{"VerifyPage", 0, func() { s.VerifyPage(page, token.PageChangedBlocks, account, []string{snapA, snapB}, t0) }},
	} {
		if got := testing.AllocsPerRun(100, tc.fn); got > tc.max {
			t.Errorf("%s: %v allocations, want <= %v", tc.name, got, tc.max)
		}
	}
}
