package sigv4

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// appendCanonicalRequest appends the SigV4 canonical request of r to buf:
//
//	METHOD \n URI \n QUERY \n (name:value \n)* \n SIGNEDHEADERS \n PAYLOADHASH
//
// signedHeaders is used verbatim and in its own order, so the canonical
// request is exactly what the client hashed when it listed the names the
// way SigV4 requires (lowercase, sorted). A listed header that the request
// does not carry is an error: the client signed something that is not here.
func appendCanonicalRequest(buf []byte, r *http.Request, signedHeaders, payloadHash string) ([]byte, error) {
	if r.URL == nil {
		return buf, errors.New("request has no URL")
	}
	buf = append(buf, r.Method...)
	buf = append(buf, '\n')
	buf = appendEscaped(buf, wirePath(r), true)
	buf = append(buf, '\n')
	buf, err := appendCanonicalQuery(buf, r.URL.RawQuery)
	if err != nil {
		return buf, err
	}
	buf = append(buf, '\n')
	for rest := signedHeaders; rest != ""; {
		var name string
		name, rest, _ = strings.Cut(rest, ";")
		buf = append(buf, name...)
		buf = append(buf, ':')
		var ok bool
		if buf, ok = appendHeaderValue(buf, r, name); !ok {
			return buf, fmt.Errorf("signed header %q is not in the request", echo(name))
		}
		buf = append(buf, '\n')
	}
	buf = append(buf, '\n')
	buf = append(buf, signedHeaders...)
	buf = append(buf, '\n')
	buf = append(buf, payloadHash...)
	return buf, nil
}

// wirePath returns the path exactly as the client sent it. On a server
// that is the path part of r.RequestURI; the SDKs sign that path, encoded
// once more, and r.URL.EscapedPath() can differ from it for unusual input.
// A request built in-process (no RequestURI) uses r.URL.EscapedPath(),
// which is also what net/http puts on the wire.
func wirePath(r *http.Request) string {
	if u := r.RequestURI; strings.HasPrefix(u, "/") {
		if i := strings.IndexByte(u, '?'); i >= 0 {
			u = u[:i]
		}
		return u
	}
	if p := r.URL.EscapedPath(); p != "" {
		return p
	}
	return "/"
}

// appendHeaderValue appends the canonical value of the header name: each
// value trimmed, runs of spaces collapsed, values joined with ",". It
// reports false when r has no such header.
func appendHeaderValue(buf []byte, r *http.Request, name string) ([]byte, bool) {
	switch {
	case strings.EqualFold(name, "host"):
		// net/http moves Host out of r.Header into r.Host.
		host := r.Host
		if host == "" {
			host = r.URL.Host
		}
		if host == "" {
			return buf, false
		}
		return appendTrimmed(buf, host), true
	case strings.EqualFold(name, "content-length"):
		// A server keeps the header, but a request built in-process or
		// one whose framing was rewritten has only r.ContentLength.
		if vs := r.Header["Content-Length"]; len(vs) > 0 {
			return appendValues(buf, vs), true
		}
		if r.ContentLength < 0 {
			return buf, false
		}
		return strconv.AppendInt(buf, r.ContentLength, 10), true
	case strings.EqualFold(name, "transfer-encoding"):
		// net/http moves Transfer-Encoding into r.TransferEncoding.
		if vs := r.Header["Transfer-Encoding"]; len(vs) > 0 {
			return appendValues(buf, vs), true
		}
		if len(r.TransferEncoding) == 0 {
			return buf, false
		}
		return appendValues(buf, r.TransferEncoding), true
	}
	vs := lookupHeader(r.Header, name)
	if vs == nil {
		return buf, false
	}
	return appendValues(buf, vs), true
}

// lookupHeader returns the values of name in h, case-insensitively, or
// nil. The common case, a key stored in canonical form, costs one map
// lookup and no allocation.
func lookupHeader(h http.Header, name string) []string {
	var key [64]byte
	if len(name) <= len(key) {
		upper := true
		for i := 0; i < len(name); i++ {
			c := name[i]
			switch {
			case upper && 'a' <= c && c <= 'z':
				c -= 'a' - 'A'
			case !upper && 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
			}
			key[i] = c
			upper = c == '-'
		}
		if vs, ok := h[string(key[:len(name)])]; ok {
			return vs
		}
	} else if vs, ok := h[textproto.CanonicalMIMEHeaderKey(name)]; ok {
		return vs
	}
	// A key that is not in canonical form (set directly on the map, or
	// left alone by textproto because it has unusual bytes).
	for k, vs := range h {
		if strings.EqualFold(k, name) {
			return vs
		}
	}
	return nil
}

// appendValues appends vs, each trimmed and collapsed, joined with ",".
func appendValues(buf []byte, vs []string) []byte {
	for i, v := range vs {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendTrimmed(buf, v)
	}
	return buf
}

// appendTrimmed appends v without leading and trailing white space and with
// every run of spaces collapsed into one, as the SigV4 "Trimall" does.
func appendTrimmed(buf []byte, v string) []byte {
	v = strings.TrimSpace(v)
	if !strings.Contains(v, "  ") {
		return append(buf, v...)
	}
	for i := 0; i < len(v); i++ {
		if v[i] == ' ' && v[i-1] == ' ' {
			continue // i > 0: v does not start with a space
		}
		buf = append(buf, v[i])
	}
	return buf
}

// queryPair is one encoded key and value of a canonical query.
type queryPair struct{ key, value string }

// appendCanonicalQuery appends the canonical form of the raw query: each
// key and value decoded, re-encoded with only unreserved bytes kept, and
// the pairs sorted by key, then value. A part that does not decode is an
// error rather than being skipped, so nothing unsigned can ride along.
func appendCanonicalQuery(buf []byte, raw string) ([]byte, error) {
	if raw == "" {
		return buf, nil
	}
	var stack [8]queryPair
	pairs := stack[:0]
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		if strings.Contains(part, ";") {
			return buf, fmt.Errorf("query part %q contains a semicolon", echo(part))
		}
		k, v, _ := strings.Cut(part, "=")
		k, err := url.QueryUnescape(k)
		if err != nil {
			return buf, fmt.Errorf("query: %w", err)
		}
		v, err = url.QueryUnescape(v)
		if err != nil {
			return buf, fmt.Errorf("query: %w", err)
		}
		pairs = append(pairs, queryPair{escape(k), escape(v)})
	}
	slices.SortFunc(pairs, func(a, b queryPair) int {
		if c := cmp.Compare(a.key, b.key); c != 0 {
			return c
		}
		return cmp.Compare(a.value, b.value)
	})
	for i, p := range pairs {
		if i > 0 {
			buf = append(buf, '&')
		}
		buf = append(buf, p.key...)
		buf = append(buf, '=')
		buf = append(buf, p.value...)
	}
	return buf, nil
}

// unreserved reports whether c is an RFC 3986 unreserved byte, which
// SigV4 never percent-encodes.
func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

// escape returns s percent-encoded for a canonical query.
func escape(s string) string {
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			return string(appendEscaped(make([]byte, 0, len(s)+8), s, false))
		}
	}
	return s
}

// appendEscaped appends s with every byte but the unreserved ones (and '/'
// when keepSlash) percent-encoded with uppercase hex.
func appendEscaped(buf []byte, s string, keepSlash bool) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || keepSlash && c == '/' {
			buf = append(buf, c)
			continue
		}
		buf = append(buf, '%', hex[c>>4], hex[c&0xf])
	}
	return buf
}
