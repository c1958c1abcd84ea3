package s3blocks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/pack"
	"github.com/ebsd/ebsd/internal/store"
)

var (
	_ store.BlockStore  = (*Store)(nil)
	_ store.Collectable = (*Store)(nil)
)

// Store is a store.BlockStore that keeps blocks in group objects on
// S3-compatible storage, indexed in an Index the nodes share. See the
// package documentation.
type Store struct {
	opts  Options
	log   *slog.Logger
	index Index
	objs  objects
	stats *requestStats
	// exclusive: uploads send If-None-Match: *.
	exclusive bool
	// compress encodes new blocks (Options.Compression) and lends Get its
	// buffers for compressed entries.
	compress *compressor

	// closeMu is held shared by every call and exclusively by Close, so
	// that Close waits for the calls in flight (and so for the uploads
	// their Puts wait on) and later calls see closed.
	closeMu sync.RWMutex
	closed  bool

	// inflight holds the claims on keys, so that concurrent Puts of one
	// key on this node store it once.
	inflightMu sync.Mutex
	inflight   map[ebs.Digest]*putCall

	// mu guards the group being filled, the full ones waiting for an
	// upload slot, and the count of uploads in flight.
	mu        sync.Mutex
	pending   *group
	ready     []*group
	uploading int
	// dataLatency is how long the last group that uploaded data took,
	// from its first writer's decision to its seal: a group of dedup hits
	// only lasts as long (see Put).
	dataLatency time.Duration
	flushes     sync.WaitGroup
	bufs        sync.Pool // of *[]byte: group buffers, see groupBuffer
	lingering   bool      // a MaxDelay timer is running for pending

	gc       collectState
	contents contentsCache // Contents' last answer

	// blockBytes counts the bytes of blocks uploaded in groups, entries
	// without their headers: the denominator of requests per GiB.
	blockBytes, blocksStored, groupsSealed atomicInt
}

// putCall is a claim on a key by the Put in flight; other Puts of the key
// on this node wait for its outcome.
type putCall struct {
	done chan struct{}
	err  error // set before done is closed
}

// Open returns a store over opts' bucket and index. With ConditionalAuto
// it probes whether the server honours If-None-Match: *.
func Open(ctx context.Context, opts Options) (*Store, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	var enc *pack.Encoder
	if opts.Compression {
		// One encoder for every Put: it holds one zstd encoder per CPU
		// and makes the others wait, which bounds the CPU and memory
		// compression takes however many Puts run at once.
		if enc, err = pack.NewEncoder(compressLevel); err != nil {
			return nil, fmt.Errorf("s3blocks: %w", err)
		}
	}
	stats := &requestStats{}
	s := &Store{
		compress: newCompressor(enc),
		opts:     opts,
		log:      opts.Logger,
		index:    opts.Index,
		objs:     &s3Objects{client: opts.Client, bucket: opts.Bucket, stats: stats},
		stats:    stats,
		inflight: make(map[ebs.Digest]*putCall),
		pending:  newGroup(),
	}
	switch opts.Conditional {
	case ConditionalOn:
		s.exclusive = true
	case ConditionalAuto:
		if s.exclusive, err = s.probeConditional(ctx); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// probeConditional uploads a small object twice with If-None-Match: * and
// reports whether the server refused the second upload. A server that
// rejects the header outright (501 or 400) does not support it either.
func (s *Store) probeConditional(ctx context.Context) (bool, error) {
	var r [8]byte
	rand.Read(r[:])
	name := s.opts.Prefix + "probe/" + hex.EncodeToString(r[:])
	body := []byte("ebsd: probe of If-None-Match; safe to delete\n")
	if err := s.objs.create(ctx, name, body, true); err != nil {
		if ctx.Err() != nil {
			return false, err
		}
		// Retry without the header: if that works, the header was the problem.
		if err2 := s.objs.create(ctx, name, body, false); err2 != nil {
			return false, fmt.Errorf("s3blocks: open: cannot write to bucket %s: %w", s.opts.Bucket, err2)
		}
		s.log.Warn("s3blocks: the object store rejects If-None-Match: *; group objects are uploaded without it", "err", err)
		s.objs.remove(ctx, name)
		return false, nil
	}
	err := s.objs.create(ctx, name, body, true)
	if rerr := s.objs.remove(ctx, name); rerr != nil && err == nil {
		err = rerr
	}
	switch {
	case errors.Is(err, errObjectExists):
		return true, nil
	case err == nil:
		s.log.Warn("s3blocks: the object store ignores If-None-Match: *; group objects are uploaded without it")
		return false, nil
	default:
		return false, fmt.Errorf("s3blocks: open: %w", err)
	}
}

// Put implements store.BlockStore. It returns once data is in a group
// object that is uploaded and sealed in the index, or, for a key already
// stored (a dedup hit, which touches it), once the group it joined is: a
// dedup hit takes as long as a write, so that its latency does not tell
// whether another account stored the content. If ctx ends first Put
// returns ctx's error, and the block may still be stored.
func (s *Store) Put(ctx context.Context, key ebs.Digest, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(data) > pack.MaxDataLen {
		return fmt.Errorf("s3blocks: put %v: %d bytes over the %d limit", key, len(data), pack.MaxDataLen)
	}
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return fmt.Errorf("s3blocks: put: %w", store.ErrClosed)
	}
	for {
		call, leader := s.claim(key)
		if leader {
			return s.lead(ctx, key, data, call)
		}
		select {
		case <-call.done:
			if call.err != nil {
				// The Put we waited for failed, maybe for reasons of its
				// own (its context): try again, as the leader if nobody
				// else is.
				continue
			}
			// The leader's touch or seal may predate this Put, and so an
			// epoch this Put's caller read since (store.EpochSource): a
			// collection armed in between may sweep it. Touch it again
			// now; if a sweep took it meanwhile, store it again.
			found, err := s.index.Touch(ctx, key)
			if err != nil {
				return fmt.Errorf("s3blocks: put %v: %w", key, err)
			}
			if found {
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// claim returns the claim on key in flight, or registers and returns a new
// one with leader true.
func (s *Store) claim(key ebs.Digest) (call *putCall, leader bool) {
	s.inflightMu.Lock()
	defer s.inflightMu.Unlock()
	if c, ok := s.inflight[key]; ok {
		return c, false
	}
	c := &putCall{done: make(chan struct{})}
	s.inflight[key] = c
	return c, true
}

// settle ends call, the claim on key, with err.
func (s *Store) settle(key ebs.Digest, call *putCall, err error) {
	s.inflightMu.Lock()
	delete(s.inflight, key)
	s.inflightMu.Unlock()
	call.err = err
	close(call.done)
}

// lead does the Put of key registered as call: the dedup probe touches
// the key if it is indexed (one statement, so a sweep either sees the
// touch or deletes first and the probe misses); otherwise data joins the
// open group. Either way call is settled when that group is sealed.
func (s *Store) lead(ctx context.Context, key ebs.Digest, data []byte, call *putCall) error {
	found, err := s.index.Touch(ctx, key)
	if err != nil {
		err = fmt.Errorf("s3blocks: put %v: %w", key, err)
		s.settle(key, call, err)
		return err
	}
	s.join(key, data, found, call)
	select {
	case <-call.done:
		return call.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Has implements store.BlockStore.
func (s *Store) Has(ctx context.Context, key ebs.Digest) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return false, fmt.Errorf("s3blocks: has: %w", store.ErrClosed)
	}
	_, err := s.index.Lookup(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("s3blocks: has %v: %w", key, err)
	}
	return true, nil
}

// Close implements store.BlockStore: it waits for the calls in flight,
// and so for the uploads their Puts wait on. It does not close the
// index, which the caller opened.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return fmt.Errorf("s3blocks: close: %w", store.ErrClosed)
	}
	s.closed = true
	s.closeMu.Unlock()
	// Puts whose context ended left their groups uploading.
	s.mu.Lock()
	s.startUploadsLocked(true)
	s.mu.Unlock()
	s.flushes.Wait()
	return nil
}
