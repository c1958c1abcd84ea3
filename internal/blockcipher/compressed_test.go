package blockcipher_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"testing"

	"github.com/ebsd/ebsd/internal/blockcipher"
	"github.com/ebsd/ebsd/internal/ebs"
)

// TestCompressedRoundTrip seals packed bytes in the compressed form and
// opens them back; the raw form of a block is never taken for it.
func TestCompressedRoundTrip(t *testing.T) {
	c := mustCipher(t, 1)
	block, d := randomBlock(t, 2)
	for _, packed := range [][]byte{nil, []byte("a zstd frame, say"), block[:ebs.BlockSize/2], block[:ebs.BlockSize+blockcipher.Overhead()-blockcipher.CompressedOverhead()-1]} {
		sealed, err := c.SealCompressed([]byte("dst"), d, blockcipher.CodecZstd, packed)
		if err != nil {
			t.Fatalf("SealCompressed(%d bytes): %v", len(packed), err)
		}
		if !bytes.HasPrefix(sealed, []byte("dst")) || len(sealed) != 3+len(packed)+blockcipher.CompressedOverhead() {
			t.Fatalf("SealCompressed(%d bytes) = %d bytes, want dst and %d more", len(packed), len(sealed), len(packed)+blockcipher.CompressedOverhead())
		}
		sealed = sealed[3:]
		if !blockcipher.IsCompressed(sealed) {
			t.Errorf("IsCompressed(compressed form of %d bytes) = false", len(packed))
		}
		codec, got, err := c.OpenCompressed(d, bytes.Clone(sealed))
		if err != nil || codec != blockcipher.CodecZstd || !bytes.Equal(got, packed) {
			t.Errorf("OpenCompressed = codec %d, %d bytes, %v; want %d, the %d packed bytes", codec, len(got), err, blockcipher.CodecZstd, len(packed))
		}
		if _, err := c.Open(nil, d, sealed); !errors.Is(err, blockcipher.ErrAuth) {
			t.Errorf("Open(compressed form) = %v, want ErrAuth", err)
		}
	}
	raw := c.Seal(nil, d, block)
	if blockcipher.IsCompressed(raw) {
		t.Error("IsCompressed(raw form) = true")
	}
	raw[0] = 2 // the compressed form's version byte, by chance
	if blockcipher.IsCompressed(raw) {
		t.Error("IsCompressed(raw form starting with 2) = true: a raw form is told by its length")
	}
	if _, _, err := c.OpenCompressed(d, raw); !errors.Is(err, blockcipher.ErrAuth) {
		t.Errorf("OpenCompressed(raw form) = %v, want ErrAuth", err)
	}
}

// TestCompressedNotSmaller: a compressed form as long as a raw one would
// be ambiguous, so it is refused.
func TestCompressedNotSmaller(t *testing.T) {
	c := mustCipher(t, 1)
	block, d := randomBlock(t, 3)
	for _, n := range []int{ebs.BlockSize + blockcipher.Overhead() - blockcipher.CompressedOverhead(), ebs.BlockSize, ebs.BlockSize + 1} {
		if out, err := c.SealCompressed(nil, d, blockcipher.CodecZstd, append(block, 0)[:n]); !errors.Is(err, blockcipher.ErrNotSmaller) || len(out) != 0 {
			t.Errorf("SealCompressed(%d bytes) = %d bytes, %v; want ErrNotSmaller", n, len(out), err)
		}
	}
}

// TestCompressedRejects alters each part of a compressed form, or opens
// it with another digest or key: always ErrAuth.
func TestCompressedRejects(t *testing.T) {
	c := mustCipher(t, 1)
	block, d := randomBlock(t, 4)
	sealed, err := c.SealCompressed(nil, d, blockcipher.CodecZstd, block[:1000])
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte { b := bytes.Clone(sealed); b[i] ^= 1; return b }
	other := d
	other[0] ^= 1
	tests := []struct {
		name   string
		c      *blockcipher.Cipher
		digest ebs.Digest
		sealed []byte
	}{
		{"version byte", c, d, flip(0)},
		{"codec byte", c, d, flip(1)},
		{"nonce", c, d, flip(5)},
		{"ciphertext", c, d, flip(100)},
		{"tag", c, d, flip(len(sealed) - 1)},
		{"cut short", c, d, sealed[:len(sealed)-1]},
		{"too short for a header", c, d, sealed[:20]},
		{"another digest", c, other, sealed},
		{"another key", mustCipher(t, 2), d, sealed},
	}
	for _, tc := range tests {
		if codec, got, err := tc.c.OpenCompressed(tc.digest, bytes.Clone(tc.sealed)); !errors.Is(err, blockcipher.ErrAuth) || got != nil || codec != 0 {
			t.Errorf("%s: OpenCompressed = %d, %d bytes, %v; want ErrAuth", tc.name, codec, len(got), err)
		}
	}
}

// TestCompressedNonce: equal packed bytes seal equally (they deduplicate);
// the same block packed two ways gets two nonces, never one nonce for two
// plaintexts; and no compressed nonce is the raw form's.
func TestCompressedNonce(t *testing.T) {
	c := mustCipher(t, 1)
	block, d := randomBlock(t, 5)
	seal := func(packed []byte) []byte {
		out, err := c.SealCompressed(nil, d, blockcipher.CodecZstd, packed)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	a1, a2, b := seal(block[:1000]), seal(block[:1000]), seal(block[:1001])
	if !bytes.Equal(a1, a2) {
		t.Error("sealing the same packed bytes twice differs")
	}
	nonce := func(s []byte) []byte { return s[2:14] }
	if bytes.Equal(nonce(a1), nonce(b)) {
		t.Error("two packings of one block share a nonce")
	}
	// The raw form's nonce is HMAC(kn, D)[:12]: its first ciphertext byte
	// XOR the plaintext's is the keystream, which a compressed form under
	// the same nonce would share.
	raw := c.Seal(nil, d, block)
	packed := slices.Clone(block[:1000])
	if ks := raw[0] ^ block[0]; a1[14]^packed[0] == ks && a1[15]^packed[1] == raw[1]^block[1] {
		t.Error("the compressed form shares the raw form's keystream")
	}
}

// TestCompressedConstruction recomputes the documented compressed form
// with the standard library, and pins a vector: stored blocks must keep
// opening.
func TestCompressedConstruction(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	plain := []byte("the construction is persisted")
	packed := []byte("packed form of it")
	d := ebs.Sum(plain)
	mac := func(k []byte, msg ...[]byte) []byte {
		h := hmac.New(sha256.New, k)
		for _, m := range msg {
			h.Write(m)
		}
		return h.Sum(nil)
	}
	ke := mac(key, []byte("ebsd blockcipher v1 encryption"))
	kc := mac(key, []byte("ebsd blockcipher v2 compressed nonce"))
	block, err := aes.NewCipher(ke)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	nonce := mac(kc, d[:], []byte{1}, packed)[:12]
	want := slices.Concat([]byte{2, 1}, nonce, gcm.Seal(nil, nonce, packed, slices.Concat(d[:], []byte{2, 1})))
	c, err := blockcipher.New(key)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.SealCompressed(nil, d, blockcipher.CodecZstd, packed)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("SealCompressed = %x, %v; want %x", got, err, want)
	}
	const wantSealed = "0201d6172964daa1af87e40add1d63c69e31138c6c56866b9d6a8b59ea67f7396d653287815c25300002185eb9d16c"
	if hex.EncodeToString(got) != wantSealed {
		t.Errorf("SealCompressed = %x, want %s", got, wantSealed)
	}
}
