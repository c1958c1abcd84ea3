package token_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/token"
)

func TestPageTokenRoundTrip(t *testing.T) {
	s := mustSigner(t, 1)
	for _, tc := range []struct {
		name      string
		kind      token.PageKind
		snapshots []string
		next      int32
	}{
		{"list", token.PageListBlocks, []string{snapA}, 100},
		{"changed", token.PageChangedBlocks, []string{snapA, snapB}, 134217727},
		{"changed same snapshot", token.PageChangedBlocks, []string{snapA, snapA}, 0},
		{"max index", token.PageListBlocks, []string{snapA}, 1<<31 - 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := s.PageToken(tc.kind, account, tc.snapshots, tc.next, expires)
			if len(tok) > 256 {
				t.Errorf("len(token) = %d, want <= 256", len(tok))
			}
			got, err := s.VerifyPage(tok, tc.kind, account, tc.snapshots, t0)
			if err != nil {
				t.Fatalf("VerifyPage: %v", err)
			}
			if got != tc.next {
				t.Errorf("VerifyPage = %d, want %d", got, tc.next)
			}
		})
	}
}

func TestVerifyPageRejects(t *testing.T) {
	s := mustSigner(t, 1)
	list := s.PageToken(token.PageListBlocks, account, []string{snapA}, 100, expires)
	changed := s.PageToken(token.PageChangedBlocks, account, []string{snapA, snapB}, 100, expires)
	block := s.BlockToken(plainClaims(), account, snapA, 100, expires)
	for _, tc := range []struct {
		name      string
		tok       string
		kind      token.PageKind
		acct      string
		snapshots []string
		now       time.Time
		want      error
	}{
		{"list as changed", list, token.PageChangedBlocks, account, []string{snapA}, t0, token.ErrInvalid},
		{"changed as list", changed, token.PageListBlocks, account, []string{snapA, snapB}, t0, token.ErrInvalid},
		{"other snapshot", list, token.PageListBlocks, account, []string{snapB}, t0, token.ErrInvalid},
		{"other account", list, token.PageListBlocks, "444455556666", []string{snapA}, t0, token.ErrInvalid},
		{"pair swapped", changed, token.PageChangedBlocks, account, []string{snapB, snapA}, t0, token.ErrInvalid},
		{"pair's first only", changed, token.PageChangedBlocks, account, []string{snapA}, t0, token.ErrInvalid},
		{"pair joined", changed, token.PageChangedBlocks, account, []string{snapA + snapB}, t0, token.ErrInvalid},
		{"pair shifted", changed, token.PageChangedBlocks, account, []string{snapA + "s", snapB[1:]}, t0, token.ErrInvalid},
		{"no snapshots", list, token.PageListBlocks, account, nil, t0, token.ErrInvalid},
		{"other secret", mustSigner(t, 2).PageToken(token.PageListBlocks, account, []string{snapA}, 100, expires), token.PageListBlocks, account, []string{snapA}, t0, token.ErrInvalid},
		{"block token", block, token.PageListBlocks, account, []string{snapA}, t0, token.ErrInvalid},
		{"unknown kind", list, token.PageKind(0), account, []string{snapA}, t0, token.ErrInvalid},
		{"at expiry", list, token.PageListBlocks, account, []string{snapA}, expires, token.ErrExpired},
		{"after expiry", changed, token.PageChangedBlocks, account, []string{snapA, snapB}, expires.Add(time.Second), token.ErrExpired},
		{"empty", "", token.PageListBlocks, account, []string{snapA}, t0, token.ErrInvalid},
		{"truncated", list[:len(list)-2], token.PageListBlocks, account, []string{snapA}, t0, token.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.VerifyPage(tc.tok, tc.kind, tc.acct, tc.snapshots, tc.now)
			if !errors.Is(err, tc.want) {
				t.Errorf("VerifyPage error = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestPageTokenNotABlockToken(t *testing.T) {
	s := mustSigner(t, 1)
	for _, kind := range []token.PageKind{token.PageListBlocks, token.PageChangedBlocks} {
		tok := s.PageToken(kind, account, []string{snapA}, 5, expires)
		if _, err := s.VerifyBlock(tok, account, snapA, 5, t0); !errors.Is(err, token.ErrInvalid) {
			t.Errorf("%v page token as block token: error = %v, want %v", kind, err, token.ErrInvalid)
		}
	}
}

func TestPageTokenBitFlips(t *testing.T) {
	s := mustSigner(t, 1)
	snaps := []string{snapA, snapB}
	raw := rawOf(t, s.PageToken(token.PageChangedBlocks, account, snaps, 4242, expires))
	for i := range raw {
		for bit := range 8 {
			flipped := append([]byte(nil), raw...)
			flipped[i] ^= 1 << bit
			if _, err := s.VerifyPage(encodeRaw(flipped), token.PageChangedBlocks, account, snaps, t0); !errors.Is(err, token.ErrInvalid) {
				t.Fatalf("byte %d bit %d flipped: error = %v, want %v", i, bit, err, token.ErrInvalid)
			}
		}
	}
}

func TestPageTokenUnknownKindPanics(t *testing.T) {
	s := mustSigner(t, 1)
	defer func() {
		if recover() == nil {
			t.Error("PageToken(PageKind(1)) did not panic")
		}
	}()
	s.PageToken(token.PageKind(1), account, []string{snapA}, 0, expires)
}
