package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
)

// maxCachedKeys bounds the signing-key cache. A key is valid for one day
// and one region, so real use needs a handful; the bound only stops a
// flood of forged scopes from growing memory.
const maxCachedKeys = 1024

// signingKeys caches derived signing keys. Deriving one costs four HMACs,
// four fifths of the crypto of a verification, and it changes only when
// the date, region or secret does.
type signingKeys struct {
	mu sync.Mutex
	m  map[scopeKey]cachedKey
}

// scopeKey identifies a signing key.
type scopeKey struct{ accessKeyID, date, region, service string }

// cachedKey is a signing key and the secret it was derived from, so that a
// rotated secret is never served a stale key.
type cachedKey struct {
	secret string
	key    [sha256.Size]byte
}

// get returns the signing key of secret for the scope, deriving and
// caching it when needed.
func (c *signingKeys) get(accessKeyID, secret, date, region, service string) [sha256.Size]byte {
	sk := scopeKey{accessKeyID, date, region, service}
	c.mu.Lock()
	e, ok := c.m[sk]
	c.mu.Unlock()
	if ok && e.secret == secret {
		return e.key
	}
	key := deriveKey(secret, date, region, service)
	// Clone: the strings point into the request's Authorization header.
	sk = scopeKey{strings.Clone(accessKeyID), strings.Clone(date), strings.Clone(region), strings.Clone(service)}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedKeys {
		c.m = make(map[scopeKey]cachedKey)
	}
	c.m[sk] = cachedKey{secret: secret, key: key}
	c.mu.Unlock()
	return key
}

// deriveKey returns the SigV4 signing key of secret for date/region/service:
// HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request").
func deriveKey(secret, date, region, service string) [sha256.Size]byte {
	k := hmacSHA256([]byte("AWS4"+secret), []byte(date))
	k = hmacSHA256(k[:], []byte(region))
	k = hmacSHA256(k[:], []byte(service))
	return hmacSHA256(k[:], []byte(terminator))
}

// signature returns the hex SigV4 signature of stringToSign with key.
func signature(key [sha256.Size]byte, stringToSign []byte) [2 * sha256.Size]byte {
	sig := hmacSHA256(key[:], stringToSign)
	var out [2 * sha256.Size]byte
	hex.Encode(out[:], sig[:])
	return out
}

func hmacSHA256(key, msg []byte) [sha256.Size]byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	var out [sha256.Size]byte
	m.Sum(out[:0])
	return out
}

// appendStringToSign appends the SigV4 string to sign:
// algorithm \n amzDate \n scope \n hex(sha256(canonicalRequest)).
func appendStringToSign(buf []byte, amzDate, scope string, canonicalRequest []byte) []byte {
	sum := sha256.Sum256(canonicalRequest)
	buf = append(buf, algorithm...)
	buf = append(buf, '\n')
	buf = append(buf, amzDate...)
	buf = append(buf, '\n')
	buf = append(buf, scope...)
	buf = append(buf, '\n')
	return hex.AppendEncode(buf, sum[:])
}
