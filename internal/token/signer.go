package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash"
	"math"
	"sync"
	"time"
)

// MinSecretLen is the shortest secret NewSigner accepts: 256 bits.
const MinSecretLen = 32

// The layout of a token; see the package documentation.
const (
	version    = 1
	headerLen  = 6  // version, kind, expiry
	macLen     = 16 // truncated HMAC-SHA256
	kindBlock  = 1  // PageKind values follow: 2 and 3
	maxRawLen  = blockKeyedLen
	maxTextLen = (maxRawLen*8 + 5) / 6 // unpadded base64 of maxRawLen bytes
)

// maxScratch bounds the MAC-input buffer a pooled state keeps, so that a
// request with absurdly long IDs cannot pin a large buffer in the pool.
const maxScratch = 1024

// encoding is strict so that a token has exactly one text form: the unused
// low bits of the last character must be zero.
var encoding = base64.RawURLEncoding.Strict()

// The reasons a token is invalid. They are values so that rejecting a token
// allocates nothing.
var (
	errMalformed = fmt.Errorf("%w: malformed", ErrInvalid)
	errForged    = fmt.Errorf("%w: authentication failed", ErrInvalid)
)

// Signer mints and verifies tokens with keys derived from one secret. It is
// safe for concurrent use and must not be copied.
type Signer struct {
	block macPool // MACs block tokens
	page  macPool // MACs page tokens
}

// NewSigner returns a Signer whose keys are derived from secret, which must
// be at least MinSecretLen bytes of uniformly random data. Every server
// sharing a metadata store must use the same secret, so that tokens minted by
// one verify on the others.
func NewSigner(secret []byte) (*Signer, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("token: secret is %d bytes, want at least %d", len(secret), MinSecretLen)
	}
	s := &Signer{}
	s.block.init(deriveKey(secret, "ebsd block token v1"))
	s.page.init(deriveKey(secret, "ebsd page token v1"))
	return s, nil
}

// deriveKey returns the key for one purpose: HMAC-SHA256(secret, label),
// like HKDF's expand step for one output block (without its counter byte);
// no extract step is needed because the secret is already uniformly random.
func deriveKey(secret []byte, label string) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(label))
	return h.Sum(nil)
}

// macPool hands out HMAC states keyed with one key, so that minting a token
// per listed block allocates nothing but the token string.
type macPool struct {
	pool sync.Pool
}

func (p *macPool) init(key []byte) {
	p.pool.New = func() any {
		return &macState{h: hmac.New(sha256.New, key), buf: make([]byte, 0, 256)}
	}
}

func (p *macPool) get() *macState { return p.pool.Get().(*macState) }

func (p *macPool) put(st *macState) {
	if cap(st.buf) > maxScratch {
		return
	}
	p.pool.Put(st)
}

// macState is one keyed HMAC with scratch space for its input and output.
type macState struct {
	h   hash.Hash
	buf []byte
	sum [sha256.Size]byte
}

// mac returns the truncated MAC of msg. The result aliases st.
func (st *macState) mac(msg []byte) []byte {
	st.h.Reset()
	st.h.Write(msg)
	return st.h.Sum(st.sum[:0])[:macLen]
}

// seal returns the text of a token whose bytes are msg[:n] followed by the
// MAC of msg, where msg is the token's body followed by the fields it is
// bound to. msg must live in st.buf.
func (st *macState) seal(msg []byte, n int) string {
	raw := append(msg[:n], st.mac(msg)...)
	st.buf = raw[:0]
	var text [maxTextLen]byte
	encoding.Encode(text[:], raw)
	return string(text[:encoding.EncodedLen(len(raw))])
}

// body returns st's scratch buffer holding the body of raw, a decoded token,
// for the caller to append the bound fields to before calling verify.
func (st *macState) body(raw []byte) []byte {
	return append(st.buf[:0], raw[:len(raw)-macLen]...)
}

// verify reports whether raw's MAC is the MAC of msg, its body followed by
// the bound fields.
func (st *macState) verify(raw, msg []byte) bool {
	st.buf = msg[:0]
	return hmac.Equal(st.mac(msg), raw[len(raw)-macLen:])
}

// decode decodes token into dst, which must have room for maxRawLen bytes,
// and returns the bytes decoded. It accepts only the canonical text form.
func decode(dst []byte, token string) ([]byte, error) {
	if len(token) == 0 || len(token) > maxTextLen {
		return nil, errMalformed
	}
	var text [maxTextLen]byte
	src := text[:copy(text[:], token)]
	n, err := encoding.Decode(dst, src)
	// The decoder skips CR and LF; a token containing them is not canonical.
	if err != nil || encoding.EncodedLen(n) != len(token) {
		return nil, errMalformed
	}
	return dst[:n], nil
}

// appendHeader appends the version, kind and expiry of a new token.
func appendHeader(b []byte, kind byte, expires time.Time) []byte {
	b = append(b, version, kind)
	return binary.BigEndian.AppendUint32(b, expirySeconds(expires))
}

// expirySeconds is expires in whole unix seconds, rounded down and clamped
// to what four bytes hold.
func expirySeconds(expires time.Time) uint32 {
	switch sec := expires.Unix(); {
	case sec < 0:
		return 0
	case sec > math.MaxUint32:
		return math.MaxUint32
	default:
		return uint32(sec)
	}
}

// checkHeader checks the version and kind of a decoded token.
func checkHeader(raw []byte, kind byte) error {
	if len(raw) < headerLen+macLen || raw[0] != version || raw[1] != kind {
		return errMalformed
	}
	return nil
}

// checkExpiry returns ErrExpired when the authenticated token raw has
// expired at now.
func checkExpiry(raw []byte, now time.Time) error {
	exp := binary.BigEndian.Uint32(raw[2:headerLen])
	if now.Unix() >= int64(exp) {
		return fmt.Errorf("%w at %s", ErrExpired, time.Unix(int64(exp), 0).UTC().Format(time.RFC3339))
	}
	return nil
}

// appendString appends s prefixed with its length.
func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}
