package powerloss

import (
	"math/rand/v2"

	"github.com/ebsd/ebsd/internal/ebs"
)

// pool is the contents the workload writes, in two tiers:
//   - hot: a small alphabet, so that most writes deduplicate against
//     blocks stored by other snapshots, accounts, cycles and crashes, and
//     content that every holder left (deleted, overwritten) is soon
//     written again, onto a stored copy a collection may be judging dead;
//   - cold: a large one, so that many blocks are held by one snapshot
//     lineage only and die with it: a collection that wrongly judges them
//     dead loses data that nothing else holds, which the checks then see.
type pool struct {
	seed        uint64
	hot         [][]byte
	hotDigests  []ebs.Digest
	cold        int // contents in the cold tier
	coldPercent int // the share of writes that are cold
}

// coldContents is the size of the cold tier.
const coldContents = 1 << 16

// coldBase numbers the cold contents after every hot one.
const coldBase = 1 << 19

func newPool(hot, cold, coldPercent int, seed uint64) *pool {
	p := &pool{seed: seed, cold: cold, coldPercent: coldPercent}
	for i := range hot {
		b := block(seed<<20 | uint64(i))
		if i == 0 {
			b = make([]byte, ebs.BlockSize) // the zero block, which stores no data
		}
		p.hot = append(p.hot, b)
		p.hotDigests = append(p.hotDigests, digestOf(b))
	}
	return p
}

// pick draws the content of a write. A cold one is made in *buf, which
// the caller keeps for the next.
func (p *pool) pick(rng *rand.Rand, buf *[]byte) ([]byte, ebs.Digest) {
	if p.cold == 0 || rng.IntN(100) >= p.coldPercent {
		k := rng.IntN(len(p.hot))
		return p.hot[k], p.hotDigests[k]
	}
	*buf = fill(*buf, p.seed<<20|coldBase|uint64(rng.IntN(p.cold)))
	return *buf, digestOf(*buf)
}
