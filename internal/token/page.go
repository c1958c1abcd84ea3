package token

import (
	"encoding/binary"
	"fmt"
	"time"
)

const pageLen = headerLen + 4 + macLen

// PageKind is the operation a page token continues. Its value is the token's
// kind byte.
type PageKind uint8

// The operations that issue page tokens.
const (
	PageListBlocks    PageKind = 2 // ListSnapshotBlocks: bound to one snapshot
	PageChangedBlocks PageKind = 3 // ListChangedBlocks: bound to the (first, second) pair
)

func (k PageKind) valid() bool { return k == PageListBlocks || k == PageChangedBlocks }

// String returns the name of the operation k continues.
func (k PageKind) String() string {
	switch k {
	case PageListBlocks:
		return "ListSnapshotBlocks"
	case PageChangedBlocks:
		return "ListChangedBlocks"
	}
	return fmt.Sprintf("PageKind(%d)", uint8(k))
}

// PageToken returns a token that resumes a listing of kind by account over
// snapshots at block index next, valid until expires. kind, account and
// snapshots (in order: ListChangedBlocks passes first, second) are
// authenticated but not stored: VerifyPage must be given the same ones.
// PageToken panics if kind is not one of the PageKind constants.
func (s *Signer) PageToken(kind PageKind, account string, snapshots []string, next int32, expires time.Time) string {
	if !kind.valid() {
		panic(fmt.Sprintf("token: PageToken of unknown %v", kind))
	}
	st := s.page.get()
	defer s.page.put(st)
	msg := appendHeader(st.buf[:0], byte(kind), expires)
	msg = binary.BigEndian.AppendUint32(msg, uint32(next))
	n := len(msg)
	msg = appendPageBound(msg, account, snapshots)
	return st.seal(msg, n)
}

// VerifyPage checks that token was minted by PageToken for the same kind,
// account and snapshots and has not expired at now, and returns the block
// index the listing resumes at. Its errors wrap ErrInvalid or ErrExpired.
func (s *Signer) VerifyPage(token string, kind PageKind, account string, snapshots []string, now time.Time) (next int32, err error) {
	var buf [maxRawLen]byte
	raw, err := decode(buf[:], token)
	if err != nil {
		return 0, err
	}
	if !kind.valid() || len(raw) != pageLen {
		return 0, errMalformed
	}
	if err := checkHeader(raw, byte(kind)); err != nil {
		return 0, err
	}

	st := s.page.get()
	defer s.page.put(st)
	msg := appendPageBound(st.body(raw), account, snapshots)
	if !st.verify(raw, msg) {
		return 0, errForged
	}
	if err := checkExpiry(raw, now); err != nil {
		return 0, err
	}
	return int32(binary.BigEndian.Uint32(raw[headerLen:])), nil
}

// appendPageBound appends the fields a page token is bound to.
func appendPageBound(b []byte, account string, snapshots []string) []byte {
	b = appendString(b, account)
	b = binary.AppendUvarint(b, uint64(len(snapshots)))
	for _, id := range snapshots {
		b = appendString(b, id)
	}
	return b
}
