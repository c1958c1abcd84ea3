package migrate

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
)

// copySnapshot copies snapshot s, its blocks first and then its record,
// mappings and idempotency record in one import. It reports whether the
// destination had the snapshot already (then the check compares them).
func (r *run) copySnapshot(ctx context.Context, s store.Snapshot) (skipped bool, err error) {
	if _, err := r.opts.To.Meta.GetSnapshot(ctx, s.ID); err == nil {
		r.report.Skipped++
		return true, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return false, fmt.Errorf("look it up in the destination: %w", err)
	}
	own, err := ownBlocks(ctx, r.opts.From.Meta, s.ID)
	if err != nil {
		return false, fmt.Errorf("read its mappings in the source: %w", err)
	}
	if err := r.copyBlocks(ctx, s, own); err != nil {
		return false, err
	}
	idem, err := idempotencyOf(ctx, r.opts.From.Meta, s)
	if err != nil {
		return false, err
	}
	err = r.opts.To.Meta.ImportSnapshot(ctx, s, idem, own)
	if errors.Is(err, store.ErrExists) {
		// Imported since the lookup above; the check compares it.
		r.report.Skipped++
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("import it: %w", err)
	}
	r.report.Imported++
	r.report.Mappings += int64(len(own))
	return false, nil
}

// ownBlocks returns every mapping snapshot id wrote itself.
func ownBlocks(ctx context.Context, meta store.MetaStore, id string) ([]store.IndexedRef, error) {
	var own []store.IndexedRef
	err := meta.OwnBlocks(ctx, id, 0, func(r store.IndexedRef) (bool, error) {
		own = append(own, r)
		return true, nil
	})
	return own, err
}

// idempotencyOf returns the idempotency record that StartSnapshot stored
// with s, nil when it has none.
func idempotencyOf(ctx context.Context, meta store.MetaStore, s store.Snapshot) (*store.Idempotency, error) {
	if s.ClientToken == "" {
		return nil, nil
	}
	idem, err := meta.GetIdempotency(ctx, s.OwnerID, s.ClientToken)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read its idempotency record in the source: %w", err)
	}
	return &idem, nil
}

// copyBlocks Puts into the destination every block the mappings own
// reference that it lacks, opts.Parallel at a time. A plaintext block is
// checked against its key before it is Put, so that a corrupt source copy
// stops the migration instead of spreading.
func (r *run) copyBlocks(ctx context.Context, s store.Snapshot, own []store.IndexedRef) error {
	var keys []ebs.Digest
	for _, b := range own {
		if b.Ref.Digest == ebs.ZeroBlockDigest || r.copied.has(b.Ref.Key) {
			continue
		}
		r.copied.add(b.Ref.Key) // once per run, even if two mappings share it
		keys = append(keys, b.Ref.Key)
	}
	plaintext := !s.Encrypted
	var mu sync.Mutex // guards the counters of r.report
	return parallel(ctx, r.opts.Parallel, keys, func(ctx context.Context, key ebs.Digest, buf []byte) ([]byte, error) {
		has, err := r.opts.To.Blocks.Has(ctx, key)
		if err != nil {
			return buf, fmt.Errorf("block %s in the destination: %w", key, err)
		}
		if has {
			mu.Lock()
			r.report.BlocksHadAll++
			mu.Unlock()
			return buf, nil
		}
		data, err := r.opts.From.Blocks.Get(ctx, key, buf[:0])
		if err != nil {
			return data, fmt.Errorf("read block %s in the source: %w", key, err)
		}
		if plaintext && ebs.Digest(sha256.Sum256(data)) != key {
			return data, fmt.Errorf("block %s in the source does not hash to its key: %w", key, store.ErrCorrupt)
		}
		if err := r.opts.To.Blocks.Put(ctx, key, data); err != nil {
			return data, fmt.Errorf("put block %s in the destination: %w", key, err)
		}
		mu.Lock()
		r.report.BlocksPut++
		r.report.BytesPut += int64(len(data))
		mu.Unlock()
		return data, nil
	})
}

// parallel calls fn on each key, n at a time, each worker with a buffer of
// its own that fn may grow and returns. It returns the first error, after
// every call it started returned.
func parallel(ctx context.Context, n int, keys []ebs.Digest, fn func(context.Context, ebs.Digest, []byte) ([]byte, error)) error {
	if len(keys) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	work := make(chan ebs.Digest)
	var wg sync.WaitGroup
	for range min(n, len(keys)) {
		wg.Go(func() {
			var buf []byte
			for key := range work {
				var err error
				if buf, err = fn(ctx, key, buf); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for _, k := range keys {
		select {
		case work <- k:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return nil
}

// keySet is a set of block keys.
type keySet struct{ m map[ebs.Digest]struct{} }

func (s *keySet) has(k ebs.Digest) bool {
	_, ok := s.m[k]
	return ok
}

func (s *keySet) add(k ebs.Digest) {
	if s.m == nil {
		s.m = make(map[ebs.Digest]struct{})
	}
	s.m[k] = struct{}{}
}
