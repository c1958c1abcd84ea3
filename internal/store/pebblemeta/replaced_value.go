package pebblemeta

import (
	"fmt"

	"github.com/ebsd/ebsd/internal/store"
)

// An R entry's value is a flags byte, the own write's Digest, its Key
// unless it equals the Digest (a block that is not encrypted), and, when
// the write replaced a mapping, that mapping's Digest and Key the same
// way: 33 to 129 bytes, mostly 33 or 65, where two BlockRefs take 128.
// OwnChanges reads every entry of a side in range, so their size is what
// it costs.
const (
	replacedOwnKey  = 1 << iota // the own write's Key follows its Digest
	replacedSome                // a replaced mapping follows
	replacedSomeKey             // the replaced mapping's Key follows its Digest
	replacedFlags   = replacedOwnKey | replacedSome | replacedSomeKey
)

// encodeReplaced returns the value of an R entry: own, and what it
// replaced when replaces.
func encodeReplaced(own store.BlockRef, replaced store.BlockRef, replaces bool) []byte {
	b := make([]byte, 1, 1+refSize*2)
	b = appendHalfRef(b, own, &b[0], replacedOwnKey)
	if replaces {
		b[0] |= replacedSome
		b = appendHalfRef(b, replaced, &b[0], replacedSomeKey)
	}
	return b
}

// appendHalfRef appends ref's Digest, and its Key with flag set in flags
// when the two differ.
func appendHalfRef(b []byte, ref store.BlockRef, flags *byte, flag byte) []byte {
	b = append(b, ref.Digest[:]...)
	if ref.Key != ref.Digest {
		*flags |= flag
		b = append(b, ref.Key[:]...)
	}
	return b
}

// decodeReplaced decodes an R entry's value: the own write's mapping and,
// when wantReplaced, what it replaced.
func decodeReplaced(v []byte, wantReplaced bool) (own, replaced store.BlockRef, replaces bool, err error) {
	if len(v) == 0 || v[0]&^replacedFlags != 0 {
		return own, replaced, false, fmt.Errorf("pebblemeta: replaced entry %x: %w", v, store.ErrCorrupt)
	}
	flags, rest := v[0], v[1:]
	if rest, err = readHalfRef(rest, &own, flags&replacedOwnKey != 0); err != nil {
		return own, replaced, false, err
	}
	if replaces = flags&replacedSome != 0; replaces && wantReplaced {
		if rest, err = readHalfRef(rest, &replaced, flags&replacedSomeKey != 0); err != nil {
			return own, replaced, false, err
		}
	} else if replaces {
		return own, replaced, replaces, nil // the rest is not read
	}
	if len(rest) != 0 {
		return own, replaced, false, fmt.Errorf("pebblemeta: replaced entry %x: %w", v, store.ErrCorrupt)
	}
	return own, replaced, replaces, nil
}

// readHalfRef reads into ref what appendHalfRef wrote.
func readHalfRef(b []byte, ref *store.BlockRef, hasKey bool) ([]byte, error) {
	n := len(ref.Digest)
	if hasKey {
		n += len(ref.Key)
	}
	if len(b) < n {
		return nil, fmt.Errorf("pebblemeta: replaced entry of %d bytes too short: %w", len(b), store.ErrCorrupt)
	}
	copy(ref.Digest[:], b)
	if hasKey {
		copy(ref.Key[:], b[len(ref.Digest):])
	} else {
		ref.Key = ref.Digest
	}
	return b[n:], nil
}
