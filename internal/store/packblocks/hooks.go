package packblocks

import "github.com/ebsd/ebsd/internal/ebs"

// hooks are instrumentation points for this package's tests, which set
// them before using the store; a nil hook does nothing. They let a test
// stop one goroutine at a chosen instant and run another's work in
// between: the interleavings docs/gc.md's argument depends on.
type hooks struct {
	// leadAfterHas runs in a Put's lead between its index check and its
	// touch, with touchMu read-locked.
	leadAfterHas func(key ebs.Digest, found bool)
	// getAfterLookup runs in Get between its index lookup and the open of
	// the pack; getAfterOpen between the open and the read.
	getAfterLookup func(key ebs.Digest)
	getAfterOpen   func(key ebs.Digest)
	// sweepBeforeJob runs in Sweep after it scanned a batch of candidates
	// and before the syncer re-checks and deletes them; sweepBeforeCommit
	// in that job, with touchMu locked, before its commit.
	sweepBeforeJob    func(batch int)
	sweepBeforeCommit func()
	// compactStep runs in Compact before each step of docs/gc.md §6.1
	// ("C2" ... "C7"). An error stops the compaction right there, leaving
	// everything as it is, as a crash would.
	compactStep func(step string) error
}
