package api

import "crypto/rand"

// newRequestID returns a fresh random (version 4) UUID in its canonical
// text form. It is sent as x-amzn-RequestId on every response, where every
// SDK reads it into its response metadata, and it is logged with
// everything about the request, so that a client's report can be matched
// with the server's logs. It is formatted here rather than with
// github.com/google/uuid, which costs two allocations instead of one.
func newRequestID() string {
	var u [16]byte
	_, _ = rand.Read(u[:])  // never fails: crypto/rand crashes the program rather than return an error
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	var s [36]byte
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			s[j] = '-'
			j++
		}
		s[j], s[j+1] = hexDigits[c>>4], hexDigits[c&0xf]
		j += 2
	}
	return string(s[:])
}
