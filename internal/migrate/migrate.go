package migrate

import (
	"context"
	"errors"
	"fmt"

	"github.com/ebsd/ebsd/internal/store"
)

// ErrMismatch is Run's error when the check found the destination
// different from the source; Report.Mismatches says where.
var ErrMismatch = errors.New("migrate: the destination differs from the source")

// Meta is what Run needs of a metadata store, on either side.
type Meta interface {
	store.MetaStore
	store.Importer
}

// Stores are one side of a migration.
type Stores struct {
	Meta   Meta
	Blocks store.BlockStore
}

// DefaultParallel is how many blocks Run copies or reads back at once: an
// object store's latency, not its bandwidth, bounds a single stream.
const DefaultParallel = 16

// Options configure Run.
type Options struct {
	From, To Stores

	// CopySecret says whether the secret named name is copied; nil copies
	// every one. (The KMS keys of an embedded server live in its keys
	// file, not in its metadata store: the caller moves those.)
	CopySecret func(name string) bool

	// Parallel bounds the blocks copied or read back at once;
	// DefaultParallel when 0.
	Parallel int

	// Progress, when set, is called after each snapshot is copied or
	// checked, with the report so far.
	Progress func(Progress)
}

// Phase names a part of a migration.
type Phase string

// The phases of Run, in order.
const (
	PhaseCopy  Phase = "copy"
	PhaseCheck Phase = "check"
)

// Progress is where a migration is.
type Progress struct {
	Phase    Phase
	Snapshot string // the snapshot just done
	Done, Of int    // snapshots done in this phase, of how many
	Report   Report // so far
	Skipped  bool   // PhaseCopy: the destination had the snapshot already
}

// Report is what a migration did and found.
type Report struct {
	Secrets   int // secrets copied or found equal
	Snapshots int // records in the source
	Imported  int // records imported by this run
	Skipped   int // records an earlier run had imported

	Mappings     int64 // own mappings imported by this run
	BlocksPut    int64 // blocks read from the source and Put
	BytesPut     int64 // their stored bytes
	BlocksHadAll int64 // referenced blocks the destination had already

	// The check.
	Checked        int      // snapshots whose record, mappings and view were compared
	ViewEntries    int64    // view entries compared, over all snapshots
	BlocksVerified int64    // distinct stored blocks read back and hashed
	Owners         int      // owners whose Usage was compared
	Differences    int      // differences found; 0 when the check passed
	Mismatches     []string // the first maxMismatches of them, described
}

// maxMismatches bounds the differences a Report describes, so that a
// destination that differs everywhere does not fill memory with strings.
const maxMismatches = 100

// Run copies everything opts.From holds into opts.To, then checks the
// result block by block. It fails with ErrMismatch, after the whole check,
// when the destination differs; with another error when a store failed,
// in which case running it again continues where it stopped.
func Run(ctx context.Context, opts Options) (Report, error) {
	if opts.Parallel <= 0 {
		opts.Parallel = DefaultParallel
	}
	r := &run{opts: opts}
	if err := r.copySecrets(ctx); err != nil {
		return r.report, err
	}
	snaps, err := sourceSnapshots(ctx, opts.From.Meta)
	if err != nil {
		return r.report, err
	}
	r.report.Snapshots = len(snaps)
	for i, s := range snaps {
		skipped, err := r.copySnapshot(ctx, s)
		if err != nil {
			return r.report, fmt.Errorf("migrate: snapshot %s: %w", s.ID, err)
		}
		r.progress(PhaseCopy, s.ID, i+1, len(snaps), skipped)
	}
	if err := r.check(ctx, snaps); err != nil {
		return r.report, err
	}
	if n := r.report.Differences; n > 0 {
		return r.report, fmt.Errorf("%w: %d differences", ErrMismatch, n)
	}
	return r.report, nil
}

// run is the state of one Run.
type run struct {
	opts   Options
	report Report
	copied keySet // keys this run Put or found in the destination
}

func (r *run) progress(phase Phase, id string, done, of int, skipped bool) {
	if r.opts.Progress != nil {
		r.opts.Progress(Progress{Phase: phase, Snapshot: id, Done: done, Of: of, Report: r.report, Skipped: skipped})
	}
}

// mismatch records a difference the check found.
func (r *run) mismatch(format string, args ...any) {
	r.report.Differences++
	if len(r.report.Mismatches) < maxMismatches {
		r.report.Mismatches = append(r.report.Mismatches, fmt.Sprintf(format, args...))
	}
}
