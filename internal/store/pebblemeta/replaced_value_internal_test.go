package pebblemeta

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
)

// TestReplacedValue round-trips R entry values of plain and encrypted
// mappings, with and without a replaced one, and refuses damaged ones.
func TestReplacedValue(t *testing.T) {
	plain := func(s string) store.BlockRef {
		d := ebs.Digest(sha256.Sum256([]byte(s)))
		return store.BlockRef{Digest: d, Key: d}
	}
	sealed := func(s string) store.BlockRef {
		r := plain(s)
		r.Key = ebs.Digest(sha256.Sum256([]byte("key " + s)))
		return r
	}
	for _, c := range []struct {
		name          string
		own, replaced store.BlockRef
		replaces      bool
		size          int
	}{
		{"plain, none", plain("a"), store.BlockRef{}, false, 33},
		{"plain, plain", plain("a"), plain("b"), true, 65},
		{"sealed, none", sealed("a"), store.BlockRef{}, false, 65},
		{"plain, sealed", plain("a"), sealed("b"), true, 97},
		{"sealed, sealed", sealed("a"), sealed("b"), true, 129},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := encodeReplaced(c.own, c.replaced, c.replaces)
			if len(v) != c.size {
				t.Errorf("%d bytes, want %d", len(v), c.size)
			}
			for _, want := range []bool{true, false} {
				own, replaced, replaces, err := decodeReplaced(v, want)
				if err != nil || own != c.own || replaces != c.replaces || (want && replaced != c.replaced) {
					t.Errorf("decodeReplaced(%v) = %v, %v, %v, %v", want, own, replaced, replaces, err)
				}
			}
			for _, bad := range [][]byte{nil, v[:len(v)-1], append(bytes.Clone(v), 0), append([]byte{v[0] | 8}, v[1:]...)} {
				if _, _, _, err := decodeReplaced(bad, true); !errors.Is(err, store.ErrCorrupt) {
					t.Errorf("decodeReplaced(%x) = %v, want ErrCorrupt", bad, err)
				}
			}
		})
	}
}
