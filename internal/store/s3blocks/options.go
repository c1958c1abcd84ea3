package s3blocks

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ebsd/ebsd/internal/pack"
)

// Conditional says whether group objects are uploaded with
// If-None-Match: *, which makes the server refuse to replace an object.
type Conditional int

const (
	// ConditionalAuto probes the server at Open: it uploads a small object
	// twice with the header, and uses it if the second upload is refused.
	ConditionalAuto Conditional = iota
	// ConditionalOn always sends the header.
	ConditionalOn
	// ConditionalOff never sends it: for servers that reject it.
	ConditionalOff
)

// Options configure a Store. Client, Bucket and Index are required.
type Options struct {
	Client *s3.Client
	Bucket string
	// Prefix is prepended to every object name: "ebsd/" puts the groups
	// under ebsd/groups/. Empty means the bucket's root.
	Prefix string
	// Index is the block index the nodes share (PGIndex).
	Index Index
	// Node names this process in the groups it writes; default the host
	// name and process id.
	Node string

	// GroupSize is the size at which a group is uploaded even if writers
	// are still joining it; default 16 MiB.
	GroupSize int64
	// MaxUploads bounds the groups uploaded at once; default 4. Writers
	// that arrive while every upload is busy form the next group, so the
	// busier the store, the larger its groups.
	MaxUploads int
	// MaxDelay is how long a group may wait for more writers once an
	// upload slot is free; default 0: a group is uploaded as soon as it
	// can be, and carries the writers that arrived meanwhile.
	MaxDelay time.Duration
	// Conditional: whether uploads send If-None-Match: *.
	Conditional Conditional
	// Compression makes Put store each new block as a zstd frame when
	// that saves at least 1/16 of it (pack.Encoder), and as it is
	// otherwise. Compaction never compresses: it would rewrite every
	// group object, paying its GET, its PUT and the egress, to save what
	// compressing on write saves for the CPU alone. Get reads entries of
	// either codec whatever this says.
	Compression bool
	// ObjectGrace is how long Compact keeps a retired group's object
	// before deleting it, so that reads that looked the old location up
	// just before the repoint finish without a retry; default 2 minutes.
	// Negative means no grace.
	ObjectGrace time.Duration
	// WritingTTL is the age after which a group still writing is taken
	// for an orphan (its node died between the upload and the seal) and
	// retired; default 1 hour. It must exceed the longest upload and seal.
	WritingTTL time.Duration
	// FlushTimeout bounds one group's upload and seal; default 2 minutes.
	FlushTimeout time.Duration
	Logger       *slog.Logger
}

func (o Options) withDefaults() (Options, error) {
	if o.Client == nil || o.Bucket == "" || o.Index == nil {
		return o, errors.New("s3blocks: Options need Client, Bucket and Index")
	}
	if o.Prefix != "" && !strings.HasSuffix(o.Prefix, "/") {
		o.Prefix += "/"
	}
	if o.Node == "" {
		host, _ := os.Hostname()
		o.Node = fmt.Sprintf("%s/%d", cmp.Or(host, "ebsd"), os.Getpid())
	}
	o.GroupSize = cmp.Or(o.GroupSize, 16<<20)
	if o.GroupSize < pack.FileHeaderSize || o.GroupSize > 1<<30 {
		return o, fmt.Errorf("s3blocks: GroupSize %d out of range", o.GroupSize)
	}
	o.MaxUploads = cmp.Or(o.MaxUploads, 4)
	o.ObjectGrace = cmp.Or(o.ObjectGrace, 2*time.Minute)
	o.ObjectGrace = max(o.ObjectGrace, 0)
	o.WritingTTL = cmp.Or(o.WritingTTL, time.Hour)
	o.FlushTimeout = cmp.Or(o.FlushTimeout, 2*time.Minute)
	o.Logger = cmp.Or(o.Logger, slog.Default())
	return o, nil
}
