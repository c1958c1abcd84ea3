package migrate

import (
	"bytes"
	"context"
	"fmt"
)

// copySecrets stores each secret of the source in the destination under
// its name, through Secret: a destination that has the name already keeps
// its value, which must then be the source's. A token secret that differs
// would void the block tokens clients hold; a KMS key that differs would
// make encrypted snapshots unreadable. Either stops the migration before
// any snapshot is copied.
func (r *run) copySecrets(ctx context.Context) error {
	return r.opts.From.Meta.ScanSecrets(ctx, func(name string, value []byte) (bool, error) {
		if r.opts.CopySecret != nil && !r.opts.CopySecret(name) {
			return true, nil
		}
		got, err := r.opts.To.Meta.Secret(ctx, name, func() ([]byte, error) { return bytes.Clone(value), nil })
		if err != nil {
			return false, fmt.Errorf("migrate: copy secret %q: %w", name, err)
		}
		if !bytes.Equal(got, value) {
			return false, fmt.Errorf("%w: the destination holds another value of secret %q; migrate into a destination no server has used", ErrMismatch, name)
		}
		r.report.Secrets++
		return true, nil
	})
}
