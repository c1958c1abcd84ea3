//go:build unix

package main

import "syscall"

// restrictUmask makes every file and directory that this process creates,
// including Pebble's and the pack files, private to its user (0600, 0700),
// whatever modes the code asks for: the data holds secrets and plaintext
// blocks.
func restrictUmask() { syscall.Umask(0o077) }
