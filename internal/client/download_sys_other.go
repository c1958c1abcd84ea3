//go:build !linux

package client

import (
	"errors"
	"os"
)

// zeroOut is not available here: the caller writes zeros.
func zeroOut(*os.File, int64, int64) error { return errors.ErrUnsupported }

// punchHole is not available here: the caller writes zeros.
func punchHole(*os.File, int64, int64) error { return errors.ErrUnsupported }

// startWriteback is a no-op here: the final fsync does all the writing.
func startWriteback(*os.File, int64, int64) {}

// openDirect is not available here: every write is buffered.
func openDirect(*os.File, string) *os.File { return nil }
