package pebblemeta

import (
	"bytes"
	"context"

	"github.com/cockroachdb/pebble/v2"
)

// scan calls visit on each key in [lower, upper) and its value, in order,
// until visit returns false or an error, which scan returns as is. The
// key and value are valid only during the call.
func (s *Store) scan(ctx context.Context, lower, upper []byte, visit func(key, value []byte) (bool, error)) error {
	return scan(ctx, s.db, lower, upper, visit)
}

// scan is Store.scan reading from r: the database, or a Pebble snapshot
// of it (a MarkView).
func scan(ctx context.Context, r pebble.Reader, lower, upper []byte, visit func(key, value []byte) (bool, error)) (err error) {
	it, err := r.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return err
	}
	defer func() {
		// Close returns the iterator's accumulated error, if any.
		if cerr := it.Close(); err == nil {
			err = cerr
		}
	}()
	for valid := it.First(); valid; valid = it.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return err
		}
		if more, err := visit(it.Key(), v); err != nil || !more {
			return err
		}
	}
	return nil
}

// scanPrefixes is scan over every key that starts with one of prefixes,
// which must be sorted and none a prefix of another, with one iterator
// that seeks from one prefix to the next: it reads one consistent view of
// the keys, and none of the keys between the prefixes.
func (s *Store) scanPrefixes(ctx context.Context, prefixes [][]byte, visit func(key, value []byte) (bool, error)) (err error) {
	if len(prefixes) == 0 {
		return nil
	}
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{
		LowerBound: prefixes[0],
		UpperBound: prefixEnd(prefixes[len(prefixes)-1]),
	})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := it.Close(); err == nil {
			err = cerr
		}
	}()
	for _, p := range prefixes {
		for valid := it.SeekGE(p); valid && bytes.HasPrefix(it.Key(), p); valid = it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			v, err := it.ValueAndErr()
			if err != nil {
				return err
			}
			if more, err := visit(it.Key(), v); err != nil || !more {
				return err
			}
		}
	}
	return nil
}

// callback wraps a caller's callback so that its error can be told apart
// from the store's own: the store's are wrapped, the caller's returned as
// they are.
type callback[T any] struct {
	fn  func(T) (bool, error)
	err error
}

func (c *callback[T]) call(v T) (bool, error) {
	more, err := c.fn(v)
	c.err = err
	return more, err
}

// result returns the callback's error as is, or err wrapped as op's.
func (c *callback[T]) result(op string, err error) error {
	if c.err != nil {
		return c.err
	}
	if err != nil {
		return wrapOp(op, err)
	}
	return nil
}
