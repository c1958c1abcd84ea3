package packblocks

import (
	"time"

	"github.com/ebsd/ebsd/internal/ebs"
)

// syncGroup is the set of calls one sync settles. Appends, dedup hits and
// corrupt copies join the pending group under the append lock; the syncer
// takes the whole group, puts a fresh one in its place, and syncs, so the
// next group fills while a sync is in flight.
type syncGroup struct {
	started time.Time // when the earliest of its calls decided what to do (see Store.pad)
	entries []groupEntry
	packs   []groupPack   // packs written in this group, in append order
	retired []*activePack // packs to close once this group is synced
	syncDir bool          // a pack was created: its directory entry must be synced
}

// entryKind says what the syncer does with an entry once its group is
// synced.
type entryKind uint8

const (
	// entryAppended: the key's entry was appended at loc; index it.
	entryAppended entryKind = iota
	// entryFound: a Put of a key already stored, a dedup hit. Nothing to
	// index, but it is settled by the group's sync like an append, so that
	// a dedup hit takes as long as a write (see doc.go, Timing).
	entryFound
	// entryCorrupt: Get found the copy at loc corrupt; mark it so in the
	// index, so that the key no longer counts as stored.
	entryCorrupt
)

type groupEntry struct {
	kind entryKind
	key  ebs.Digest
	loc  location
	call *putCall
}

// groupPack is a pack written in a group and its offset after the group's
// last entry in it: the pack's watermark once the group is indexed.
type groupPack struct {
	p   *activePack
	end int64
}

func newSyncGroup() *syncGroup { return &syncGroup{} }

func (g *syncGroup) empty() bool {
	return len(g.entries) == 0 && len(g.retired) == 0 && !g.syncDir
}

// add records an entry appended to p, which now ends at end, by a call
// that decided to append at since.
func (g *syncGroup) add(p *activePack, end int64, e groupEntry, since time.Time) {
	g.join(e, since)
	if n := len(g.packs); n > 0 && g.packs[n-1].p == p {
		g.packs[n-1].end = end
		return
	}
	g.packs = append(g.packs, groupPack{p, end})
}

// join records an entry, appended or not, of a call that decided at since.
func (g *syncGroup) join(e groupEntry, since time.Time) {
	if len(g.entries) == 0 || since.Before(g.started) {
		g.started = since
	}
	g.entries = append(g.entries, e)
}
