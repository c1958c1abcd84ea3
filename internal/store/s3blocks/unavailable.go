package s3blocks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"

	"github.com/ebsd/ebsd/internal/store"
)

// unavailable wraps store.ErrUnavailable around an error of the object
// store that a later retry may not get: the server unreachable, the
// connection lost, or a 5xx or 429 (SlowDown) that outlasted the SDK's
// own retries. The service answers those with a retryable 503 instead of
// a 500. Other errors, and the caller's context ending, are returned as
// they are.
func unavailable(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if st := httpStatus(err); st >= 500 || st == http.StatusTooManyRequests {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
}
