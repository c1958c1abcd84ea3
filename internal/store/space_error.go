package store

import (
	"fmt"
	"math"
	"syscall"
)

// SpaceError reports that the file system holding a store is too full to
// accept writes. errors.Is matches it with syscall.ENOSPC, so that callers
// treat it as any "no space left on device", and its FreeSpace says how
// much is free and needed, for a client or an operator.
//
// The embedded backends return it from writes refused below their free
// space minimum, and open read-only when there is not even room to replay
// their logs (Pebble would retry that flush forever): see pebblemeta's and
// packblocks' docs.
type SpaceError struct {
	Dir      string // the store's directory
	Free     uint64 // bytes available on its file system when checked
	Need     uint64 // bytes that must be available to accept writes
	ReadOnly bool   // the store is open read-only until then
}

func (e *SpaceError) Error() string {
	msg := fmt.Sprintf("the disk holding %s is full (%s free, %s needed to accept writes)",
		e.Dir, formatBytes(e.Free), formatBytes(e.Need))
	if e.ReadOnly {
		msg += "; the store is read-only until then"
	}
	return msg
}

// FreeSpace says how much space is free, where, and how much is needed.
func (e *SpaceError) FreeSpace() string {
	return fmt.Sprintf("%s free on %s, %s needed to accept writes", formatBytes(e.Free), e.Dir, formatBytes(e.Need))
}

// Is makes errors.Is(err, syscall.ENOSPC) true of a SpaceError.
func (e *SpaceError) Is(target error) bool { return target == syscall.ENOSPC }

// formatBytes renders n in the largest binary unit it reaches, like 1.5 MiB,
// rounded down so that a shortfall never reads as enough.
func formatBytes(n uint64) string {
	const units = "KMGTPE"
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/1024, 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return fmt.Sprintf("%.1f %ciB", math.Floor(v*10)/10, units[i])
}
