package token

import (
	"encoding/binary"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
)

// The payload of a block token starts with a flag byte that says whether the
// storage key is carried or equals the digest.
const (
	flagKeyIsDigest = 0
	flagKeyCarried  = 1

	blockPlainLen = headerLen + 1 + len(ebs.Digest{}) + macLen
	blockKeyedLen = blockPlainLen + len(ebs.Digest{})
)

// BlockClaims is what a block token carries: enough to read the block
// without looking its mapping up again.
type BlockClaims struct {
	// Digest is the SHA-256 of the block's plaintext, its checksum.
	Digest ebs.Digest
	// Key is the block's key in the block store; equal to Digest for an
	// unencrypted block, which keeps its token short.
	Key ebs.Digest
}

// BlockToken returns a token for block index of snapshotID as seen by
// account, carrying b, valid until expires. account, snapshotID and index
// are authenticated but not stored in the token: VerifyBlock must be given
// the same ones.
func (s *Signer) BlockToken(b BlockClaims, account, snapshotID string, index int32, expires time.Time) string {
	st := s.block.get()
	defer s.block.put(st)
	msg := appendHeader(st.buf[:0], kindBlock, expires)
	if b.Key == b.Digest {
		msg = append(msg, flagKeyIsDigest)
		msg = append(msg, b.Digest[:]...)
	} else {
		msg = append(msg, flagKeyCarried)
		msg = append(msg, b.Digest[:]...)
		msg = append(msg, b.Key[:]...)
	}
	n := len(msg)
	msg = appendBlockBound(msg, account, snapshotID, index)
	return st.seal(msg, n)
}

// VerifyBlock checks that token was minted by BlockToken for block index of
// snapshotID as seen by account and has not expired at now, and returns what
// it carries. Its errors wrap ErrInvalid or ErrExpired.
func (s *Signer) VerifyBlock(token, account, snapshotID string, index int32, now time.Time) (BlockClaims, error) {
	var buf [maxRawLen]byte
	raw, err := decode(buf[:], token)
	if err != nil {
		return BlockClaims{}, err
	}
	if err := checkHeader(raw, kindBlock); err != nil {
		return BlockClaims{}, err
	}
	switch {
	case raw[headerLen] == flagKeyIsDigest && len(raw) == blockPlainLen:
	case raw[headerLen] == flagKeyCarried && len(raw) == blockKeyedLen:
	default:
		return BlockClaims{}, errMalformed
	}

	st := s.block.get()
	defer s.block.put(st)
	msg := appendBlockBound(st.body(raw), account, snapshotID, index)
	if !st.verify(raw, msg) {
		return BlockClaims{}, errForged
	}
	if err := checkExpiry(raw, now); err != nil {
		return BlockClaims{}, err
	}

	var c BlockClaims
	p := raw[headerLen+1 : len(raw)-macLen]
	copy(c.Digest[:], p)
	c.Key = c.Digest
	if raw[headerLen] == flagKeyCarried {
		copy(c.Key[:], p[len(c.Digest):])
	}
	return c, nil
}

// appendBlockBound appends the fields a block token is bound to.
func appendBlockBound(b []byte, account, snapshotID string, index int32) []byte {
	b = appendString(b, account)
	b = appendString(b, snapshotID)
	return binary.BigEndian.AppendUint32(b, uint32(index))
}
