package api

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/ebsd/ebsd/internal/ebs"
)

// The responses are built by appending to a []byte rather than with
// encoding/json: the shapes are fixed and few, key order and nulls must
// match AWS's captures exactly, and listing pages of 10000 blocks should
// not go through reflection.

const (
	contentTypeJSON   = "application/json"
	contentTypeBinary = "application/octet-stream"
)

// writeJSON writes a JSON response with the given status.
func writeJSON(x *exchange, status int, body []byte) {
	x.setHeader(hdrContentType, contentTypeJSON)
	x.setHeader(hdrContentLength, itoa(len(body)))
	x.WriteHeader(status)
	_, _ = x.Write(body) // a failed write means the client is gone
}

// itoa formats n, without allocating for the sizes written most often.
func itoa(n int) string {
	switch n {
	case 2:
		return "2"
	case ebs.BlockSize:
		return "524288"
	}
	return strconv.Itoa(n)
}

// appendKey appends `"key":`, preceded by a comma unless it is the first
// member of its object. Keys are constants and need no escaping.
func appendKey(dst []byte, key string) []byte {
	if n := len(dst); n > 0 && dst[n-1] != '{' {
		dst = append(dst, ',')
	}
	dst = append(dst, '"')
	dst = append(dst, key...)
	return append(dst, '"', ':')
}

// appendNull appends JSON null. Real AWS sends explicit nulls for absent
// members, and every SDK treats null like an absent key.
func appendNull(dst []byte) []byte { return append(dst, "null"...) }

// appendStringOrNull appends s, or null when s is "".
func appendStringOrNull(dst []byte, s string) []byte {
	if s == "" {
		return appendNull(dst)
	}
	return appendString(dst, s)
}

// appendIntOrNull appends n, or null when n is 0: the empty-page shape of
// the List operations has null BlockSize and VolumeSize (spec §7.9).
func appendIntOrNull(dst []byte, n int64) []byte {
	if n == 0 {
		return appendNull(dst)
	}
	return strconv.AppendInt(dst, n, 10)
}

// appendTimestamp appends t as restJson1 wants it: a JSON number of epoch
// seconds with a millisecond fraction (1790337440.328). An ISO-8601 string
// would break the Go and JS SDKs. The zero time is null.
func appendTimestamp(dst []byte, t time.Time) []byte {
	if t.IsZero() {
		return appendNull(dst)
	}
	return strconv.AppendFloat(dst, float64(t.UnixMilli())/1000, 'f', -1, 64)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, as
// encoding/json does, so that the result is always valid JSON whatever
// bytes a client or a message carried. It does not escape <, > and &: the
// responses are not HTML.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			// Valid JSON, but not valid JavaScript source; escape them
			// like encoding/json for the benefit of JS clients.
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
