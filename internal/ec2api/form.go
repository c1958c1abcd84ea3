package ec2api

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ebsd/ebsd/internal/sigv4"
)

// form is a request body in application/x-www-form-urlencoded, decoded
// into a tree along the dots of its keys: "Filter.2.Value.1=a" is the
// value of root → "Filter" → "2" → "Value" → "1". A member the client left
// out has no node at all, and one it sent empty has a node with an empty
// value: DeleteTags tells "Tag.1.Value=" (only if empty) from no
// Tag.1.Value (whatever the value) by exactly that (docs/ec2-api.md §5.5).
type form struct {
	root node
	keys []string // every key, in body order, for checking them against an operation
}

// node is one key segment of a form.
type node struct {
	value    string
	hasValue bool
	children map[string]*node
}

// Limits of a form. A list index is bounded so that it fits any int and
// cannot be abused to make a huge number; no SDK numbers past the length
// of its list.
const maxIndex = 1_000_000

// parseForm decodes body. It refuses what would give a key two readings:
// a key given twice, a percent escape that is not two hex digits, and keys
// or values that are not UTF-8. Empty pairs ("a=1&&b=2") are skipped, as
// every form decoder does, and ';' is an ordinary byte.
func parseForm(body []byte) (*form, error) {
	f := &form{}
	seen := make(map[string]struct{})
	for len(body) > 0 {
		var pair []byte
		pair, body, _ = bytes.Cut(body, []byte{'&'})
		if len(pair) == 0 {
			continue
		}
		rawKey, rawValue, _ := bytes.Cut(pair, []byte{'='})
		key, ok := unescape(rawKey)
		if !ok || !utf8.ValidString(key) {
			return nil, errMalformedForm()
		}
		value, ok := unescape(rawValue)
		if !ok {
			return nil, errMalformedForm()
		}
		if !utf8.ValidString(value) {
			return nil, wireErr(fInvalidParameterValue, "The value of parameter %s is not valid UTF-8.", echo(key))
		}
		if key == "" {
			return nil, errMalformedForm()
		}
		if _, dup := seen[key]; dup {
			return nil, wireErr(fInvalidParameterValue, "The parameter %s is given more than once.", echo(key))
		}
		seen[key] = struct{}{}
		f.keys = append(f.keys, key)
		n := &f.root
		for seg := range strings.SplitSeq(key, ".") {
			n = n.add(seg)
		}
		n.value, n.hasValue = value, true
	}
	return f, nil
}

func (n *node) add(seg string) *node {
	if n.children == nil {
		n.children = make(map[string]*node)
	}
	c := n.children[seg]
	if c == nil {
		c = &node{}
		n.children[seg] = c
	}
	return c
}

// child returns the node of name, or nil.
func (n *node) child(name string) *node {
	if n == nil {
		return nil
	}
	return n.children[name]
}

// str returns the value of the member name and whether it was sent.
func (n *node) str(name string) (string, bool) {
	c := n.child(name)
	if c == nil || !c.hasValue {
		return "", false
	}
	return c.value, true
}

// ptr returns the value of the member name, nil when it was not sent.
func (n *node) ptr(name string) *string {
	v, ok := n.str(name)
	if !ok {
		return nil
	}
	return &v
}

// list returns the elements of the flattened list name (name.1, name.2,
// ...), ordered by their index as a number, not as text: Filter.10 comes
// after Filter.2 although Go's SDK sends it first. Indexes need not be
// contiguous. The keys must have been checked (checkKeys): every child is
// then an index.
func (n *node) list(name string) []*node {
	c := n.child(name)
	if c == nil {
		return nil
	}
	type item struct {
		i int
		n *node
	}
	items := make([]item, 0, len(c.children))
	for k, v := range c.children {
		i, _ := strconv.Atoi(k)
		items = append(items, item{i, v})
	}
	slices.SortFunc(items, func(a, b item) int { return a.i - b.i })
	out := make([]*node, len(items))
	for j, it := range items {
		out[j] = it.n
	}
	return out
}

// strings returns the values of the flattened string list name.
func (n *node) strings(name string) []string {
	items := n.list(name)
	if items == nil {
		return nil
	}
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.value
	}
	return out
}

// checkKeys checks every key of f against the patterns of an operation:
// a pattern is a key whose '#' segments stand for a list index, e.g.
// "Filter.#.Value.#". A key that fits no pattern is an UnknownParameter,
// as on AWS; one that fits but for an index that is not a positive
// decimal without leading zeros is an InvalidParameterValue.
func (f *form) checkKeys(patterns []string) error {
	for _, k := range f.keys {
		if err := checkKey(k, patterns); err != nil {
			return err
		}
	}
	return nil
}

func checkKey(key string, patterns []string) error {
	badIndex := false
	for _, p := range patterns {
		switch matchKey(key, p) {
		case keyMatches:
			return nil
		case keyBadIndex:
			badIndex = true
		}
	}
	if badIndex {
		return wireErr(fInvalidParameterValue, "The parameter %s has an invalid list index: indexes are positive integers, from 1.", echo(key))
	}
	return wireErr(fUnknownParameter, "The parameter %s is not recognized", echo(key))
}

type keyMatch uint8

const (
	keyDiffers keyMatch = iota
	keyMatches
	keyBadIndex // the key has the pattern's shape but an index is not one
)

func matchKey(key, pattern string) keyMatch {
	result := keyMatches
	for {
		kseg, krest, kmore := strings.Cut(key, ".")
		pseg, prest, pmore := strings.Cut(pattern, ".")
		switch {
		case pseg == "#":
			if !isIndex(kseg) {
				if kseg == "" || strings.Trim(kseg, "0123456789") != "" {
					return keyDiffers
				}
				result = keyBadIndex // digits, but 0, a leading zero or too large
			}
		case kseg != pseg:
			return keyDiffers
		}
		if kmore != pmore {
			return keyDiffers
		}
		if !kmore {
			return result
		}
		key, pattern = krest, prest
	}
}

// isIndex reports whether s is a list index: 1 to maxIndex in decimal,
// without a sign or leading zeros.
func isIndex(s string) bool {
	if s == "" || len(s) > 7 || s[0] == '0' {
		return false
	}
	i, err := strconv.Atoi(s)
	return err == nil && i >= 1 && i <= maxIndex
}

// unescape decodes one key or value of a form: '+' is a space and %XX a
// byte. It reports false for a '%' not followed by two hex digits.
func unescape(s []byte) (string, bool) {
	if bytes.IndexByte(s, '%') < 0 && bytes.IndexByte(s, '+') < 0 {
		return string(s), true
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			b.WriteByte(' ')
		case '%':
			if i+2 >= len(s) {
				return "", false
			}
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return "", false
			}
			b.WriteByte(hi<<4 | lo)
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func errMalformedForm() error {
	return wireErr(fMalformedQueryString, "The request body is not a valid application/x-www-form-urlencoded form.")
}

// maxEcho bounds how much of a client's own input is quoted back in an
// error message.
const maxEcho = 128

// echo returns s clipped to maxEcho bytes, for quoting in a message.
func echo(s string) string { return sigv4.Clip(s, maxEcho) }
