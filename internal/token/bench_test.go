package token_test

import (
	"testing"

	"github.com/ebsd/ebsd/internal/token"
)

func BenchmarkBlockToken(b *testing.B) {
	s := mustSigner(b, 1)
	for _, tc := range []struct {
		name   string
		claims token.BlockClaims
	}{
		{"plain", plainClaims()},
		{"keyed", keyedClaims()},
	} {
		b.Run(tc.name+"/mint", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				s.BlockToken(tc.claims, account, snapA, int32(i), expires)
			}
		})
		b.Run(tc.name+"/verify", func(b *testing.B) {
			tok := s.BlockToken(tc.claims, account, snapA, 7, expires)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.VerifyBlock(tok, account, snapA, 7, t0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkBlockTokenParallel(b *testing.B) {
	s := mustSigner(b, 1)
	c := plainClaims()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.BlockToken(c, account, snapA, 7, expires)
		}
	})
}

func BenchmarkPageToken(b *testing.B) {
	s := mustSigner(b, 1)
	snaps := []string{snapA, snapB}
	tok := s.PageToken(token.PageChangedBlocks, account, snaps, 7, expires)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.VerifyPage(tok, token.PageChangedBlocks, account, snaps, t0); err != nil {
			b.Fatal(err)
		}
	}
}
