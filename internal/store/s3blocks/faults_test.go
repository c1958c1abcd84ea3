package s3blocks

import (
	"context"
	"sync"

	"github.com/ebsd/ebsd/internal/ebs"
)

// faultObjects wraps a store's objects to make uploads fail or to run a
// hook before a read.
type faultObjects struct {
	objects
	mu         sync.Mutex
	failCreate error
	beforeRead func(name string) // called once, then cleared
}

func (f *faultObjects) create(ctx context.Context, name string, body []byte, exclusive bool) error {
	f.mu.Lock()
	err := f.failCreate
	f.mu.Unlock()
	if err != nil {
		return err
	}
	return f.objects.create(ctx, name, body, exclusive)
}

func (f *faultObjects) readRange(ctx context.Context, name string, off, n int64, dst []byte) ([]byte, error) {
	f.mu.Lock()
	hook := f.beforeRead
	f.beforeRead = nil
	f.mu.Unlock()
	if hook != nil {
		hook(name)
	}
	return f.objects.readRange(ctx, name, off, n, dst)
}

// injectFaults puts a faultObjects under s, before any call.
func injectFaults(s *Store) *faultObjects {
	f := &faultObjects{objects: s.objs}
	s.objs = f
	return f
}

// sealFails is an Index whose Seal runs the real transaction with a
// context that is already canceled, so that it fails as a commit would:
// nothing is indexed and the group stays writing.
type sealFails struct{ Index }

func (x sealFails) Seal(ctx context.Context, group, size int64, entries []IndexEntry) error {
	ctx, cancel := context.WithCancel(ctx)
	cancel()
	return x.Index.Seal(ctx, group, size, entries)
}

// liveSet is a store.LiveSet of the keys in it.
type liveSet map[ebs.Digest]bool

func (l liveSet) Has(key ebs.Digest) bool { return l[key] }

// deleteHook is an Index that runs a hook before each DeleteUntouched:
// between a sweep's scan and its delete.
type deleteHook struct {
	Index
	before func()
}

func (x deleteHook) DeleteUntouched(ctx context.Context, fence uint64, entries []IndexEntry) ([]IndexEntry, error) {
	x.before()
	return x.Index.DeleteUntouched(ctx, fence, entries)
}
