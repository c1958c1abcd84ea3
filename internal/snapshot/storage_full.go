package snapshot

import (
	"errors"
	"syscall"

	"github.com/ebsd/ebsd/internal/ebs"
)

// freeSpacer is implemented by the errors of a store that knows how much
// space is left (store.SpaceError): "12.0 KiB free on /data/meta,
// 64.0 MiB needed to accept writes".
type freeSpacer interface{ FreeSpace() string }

// storageFull returns the error a client gets when a write failed because
// the server's storage is full, or nil when err is not about that. Any
// store error that errors.Is syscall.ENOSPC or EDQUOT counts: a pack
// append, a Pebble commit, or a store that refuses writes until space is
// freed.
//
// It is a 503 ServiceUnavailableException (KindUnavailable): every SDK
// retries 503 with backoff (Go standard retryer, botocore legacy and
// standard modes, JS v3; spec §5.7) and so does the ebs client, which is
// right for a condition an operator can clear, and unlike a bare 500
// "internal error" the message names the cause. A 507 Insufficient
// Storage would name it too, but no SDK retries it, and AWS's EBS model has
// no such error, so clients would fail at once on what is often a short
// condition.
func storageFull(op string, err error) *ebs.Error {
	if !errors.Is(err, syscall.ENOSPC) && !errors.Is(err, syscall.EDQUOT) {
		return nil
	}
	where := "no space left on device"
	var fs freeSpacer
	if errors.As(err, &fs) {
		where = fs.FreeSpace()
	}
	return ebs.Wrap(op, ebs.KindUnavailable, err,
		"The server's storage is full (%s); retry later or ask the operator to free space.", where)
}
