package migrate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/store"
)

// viewPage is how many view entries the check compares per call.
const viewPage = 1000

// check compares the destination with the source, snapshot by snapshot
// and block by block (see the package doc), and each owner's Usage.
// Differences go to the report; only a store's failure is an error.
func (r *run) check(ctx context.Context, snaps []store.Snapshot) error {
	byID := make(map[string]store.Snapshot, len(snaps))
	for _, s := range snaps {
		byID[s.ID] = s
	}
	var verified keySet
	for i, s := range snaps {
		if err := r.checkSnapshot(ctx, s, byID, &verified); err != nil {
			return fmt.Errorf("migrate: check snapshot %s: %w", s.ID, err)
		}
		r.report.Checked++
		r.progress(PhaseCheck, s.ID, i+1, len(snaps), false)
	}
	return r.checkUsage(ctx)
}

func (r *run) checkSnapshot(ctx context.Context, s store.Snapshot, byID map[string]store.Snapshot, verified *keySet) error {
	got, err := r.opts.To.Meta.GetSnapshot(ctx, s.ID)
	if errors.Is(err, store.ErrNotFound) {
		r.mismatch("snapshot %s: missing in the destination", s.ID)
		return nil
	}
	if err != nil {
		return err
	}
	if diff := recordDiff(s, got); diff != "" {
		r.mismatch("snapshot %s: record differs: %s", s.ID, diff)
	}
	if err := r.checkIdempotency(ctx, s); err != nil {
		return err
	}
	own, err := ownBlocks(ctx, r.opts.From.Meta, s.ID)
	if err != nil {
		return fmt.Errorf("its mappings in the source: %w", err)
	}
	dstOwn, err := ownBlocks(ctx, r.opts.To.Meta, s.ID)
	if err != nil {
		return fmt.Errorf("its mappings in the destination: %w", err)
	}
	if !slices.Equal(own, dstOwn) {
		r.mismatch("snapshot %s: own mappings differ: %d in the source, %d in the destination", s.ID, len(own), len(dstOwn))
	}
	chain, err := chainOf(s, byID)
	if err != nil {
		r.mismatch("%v", err)
	} else if err := r.checkView(ctx, s.ID, chain); err != nil {
		return err
	}
	return r.checkBlocks(ctx, s, own, verified)
}

// recordDiff names the fields in which the destination's record got
// differs from the source's s, "" when none does. Times compare as
// instants; empty and nil slices are equal.
func recordDiff(s, got store.Snapshot) string {
	var diffs []string
	a, b := reflect.ValueOf(s), reflect.ValueOf(got)
	for i := range a.NumField() {
		x, y := a.Field(i).Interface(), b.Field(i).Interface()
		var equal bool
		switch xv := x.(type) {
		case time.Time:
			equal = xv.Equal(y.(time.Time))
		case []byte:
			equal = bytes.Equal(xv, y.([]byte))
		case []ebs.Tag:
			equal = slices.Equal(xv, y.([]ebs.Tag))
		default:
			equal = reflect.DeepEqual(x, y)
		}
		if !equal {
			diffs = append(diffs, fmt.Sprintf("%s is %v, want %v", a.Type().Field(i).Name, y, x))
		}
	}
	return strings.Join(diffs, "; ")
}

func (r *run) checkIdempotency(ctx context.Context, s store.Snapshot) error {
	want, err := idempotencyOf(ctx, r.opts.From.Meta, s)
	if err != nil || want == nil {
		return err
	}
	got, err := r.opts.To.Meta.GetIdempotency(ctx, want.OwnerID, want.ClientToken)
	if errors.Is(err, store.ErrNotFound) {
		r.mismatch("snapshot %s: idempotency record of token %q missing in the destination", s.ID, want.ClientToken)
		return nil
	}
	if err != nil {
		return fmt.Errorf("its idempotency record in the destination: %w", err)
	}
	if got.OwnerID != want.OwnerID || got.ClientToken != want.ClientToken || got.RequestHash != want.RequestHash ||
		got.SnapshotID != want.SnapshotID || !bytes.Equal(got.Response, want.Response) {
		r.mismatch("snapshot %s: idempotency record of token %q differs", s.ID, want.ClientToken)
	}
	return nil
}

// checkView compares the view of chain, page by page, on both sides.
func (r *run) checkView(ctx context.Context, id string, chain []string) error {
	var start int32
	for {
		want, err := r.opts.From.Meta.ViewBlocks(ctx, chain, start, viewPage)
		if err != nil {
			return fmt.Errorf("its view in the source: %w", err)
		}
		got, err := r.opts.To.Meta.ViewBlocks(ctx, chain, start, viewPage)
		if err != nil {
			return fmt.Errorf("its view in the destination: %w", err)
		}
		r.report.ViewEntries += int64(len(want))
		if !slices.Equal(want, got) {
			r.mismatch("snapshot %s: view from block %d differs: %d entries in the source's page, %d in the destination's", id, start, len(want), len(got))
			return nil
		}
		if len(want) < viewPage || want[len(want)-1].Index == 1<<31-1 {
			return nil
		}
		start = want[len(want)-1].Index + 1
	}
}

// checkBlocks reads back from the destination every block the mappings
// own reference that this check has not read yet.
func (r *run) checkBlocks(ctx context.Context, s store.Snapshot, own []store.IndexedRef, verified *keySet) error {
	var keys []ebs.Digest
	for _, b := range own {
		if b.Ref.Digest == ebs.ZeroBlockDigest || verified.has(b.Ref.Key) {
			continue
		}
		verified.add(b.Ref.Key)
		keys = append(keys, b.Ref.Key)
	}
	var mu sync.Mutex // guards r.report
	return parallel(ctx, r.opts.Parallel, keys, func(ctx context.Context, key ebs.Digest, buf []byte) ([]byte, error) {
		data, err := r.opts.To.Blocks.Get(ctx, key, buf[:0])
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrCorrupt) {
			mu.Lock()
			r.mismatch("snapshot %s: block %s in the destination: %v", s.ID, key, err)
			mu.Unlock()
			return data, nil
		}
		if err != nil {
			return data, fmt.Errorf("read block %s in the destination: %w", key, err)
		}
		sum := ebs.Digest(sha256.Sum256(data))
		want := key
		if s.Encrypted {
			// The key of a sealed block is not its hash: compare with
			// the source's stored copy.
			src, err := r.opts.From.Blocks.Get(ctx, key, nil)
			if err != nil {
				return data, fmt.Errorf("read block %s in the source: %w", key, err)
			}
			want = sha256.Sum256(src)
		}
		mu.Lock()
		defer mu.Unlock()
		if sum != want {
			r.mismatch("snapshot %s: block %s reads back with SHA-256 %s, want %s", s.ID, key, sum, want)
			return data, nil
		}
		r.report.BlocksVerified++
		return data, nil
	})
}

// checkUsage compares each owner's Usage: every owner either side counts.
func (r *run) checkUsage(ctx context.Context) error {
	owners := make(map[string]bool)
	for _, m := range []Meta{r.opts.From.Meta, r.opts.To.Meta} {
		if err := m.ScanUsage(ctx, func(owner string, _ int64) (bool, error) {
			owners[owner] = true
			return true, nil
		}); err != nil {
			return fmt.Errorf("migrate: scan usage: %w", err)
		}
	}
	for _, owner := range slices.Sorted(maps.Keys(owners)) {
		want, err := r.opts.From.Meta.Usage(ctx, owner)
		if err != nil {
			return fmt.Errorf("migrate: usage of %s in the source: %w", owner, err)
		}
		got, err := r.opts.To.Meta.Usage(ctx, owner)
		if err != nil {
			return fmt.Errorf("migrate: usage of %s in the destination: %w", owner, err)
		}
		if got != want {
			r.mismatch("owner %s: usage %d blocks in the destination, %d in the source", owner, got, want)
		}
		r.report.Owners++
	}
	return nil
}
