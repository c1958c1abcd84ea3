package token_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/token"
)

func TestNewSignerSecretLength(t *testing.T) {
	for _, n := range []int{0, 1, token.MinSecretLen - 1} {
		if _, err := token.NewSigner(make([]byte, n)); err == nil {
			t.Errorf("NewSigner(%d bytes) = nil error, want one", n)
		}
	}
	if _, err := token.NewSigner(make([]byte, token.MinSecretLen)); err != nil {
		t.Errorf("NewSigner(%d bytes): %v", token.MinSecretLen, err)
	}
}

func TestBlockTokenRoundTrip(t *testing.T) {
	s := mustSigner(t, 1)
	for _, tc := range []struct {
		name   string
		claims token.BlockClaims
		index  int32
		maxLen int
	}{
		{"plain", plainClaims(), 0, 74},
		{"keyed", keyedClaims(), 134217727, 116},
		{"zero index", plainClaims(), 0, 74},
		{"negative index", keyedClaims(), -1, 116},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := s.BlockToken(tc.claims, account, snapA, tc.index, expires)
			if len(tok) > tc.maxLen || len(tok) > 256 {
				t.Errorf("len(token) = %d, want <= %d", len(tok), tc.maxLen)
			}
			for _, c := range tok {
				if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
					t.Fatalf("token %q has character %q outside [A-Za-z0-9_-]", tok, c)
				}
			}
			got, err := s.VerifyBlock(tok, account, snapA, tc.index, t0)
			if err != nil {
				t.Fatalf("VerifyBlock: %v", err)
			}
			if got != tc.claims {
				t.Errorf("VerifyBlock = %+v, want %+v", got, tc.claims)
			}
		})
	}
}

// TestBlockTokenLongest asserts the API's 256-character limit on the longest
// token the package can mint.
func TestBlockTokenLongest(t *testing.T) {
	s := mustSigner(t, 1)
	tok := s.BlockToken(keyedClaims(), account, snapA, 1<<31-1, time.Unix(1<<40, 0))
	if got, want := len(tok), 116; got != want {
		t.Errorf("len(longest token) = %d, want %d", got, want)
	}
	if len(tok) > 256 {
		t.Errorf("len(longest token) = %d, exceeds the API's 256", len(tok))
	}
}

func TestVerifyBlockRejects(t *testing.T) {
	s := mustSigner(t, 1)
	other := mustSigner(t, 2)
	good := s.BlockToken(keyedClaims(), account, snapA, 7, expires)
	plain := s.BlockToken(plainClaims(), account, snapA, 7, expires)
	page := s.PageToken(token.PageListBlocks, account, []string{snapA}, 7, expires)
	for _, tc := range []struct {
		name       string
		tok        string
		acct, snap string
		index      int32
		now        time.Time
		want       error
	}{
		{"other index", good, account, snapA, 8, t0, token.ErrInvalid},
		{"other snapshot", good, account, snapB, 7, t0, token.ErrInvalid},
		{"other account", good, "444455556666", snapA, 7, t0, token.ErrInvalid},
		{"shifted fields", good, account + "s", "nap-0e3be26c9ccc164eb", 7, t0, token.ErrInvalid},
		{"other secret", other.BlockToken(keyedClaims(), account, snapA, 7, expires), account, snapA, 7, t0, token.ErrInvalid},
		{"page token", page, account, snapA, 7, t0, token.ErrInvalid},
		{"at expiry", good, account, snapA, 7, expires, token.ErrExpired},
		{"after expiry", good, account, snapA, 7, expires.Add(time.Hour), token.ErrExpired},
		{"plain at expiry", plain, account, snapA, 7, expires, token.ErrExpired},
		{"empty", "", account, snapA, 7, t0, token.ErrInvalid},
		{"truncated", good[:len(good)-1], account, snapA, 7, t0, token.ErrInvalid},
		{"extended", good + "A", account, snapA, 7, t0, token.ErrInvalid},
		{"too long", string(make([]byte, 300)), account, snapA, 7, t0, token.ErrInvalid},
		{"standard alphabet", "+/" + good[2:], account, snapA, 7, t0, token.ErrInvalid},
		{"padded", good + "==", account, snapA, 7, t0, token.ErrInvalid},
		{"newline inside", good[:10] + "\n" + good[10:], account, snapA, 7, t0, token.ErrInvalid},
		{"plain cut to keyed length", plain + good[len(plain):], account, snapA, 7, t0, token.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.VerifyBlock(tc.tok, tc.acct, tc.snap, tc.index, tc.now)
			if !errors.Is(err, tc.want) {
				t.Fatalf("VerifyBlock error = %v, want %v", err, tc.want)
			}
			other := token.ErrExpired
			if tc.want == token.ErrExpired {
				other = token.ErrInvalid
			}
			if errors.Is(err, other) {
				t.Errorf("VerifyBlock error = %v wraps %v too", err, other)
			}
		})
	}
}

func TestVerifyBlockExpiryBoundary(t *testing.T) {
	s := mustSigner(t, 1)
	exp := t0.Add(900 * time.Millisecond) // rounded down to t0
	tok := s.BlockToken(plainClaims(), account, snapA, 0, exp)
	for _, tc := range []struct {
		name string
		now  time.Time
		want error
	}{
		{"a second before", t0.Add(-time.Second), nil},
		{"a nanosecond before the second", t0.Add(-time.Nanosecond), nil},
		{"inside the rounded-down second", t0.Add(500 * time.Millisecond), token.ErrExpired},
		{"at the second", t0, token.ErrExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.VerifyBlock(tok, account, snapA, 0, tc.now)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("VerifyBlock error = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestVerifyBlockExpiryClamped(t *testing.T) {
	s := mustSigner(t, 1)
	past := s.BlockToken(plainClaims(), account, snapA, 0, time.Unix(-5, 0))
	if _, err := s.VerifyBlock(past, account, snapA, 0, time.Unix(0, 0)); !errors.Is(err, token.ErrExpired) {
		t.Errorf("token expiring before 1970: error = %v, want %v", err, token.ErrExpired)
	}
	future := s.BlockToken(plainClaims(), account, snapA, 0, time.Unix(1<<40, 0))
	if _, err := s.VerifyBlock(future, account, snapA, 0, time.Unix(1<<32-2, 0)); err != nil {
		t.Errorf("token expiring after 2106, verified in 2106: %v", err)
	}
}

// TestBlockTokenBitFlips flips every bit of a token's bytes, and replaces
// every character of its text with every other character of the alphabet:
// none of the results may verify.
func TestBlockTokenBitFlips(t *testing.T) {
	s := mustSigner(t, 1)
	for _, claims := range []token.BlockClaims{plainClaims(), keyedClaims()} {
		tok := s.BlockToken(claims, account, snapA, 3, expires)
		raw := rawOf(t, tok)
		for i := range raw {
			for bit := range 8 {
				flipped := append([]byte(nil), raw...)
				flipped[i] ^= 1 << bit
				if _, err := s.VerifyBlock(encodeRaw(flipped), account, snapA, 3, t0); !errors.Is(err, token.ErrInvalid) {
					t.Fatalf("byte %d bit %d flipped: error = %v, want %v", i, bit, err, token.ErrInvalid)
				}
			}
		}
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		for i := range len(tok) {
			for _, c := range []byte(alphabet) {
				if c == tok[i] {
					continue
				}
				mut := tok[:i] + string(c) + tok[i+1:]
				if _, err := s.VerifyBlock(mut, account, snapA, 3, t0); err == nil {
					t.Fatalf("character %d changed to %q: token verified", i, c)
				}
			}
		}
	}
}
