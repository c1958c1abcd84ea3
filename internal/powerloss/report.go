package powerloss

import (
	"fmt"
	"maps"
	"sync"
	"time"
)

// Report is what a campaign did and checked.
type Report struct {
	Scenarios     int
	CrashPoints   int // power cuts and process kills, during recovery included
	RecoveryCuts  int // power cuts that landed while recovery ran
	Kills         int // process kills (the page cache survives them)
	RecoveryKills int // process kills while recovery ran
	Snapshots     map[string]int
	BlocksChecked int // acknowledged blocks read back, counted once per read

	Collections    int           // garbage collections that ran to their end
	CollectTime    time.Duration // their time, in all
	CollectionCuts int           // cuts and kills that landed while a collection ran
	Verifications  int           // full verifications (Check included): after boots and collections
	Deletes        int           // DeleteSnapshot acknowledged
	LineageCopies  int           // CopySnapshot acknowledged that shares the source's blocks (re-wraps included)
	ResealCopies   int           // CopySnapshot acknowledged that seals the source's blocks anew
	Purged         int           // snapshots the collections purged
	KeysSwept      int64         // stored blocks the collections removed from the index
	KeysKept       int64         // dead stored blocks kept because a write touched them mid-collection
	PacksCompacted int
	BytesReclaimed int64
	// Reclaims counts the scenarios that ended by deleting everything and
	// collecting twice, after which no block was left indexed; LeftBytes
	// is the most pack bytes one of them left (the pack being written).
	Reclaims  int
	LeftBytes int64
	Elapsed   time.Duration
}

func (r Report) String() string {
	return fmt.Sprintf("%d crash points: %d power cuts (%d during recovery) and %d process kills (%d during recovery), in %d scenarios; "+
		"%d collections (%v on average; %d more cut or killed mid-way): %d snapshots purged, %d stored blocks swept, %d kept as touched, %d packs compacted, %d bytes reclaimed; "+
		"%d deletes, %d lineage and %d re-seal copies acknowledged; "+
		"%d full verifications, %d acknowledged block reads verified; snapshots checked by state %v; "+
		"%d delete-everything reclaims left no block indexed (at most %d pack bytes left); %v",
		r.CrashPoints, r.CrashPoints-r.Kills-r.RecoveryKills, r.RecoveryCuts, r.Kills+r.RecoveryKills, r.RecoveryKills, r.Scenarios,
		r.Collections, (r.CollectTime / time.Duration(max(r.Collections, 1))).Round(10*time.Microsecond), r.CollectionCuts, r.Purged, r.KeysSwept, r.KeysKept, r.PacksCompacted, r.BytesReclaimed,
		r.Deletes, r.LineageCopies, r.ResealCopies,
		r.Verifications, r.BlocksChecked, r.Snapshots,
		r.Reclaims, r.LeftBytes, r.Elapsed.Round(time.Millisecond))
}

// tally is a Report that the harness's goroutines add to.
type tally struct {
	mu sync.Mutex
	r  Report
}

func (t *tally) add(fn func(*Report)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fn(&t.r)
}

// report returns a copy of the report so far.
func (t *tally) report() Report {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.r
	r.Snapshots = maps.Clone(t.r.Snapshots)
	return r
}
