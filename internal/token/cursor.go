package token

import (
	"fmt"
	"time"
)

// CursorKind is the listing a cursor token continues. Its value is the
// token's kind byte, distinct from the block and page kinds.
type CursorKind uint8

// The listings that issue cursor tokens: EC2's, which resume after a
// record named by a string, not at a block index.
const (
	CursorDescribeSnapshots CursorKind = 4
	CursorDescribeTags      CursorKind = 5
)

func (k CursorKind) valid() bool { return k == CursorDescribeSnapshots || k == CursorDescribeTags }

// MaxCursorLen is the longest cursor a token carries.
const MaxCursorLen = 192

// cursorMaxRawLen is the longest cursor token: header, length byte, the
// cursor and the MAC.
const cursorMaxRawLen = headerLen + 1 + MaxCursorLen + macLen

// CursorToken returns a token that resumes a listing of kind by account
// with the given selection (the filters, canonically written) after
// cursor, valid until expires. The cursor is carried in the token, and is
// readable by whoever holds it: it must name only what the account may
// see. kind, account and selection are authenticated but not stored:
// VerifyCursor must be given the same ones. CursorToken panics if kind is
// unknown or the cursor is longer than MaxCursorLen.
func (s *Signer) CursorToken(kind CursorKind, account, selection, cursor string, expires time.Time) string {
	if !kind.valid() || len(cursor) > MaxCursorLen {
		panic(fmt.Sprintf("token: CursorToken of %d with a %d-byte cursor", kind, len(cursor)))
	}
	st := s.page.get()
	defer s.page.put(st)
	msg := appendHeader(st.buf[:0], byte(kind), expires)
	msg = append(msg, byte(len(cursor)))
	msg = append(msg, cursor...)
	n := len(msg)
	msg = appendString(msg, account)
	msg = appendString(msg, selection)
	// Not st.seal: its fixed buffer fits block and page tokens only.
	raw := append(msg[:n:n], st.mac(msg)...)
	st.buf = msg[:0]
	return encoding.EncodeToString(raw)
}

// VerifyCursor checks that token was minted by CursorToken for the same
// kind, account and selection and has not expired at now, and returns the
// cursor. Its errors wrap ErrInvalid or ErrExpired.
func (s *Signer) VerifyCursor(token string, kind CursorKind, account, selection string, now time.Time) (string, error) {
	var buf [cursorMaxRawLen]byte
	if len(token) > encoding.EncodedLen(len(buf)) {
		return "", errMalformed
	}
	raw, err := decodeInto(buf[:], token)
	if err != nil {
		return "", err
	}
	if !kind.valid() || len(raw) < headerLen+1+macLen {
		return "", errMalformed
	}
	if err := checkHeader(raw, byte(kind)); err != nil {
		return "", err
	}
	n := int(raw[headerLen])
	if len(raw) != headerLen+1+n+macLen {
		return "", errMalformed
	}
	st := s.page.get()
	defer s.page.put(st)
	msg := st.body(raw)
	msg = appendString(msg, account)
	msg = appendString(msg, selection)
	if !st.verify(raw, msg) {
		return "", errForged
	}
	if err := checkExpiry(raw, now); err != nil {
		return "", err
	}
	return string(raw[headerLen+1 : headerLen+1+n]), nil
}

// decodeInto decodes token into dst, which must have room for it, and
// accepts only the canonical text form, like decode; cursor tokens are
// longer than decode's fixed buffer allows.
func decodeInto(dst []byte, token string) ([]byte, error) {
	if len(token) == 0 || encoding.DecodedLen(len(token)) > len(dst) {
		return nil, errMalformed
	}
	n, err := encoding.Decode(dst, []byte(token))
	if err != nil || encoding.EncodedLen(n) != len(token) {
		return nil, errMalformed
	}
	return dst[:n], nil
}
