package client

import (
	"log/slog"
	"sync"
	"time"
)

// BlockSize is the EBS block size.
const BlockSize = 524288

// Options configure a Client. The zero value is usable.
type Options struct {
	// Workers is how many blocks move at once; 0 means DefaultWorkers.
	Workers int
	// Retry is the retry policy of every call; the zero value means
	// DefaultRetryPolicy.
	Retry RetryPolicy
	// Observer is told about progress and retries; nil ignores them.
	Observer Observer
	// Logger receives debug logs (each retry, each phase); nil discards.
	Logger *slog.Logger
	// StateDir holds upload journals and block manifests (see journal.go
	// and manifest.go); "" means DefaultStateDir().
	StateDir string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// EC2, when set, reads a snapshot's tags (DescribeSnapshots) for the
	// image size its upload recorded (ImageSizeTag); nil: not read.
	EC2 EC2API
}

// DefaultWorkers matches the connection count AWS's performance guide and
// coldsnap use, and keeps memory at Workers x 512 KiB.
const DefaultWorkers = 64

// Client moves images in and out of snapshots. It is safe for concurrent
// use.
type Client struct {
	api  API
	opts Options
	bufs sync.Pool // *[]byte of BlockSize
	log  *slog.Logger
}

// New returns a Client over api.
func New(api API, opts Options) *Client {
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.Retry == (RetryPolicy{}) {
		opts.Retry = DefaultRetryPolicy
	}
	if opts.Observer == nil {
		opts.Observer = nopObserver{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.StateDir == "" {
		opts.StateDir = DefaultStateDir()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Client{api: api, opts: opts, log: opts.Logger}
	c.bufs.New = func() any {
		b := make([]byte, BlockSize)
		return &b
	}
	return c
}

// getBuf borrows a block buffer; putBuf returns it. At most Workers
// buffers are in use at once, which bounds the client's memory.
func (c *Client) getBuf() *[]byte  { return c.bufs.Get().(*[]byte) }
func (c *Client) putBuf(b *[]byte) { c.bufs.Put(b) }
