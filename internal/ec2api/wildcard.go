package ec2api

import "unicode/utf8"

// pattern is an EC2 filter value: '*' matches zero or more characters, '?'
// exactly one, and '\' makes the next character literal, so that `\*a\?\\`
// is the literal string `*a?\` (docs/ec2-api.md §5.1.1). A pattern matches
// the whole value, and a character is a Unicode code point.
type pattern struct {
	elems []elem
	// minLen is the number of characters a match needs: the literals and
	// '?'s. A value shorter than that is refused at once, which also
	// bounds the matching work by the value's length, however long the
	// pattern (consecutive '*'s are merged, so '*'s never outnumber the
	// other elements by more than one).
	minLen int
	// literal is the pattern as a plain string when it has no wildcard.
	literal   string
	isLiteral bool
}

// elem is one element of a pattern.
type elem struct {
	kind elemKind
	r    rune // for elemRune
}

type elemKind uint8

const (
	elemRune elemKind = iota // one literal character
	elemOne                  // '?'
	elemAny                  // '*'
)

// compilePattern parses an EC2 filter value. Every string is a valid
// pattern: a '\' at the very end stands for itself, and so do bytes that
// are not UTF-8 (as U+FFFD, which no valid value contains).
func compilePattern(s string) pattern {
	var p pattern
	wild := false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch r {
		case '*':
			wild = true
			if n := len(p.elems); n > 0 && p.elems[n-1].kind == elemAny {
				continue
			}
			p.elems = append(p.elems, elem{kind: elemAny})
			continue
		case '?':
			wild = true
			p.elems = append(p.elems, elem{kind: elemOne})
			p.minLen++
			continue
		case '\\':
			wild = true // escapes make the pattern differ from its text
			if i < len(s) {
				r, size = utf8.DecodeRuneInString(s[i:])
				i += size
			}
		}
		p.elems = append(p.elems, elem{kind: elemRune, r: r})
		p.minLen++
	}
	if !wild {
		p.literal, p.isLiteral = s, true
	}
	return p
}

// match reports whether the whole of v matches p.
func (p *pattern) match(v string) bool {
	if p.isLiteral {
		return v == p.literal
	}
	if utf8.RuneCountInString(v) < p.minLen {
		return false
	}
	// The classic two-pointer glob match: on a mismatch, retry from the
	// last '*', which swallows one more character. It is O(len(v) ×
	// len(elems)) at worst.
	var (
		pi, vi       = 0, 0  // element index, byte offset in v
		star, starVi = -1, 0 // the last '*' seen and where it resumes in v
	)
	for vi < len(v) {
		r, size := utf8.DecodeRuneInString(v[vi:])
		if pi < len(p.elems) {
			switch e := p.elems[pi]; e.kind {
			case elemAny:
				star, starVi = pi, vi
				pi++
				continue
			case elemOne:
				pi++
				vi += size
				continue
			case elemRune:
				if e.r == r {
					pi++
					vi += size
					continue
				}
			}
		}
		if star < 0 {
			return false
		}
		// Let the last '*' take one more character.
		_, size = utf8.DecodeRuneInString(v[starVi:])
		starVi += size
		pi, vi = star+1, starVi
	}
	for pi < len(p.elems) && p.elems[pi].kind == elemAny {
		pi++
	}
	return pi == len(p.elems)
}

// matchAny reports whether v matches any of ps: several values of one
// filter are joined with OR.
func matchAny(ps []pattern, v string) bool {
	for i := range ps {
		if ps[i].match(v) {
			return true
		}
	}
	return false
}
