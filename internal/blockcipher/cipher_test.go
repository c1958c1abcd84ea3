package blockcipher_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/ebsd/ebsd/internal/blockcipher"
	"github.com/ebsd/ebsd/internal/ebs"
)

// mustCipher returns a Cipher whose data key is 32 bytes of fill.
func mustCipher(tb testing.TB, fill byte) *blockcipher.Cipher {
	tb.Helper()
	c, err := blockcipher.New(bytes.Repeat([]byte{fill}, blockcipher.KeySize))
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return c
}

// randomBlock returns a pseudo-random 512 KiB block and its digest.
func randomBlock(tb testing.TB, seed uint64) ([]byte, ebs.Digest) {
	tb.Helper()
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, ebs.BlockSize)
	for i := 0; i < len(b); i += 8 {
		v := r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b, ebs.Sum(b)
}

func TestNewKeyLength(t *testing.T) {
	for _, n := range []int{0, 16, 24, 31, 33, 64} {
		if _, err := blockcipher.New(make([]byte, n)); err == nil {
			t.Errorf("New(%d-byte key) = nil error, want one", n)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	c := mustCipher(t, 1)
	random, _ := randomBlock(t, 1)
	for _, tc := range []struct {
		name  string
		plain []byte
	}{
		{"random block", random},
		{"zero block", make([]byte, ebs.BlockSize)},
		{"short", []byte("not a whole block")},
		{"empty", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := ebs.Sum(tc.plain)
			sealed := c.Seal(nil, d, tc.plain)
			if got, want := len(sealed), len(tc.plain)+blockcipher.Overhead(); got != want {
				t.Errorf("len(sealed) = %d, want %d", got, want)
			}
			if len(tc.plain) > 0 && bytes.Contains(sealed, tc.plain[:min(64, len(tc.plain))]) {
				t.Errorf("sealed form contains the plaintext")
			}
			got, err := c.Open(nil, d, sealed)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if !bytes.Equal(got, tc.plain) {
				t.Errorf("Open returned other bytes than were sealed")
			}
		})
	}
}

func TestInPlace(t *testing.T) {
	c := mustCipher(t, 1)
	plain, d := randomBlock(t, 2)
	buf := make([]byte, len(plain), len(plain)+blockcipher.Overhead())
	copy(buf, plain)
	sealed := c.Seal(buf[:0], d, buf)
	if &sealed[0] != &buf[0] {
		t.Errorf("Seal into plaintext[:0] with room reallocated")
	}
	opened, err := c.Open(sealed[:0], d, sealed)
	if err != nil {
		t.Fatalf("Open in place: %v", err)
	}
	if !bytes.Equal(opened, plain) {
		t.Errorf("Open in place returned other bytes than were sealed")
	}
}

func TestSealAppends(t *testing.T) {
	c := mustCipher(t, 1)
	plain := []byte("payload")
	d := ebs.Sum(plain)
	out := c.Seal([]byte("prefix"), d, plain)
	if !bytes.HasPrefix(out, []byte("prefix")) || !bytes.Equal(out[6:], c.Seal(nil, d, plain)) {
		t.Errorf("Seal(dst) did not append to dst")
	}
	opened, err := c.Open([]byte("head"), d, out[6:])
	if err != nil || string(opened) != "headpayload" {
		t.Errorf("Open(dst) = %q, %v; want %q", opened, err, "headpayload")
	}
}

func TestOpenRejects(t *testing.T) {
	c := mustCipher(t, 1)
	plain, d := randomBlock(t, 3)
	sealed := c.Seal(nil, d, plain)
	other, otherDigest := randomBlock(t, 4)
	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 0x01
		return b
	}
	for _, tc := range []struct {
		name   string
		c      *blockcipher.Cipher
		digest ebs.Digest
		sealed []byte
	}{
		{"first byte flipped", c, d, flip(0)},
		{"middle byte flipped", c, d, flip(len(sealed) / 2)},
		{"last plaintext byte flipped", c, d, flip(len(plain) - 1)},
		{"tag flipped", c, d, flip(len(sealed) - 1)},
		{"truncated", c, d, sealed[:len(sealed)-1]},
		{"tag only", c, d, sealed[len(sealed)-blockcipher.Overhead():]},
		{"shorter than a tag", c, d, sealed[:3]},
		{"empty", c, d, nil},
		{"extended", c, d, append(bytes.Clone(sealed), 0)},
		{"wrong digest", c, otherDigest, sealed},
		{"other block's ciphertext", c, d, c.Seal(nil, otherDigest, other)},
		{"other data key", mustCipher(t, 2), d, sealed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.c.Open(nil, tc.digest, tc.sealed)
			if !errors.Is(err, blockcipher.ErrAuth) {
				t.Errorf("Open error = %v, want %v", err, blockcipher.ErrAuth)
			}
			if got != nil {
				t.Errorf("Open returned %d bytes with its error", len(got))
			}
		})
	}
}

func TestDeterminism(t *testing.T) {
	plain, d := randomBlock(t, 5)
	c1, c1again := mustCipher(t, 1), mustCipher(t, 1)
	if !bytes.Equal(c1.Seal(nil, d, plain), c1again.Seal(nil, d, plain)) {
		t.Errorf("Seal under one key is not deterministic")
	}
	if c1.StorageKey(d) != c1again.StorageKey(d) {
		t.Errorf("StorageKey under one key is not deterministic")
	}
}

func TestKeysSeparate(t *testing.T) {
	plain, d := randomBlock(t, 6)
	other, otherDigest := randomBlock(t, 7)
	c1, c2 := mustCipher(t, 1), mustCipher(t, 2)
	if c1.StorageKey(d) == c2.StorageKey(d) {
		t.Errorf("two data keys give one storage key")
	}
	if c1.StorageKey(d) == c1.StorageKey(otherDigest) {
		t.Errorf("two digests give one storage key")
	}
	if c1.StorageKey(d) == d {
		t.Errorf("storage key is the plaintext digest")
	}
	s1, s2 := c1.Seal(nil, d, plain), c2.Seal(nil, d, plain)
	if bytes.Equal(s1[:64], s2[:64]) {
		t.Errorf("two data keys give one ciphertext")
	}
	// Different blocks under one key must use different keystreams: their
	// ciphertexts XOR to something other than their plaintexts' XOR.
	s3 := c1.Seal(nil, otherDigest, other)
	same := true
	for i := range 64 {
		if s1[i]^s3[i] != plain[i]^other[i] {
			same = false
			break
		}
	}
	if same {
		t.Errorf("two blocks under one key share a keystream (nonce reuse)")
	}
}

// TestConstruction recomputes the documented construction with the standard
// library. Sealed blocks are persisted, so the construction must not change.
func TestConstruction(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	plain := []byte("the construction is persisted")
	d := ebs.Sum(plain)
	mac := func(k []byte, msg []byte) []byte {
		h := hmac.New(sha256.New, k)
		h.Write(msg)
		return h.Sum(nil)
	}
	ke := mac(key, []byte("ebsd blockcipher v1 encryption"))
	kn := mac(key, []byte("ebsd blockcipher v1 nonce"))
	ks := mac(key, []byte("ebsd blockcipher v1 storage key"))
	block, err := aes.NewCipher(ke)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	want := gcm.Seal(nil, mac(kn, d[:])[:12], plain, d[:])

	c, err := blockcipher.New(key)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Seal(nil, d, plain); !bytes.Equal(got, want) {
		t.Errorf("Seal = %x, want %x", got, want)
	}
	if got := c.StorageKey(d); !bytes.Equal(got[:], mac(ks, d[:])) {
		t.Errorf("StorageKey = %x, want %x", got[:], mac(ks, d[:]))
	}
	// Frozen vectors, in case both the code and the recomputation change.
	const (
		wantKey    = "ce9c6df16a0420da7a0234da2bbd9b60b2d87167b92a693bbd4674efa339ed1b"
		wantSealed = "f5ca7ef6f01cf0ebfb963ec4ed768ba65eaaa161b49a15b9c97d22bce57c102817df01bc872e7967d9b0e93aa0"
	)
	if got := c.StorageKey(d); hex.EncodeToString(got[:]) != wantKey {
		t.Errorf("StorageKey = %x, want %s", got[:], wantKey)
	}
	if got := c.Seal(nil, d, plain); hex.EncodeToString(got) != wantSealed {
		t.Errorf("Seal = %x, want %s", got, wantSealed)
	}
}
