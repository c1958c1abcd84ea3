package client

import "fmt"

// ZeroPolicy says what an upload does with all-zero blocks.
type ZeroPolicy uint8

// The zero-block policies.
const (
	// ZeroAuto skips zero blocks of an unencrypted snapshot and uploads
	// them to an encrypted one: an unwritten block of an encrypted
	// snapshot does not reliably read back as zeros (coldsnap #395/#396).
	ZeroAuto ZeroPolicy = iota
	// ZeroSkip never uploads a zero block the parent does not hold: it
	// stays unwritten and reads back as zeros. Cheapest, and exact for
	// unencrypted snapshots.
	ZeroSkip
	// ZeroUpload uploads zero blocks like any other, so the snapshot
	// records them as written.
	ZeroUpload
)

// String returns the policy's flag value: "auto", "skip" or "upload".
func (p ZeroPolicy) String() string {
	switch p {
	case ZeroAuto:
		return "auto"
	case ZeroSkip:
		return "skip"
	case ZeroUpload:
		return "upload"
	}
	return fmt.Sprintf("ZeroPolicy(%d)", uint8(p))
}

// ParseZeroPolicy parses "skip", "upload" or "auto" ("" means auto).
func ParseZeroPolicy(s string) (ZeroPolicy, error) {
	switch s {
	case "", "auto":
		return ZeroAuto, nil
	case "skip":
		return ZeroSkip, nil
	case "upload":
		return ZeroUpload, nil
	}
	return ZeroAuto, fmt.Errorf("zero-block policy %q: want skip, upload or auto", s)
}

// resolve turns auto into skip or upload for a snapshot that is, or is
// not, encrypted.
func (p ZeroPolicy) resolve(encrypted bool) ZeroPolicy {
	if p != ZeroAuto {
		return p
	}
	if encrypted {
		return ZeroUpload
	}
	return ZeroSkip
}
