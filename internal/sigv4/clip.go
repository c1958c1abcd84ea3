package sigv4

import "unicode/utf8"

// Clip returns s cut to at most n bytes at a rune boundary, with "..."
// when it was cut: the bound on a client's own input quoted back in an
// error message or a log line, so that a huge header cannot make a huge
// error. It lives here because this package quotes headers first, and
// both wire layers, which quote their own input, import it.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
