package snapshot

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/pack"
	"github.com/ebsd/ebsd/internal/store"
	"github.com/ebsd/ebsd/internal/token"
)

// Lifetimes of the tokens the service issues (AWS FAQ: "Block tokens are
// valid for seven days, and next tokens are valid for 60 minutes").
const (
	BlockTokenLifetime = 7 * 24 * time.Hour
	PageTokenLifetime  = 60 * time.Minute
)

// tokenSecretName names the HMAC secret of block and page tokens in the
// MetaStore, so that every ebsd node sharing the store accepts the tokens
// of the others, and tokens survive restarts.
const tokenSecretName = "token-hmac-v1"

// KeyProvider is what the service needs of a KMS: master keys named by
// ARN that wrap per-snapshot data keys. internal/keyring provides it.
type KeyProvider interface {
	// DefaultKeyARN returns the account's default key, creating it if needed.
	DefaultKeyARN(accountID string) (string, error)
	// Has reports whether a master key with this ARN is configured.
	Has(arn string) bool
	// NewDataKey returns a fresh data key and its wrapped form.
	NewDataKey(arn string) (plain, wrapped []byte, err error)
	// Unwrap returns the data key sealed in wrapped.
	Unwrap(arn string, wrapped []byte) ([]byte, error)
	// Wrap seals an existing data key under the master key arn.
	Wrap(arn string, plain []byte) ([]byte, error)
}

// Options configure a Service.
type Options struct {
	Meta   store.MetaStore
	Blocks store.BlockStore
	Keys   KeyProvider // nil: encryption requests are refused

	// Compression compresses each block of an encrypted snapshot that
	// compresses well before it is sealed (sealed.go); without it blocks
	// are sealed as they are. Blocks sealed either way stay readable.
	Compression bool

	// MaxPendingSnapshots is how many snapshots one account may have
	// pending at once (AWS's quota is 100); 0 means 100.
	MaxPendingSnapshots int

	// SweepInterval is how often Run looks for timed-out snapshots; 0
	// means one minute.
	SweepInterval time.Duration

	// StorageQuota returns the storage quota of an account in bytes of
	// logical data written (quota.go); 0 or less means none. It is asked
	// at every check, so a quota that changes (credentials.json reloaded)
	// applies from the next request. nil means no account has a quota.
	StorageQuota func(accountID string) int64

	Now    func() time.Time // nil = time.Now
	Logger *slog.Logger     // nil = slog.Default()
}

// Service implements the six EBS direct API operations over a MetaStore
// and a BlockStore. It is safe for concurrent use.
type Service struct {
	meta       store.MetaStore
	blocks     store.BlockStore
	keys       KeyProvider
	tokens     *token.Signer
	now        func() time.Time
	log        *slog.Logger
	maxPending int
	sweepEvery time.Duration
	quota      func(accountID string) int64

	bufs    sync.Pool     // *[]byte of blockBufSize
	packer  *pack.Encoder // compresses encrypted blocks before sealing; nil: -compression off
	ciphers cipherCache
	chains  chainCache
	copies  copyJobs
	gate    writeGate
	fence   *blockFence // nil unless the stores are shared by several processes
}

// blockBufSize fits a block and the encryption overhead.
const blockBufSize = ebs.BlockSize + 64

// New returns a Service. It reads (or, on first start, creates) the token
// secret in opts.Meta.
func New(ctx context.Context, opts Options) (*Service, error) {
	if opts.Meta == nil || opts.Blocks == nil {
		return nil, fmt.Errorf("snapshot: New needs a MetaStore and a BlockStore")
	}
	secret, err := opts.Meta.Secret(ctx, tokenSecretName, func() ([]byte, error) {
		b := make([]byte, 32)
		_, err := rand.Read(b)
		return b, err
	})
	if err != nil {
		return nil, fmt.Errorf("snapshot: load token secret: %w", err)
	}
	signer, err := token.NewSigner(secret)
	if err != nil {
		return nil, fmt.Errorf("snapshot: token signer: %w", err)
	}
	s := &Service{
		meta:       opts.Meta,
		blocks:     opts.Blocks,
		keys:       opts.Keys,
		tokens:     signer,
		now:        opts.Now,
		log:        opts.Logger,
		maxPending: opts.MaxPendingSnapshots,
		sweepEvery: opts.SweepInterval,
		quota:      opts.StorageQuota,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.maxPending <= 0 {
		s.maxPending = 100
	}
	if s.sweepEvery <= 0 {
		s.sweepEvery = time.Minute
	}
	if opts.Compression {
		if s.packer, err = pack.NewEncoder(pack.SpeedFastest); err != nil {
			return nil, fmt.Errorf("snapshot: %w", err)
		}
	}
	s.copies.init()
	s.fence = newBlockFence(opts.Meta, opts.Blocks)
	s.bufs.New = func() any {
		b := make([]byte, blockBufSize)
		return &b
	}
	return s, nil
}

// getBuf borrows a block-sized buffer; putBuf returns it.
func (s *Service) getBuf() *[]byte  { return s.bufs.Get().(*[]byte) }
func (s *Service) putBuf(b *[]byte) { s.bufs.Put(b) }

// internal wraps an unexpected storage error for the wire layer, which logs
// the cause and shows the client a generic message; a full disk gets its
// own retryable error (storage_full.go).
func internal(op string, err error) error {
	if e := storageFull(op, err); e != nil {
		return e
	}
	if errors.Is(err, store.ErrUnavailable) {
		// Every SDK retries a 503 with backoff: PostgreSQL or the object
		// store restarting is a wait, not a failure.
		return ebs.Wrap(op, ebs.KindUnavailable, err,
			"The server cannot reach its storage backend just now; retry later.")
	}
	return ebs.Wrap(op, ebs.KindInternal, err, "internal error")
}
