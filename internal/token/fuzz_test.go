package token_test

import (
	"testing"

	"github.com/ebsd/ebsd/internal/token"
)

// FuzzVerify feeds arbitrary text to both verifiers. Neither may panic, and
// since forging a MAC is infeasible, the only text a verifier may accept is
// a token minted for it as a seed.
func FuzzVerify(f *testing.F) {
	s := mustSigner(f, 1)
	snaps := []string{snapA, snapB}
	blocks := map[string]bool{
		s.BlockToken(plainClaims(), account, snapA, 1, expires): true,
		s.BlockToken(keyedClaims(), account, snapA, 1, expires): true,
	}
	pages := map[token.PageKind]string{
		token.PageListBlocks:    s.PageToken(token.PageListBlocks, account, snaps[:1], 1, expires),
		token.PageChangedBlocks: s.PageToken(token.PageChangedBlocks, account, snaps, 1, expires),
	}
	for tok := range blocks {
		f.Add(tok)
	}
	for _, tok := range pages {
		f.Add(tok)
	}
	f.Add("")
	f.Add("AQEAAAAA")
	f.Fuzz(func(t *testing.T, tok string) {
		if _, err := s.VerifyBlock(tok, account, snapA, 1, t0); err == nil && !blocks[tok] {
			t.Fatalf("VerifyBlock accepted %q, which was never minted as a block token", tok)
		}
		for kind, minted := range pages {
			ids := snaps[:1]
			if kind == token.PageChangedBlocks {
				ids = snaps
			}
			if _, err := s.VerifyPage(tok, kind, account, ids, t0); err == nil && tok != minted {
				t.Fatalf("VerifyPage(%v) accepted %q, which was never minted for it", kind, tok)
			}
		}
	})
}
