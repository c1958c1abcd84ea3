package main

import "strings"

// shellQuote returns s as one word for a POSIX shell: unchanged when it
// holds only characters no shell treats specially (so that a generated key
// or a plain path prints as itself), else in single quotes.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+-./:=@_,%") == "" {
		return s
	}
	// Inside single quotes only ' is special: close, escape it, reopen.
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
