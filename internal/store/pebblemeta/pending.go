package pebblemeta

import "context"

// countPending counts the O keys of owner, stopping at limit: the cost of
// CreateSnapshot's limit is at most limit keys of one owner, whatever the
// other owners have pending.
func (s *Store) countPending(ctx context.Context, owner string, limit int) (int, error) {
	prefix := pendingPrefix(owner)
	n := 0
	err := s.scan(ctx, prefix, prefixEnd(prefix), func(_, _ []byte) (bool, error) {
		n++
		return n < limit, nil
	})
	return n, err
}
