package client

import "time"

// Outcome says what happened to one block.
type Outcome uint8

// The outcomes of a block.
const (
	Written   Outcome = iota // uploaded, or downloaded and written
	Zero                     // all zeros: skipped on upload, left a hole on download
	Unchanged                // equal to the parent's block: not uploaded
	Resumed                  // done by an earlier, interrupted run
)

func (o Outcome) String() string {
	switch o {
	case Written:
		return "written"
	case Zero:
		return "zero"
	case Unchanged:
		return "unchanged"
	case Resumed:
		return "resumed"
	}
	return "unknown"
}

// Observer follows a transfer, e.g. to draw a progress bar. Its methods
// are called from many goroutines and must be safe for concurrent use and
// quick.
type Observer interface {
	// Begin announces a phase ("upload", "download", "scan parent") of
	// totalBlocks blocks, totalBytes bytes in all.
	Begin(phase string, totalBlocks, totalBytes int64)
	// Block reports one block done; bytes is what crossed the network.
	Block(outcome Outcome, bytes int64)
	// Retry reports a failed attempt that will be retried after delay.
	Retry(op string, attempt int, delay time.Duration, err error)
	// End closes the phase Begin opened.
	End()
}

type nopObserver struct{}

func (nopObserver) Begin(string, int64, int64)              {}
func (nopObserver) Block(Outcome, int64)                    {}
func (nopObserver) Retry(string, int, time.Duration, error) {}
func (nopObserver) End()                                    {}
