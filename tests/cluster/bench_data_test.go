package cluster_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/ebsd/ebsd/internal/ebstest"
)

// benchData makes the blocks of a run: a random base block whose last
// stampSize bytes are replaced by a block's (tag, index) stamp, so that
// every block is distinct (no dedup, random hence incompressible) while a
// client only writes 16 bytes per block and hashes 64 bytes per checksum.
type benchData struct {
	base   []byte
	prefix []byte // the SHA-256 state after base[:stampAt]
}

const (
	stampSize = 16
	stampAt   = ebstest.BlockSize - stampSize
)

func newBenchData(t *testing.T) *benchData {
	t.Helper()
	base := make([]byte, ebstest.BlockSize)
	rand.Read(base)
	h := sha256.New()
	h.Write(base[:stampAt])
	prefix, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return &benchData{base: base, prefix: prefix}
}

// stamp makes buf, a copy of the base block, block (tag, i).
func (d *benchData) stamp(buf []byte, tag uint64, i int) {
	binary.LittleEndian.PutUint64(buf[stampAt:], tag)
	binary.LittleEndian.PutUint64(buf[stampAt+8:], uint64(i))
}

// digest returns the SHA-256 of block (tag, i).
func (d *benchData) digest(tag uint64, i int) [32]byte {
	h := sha256.New()
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(d.prefix); err != nil {
		panic(err) // the state MarshalBinary just made
	}
	var s [stampSize]byte
	binary.LittleEndian.PutUint64(s[:], tag)
	binary.LittleEndian.PutUint64(s[8:], uint64(i))
	h.Write(s[:])
	return [32]byte(h.Sum(nil))
}

// check reads r into buf and fails unless it is exactly block (tag, i).
func (d *benchData) check(r io.Reader, buf []byte, tag uint64, i int) error {
	if _, err := io.ReadFull(r, buf); err != nil {
		return fmt.Errorf("body: %w", err)
	}
	if n, _ := r.Read(make([]byte, 1)); n != 0 {
		return errors.New("body longer than a block")
	}
	if binary.LittleEndian.Uint64(buf[stampAt:]) != tag || binary.LittleEndian.Uint64(buf[stampAt+8:]) != uint64(i) ||
		!bytes.Equal(buf[:stampAt], d.base[:stampAt]) {
		return errors.New("read back different data")
	}
	return nil
}
