package powerloss

import (
	"sync"
	"time"
)

// tokenReuse is how long after it was listed a block token is used again
// instead of a fresh one: within its seven days of validity, on the
// service's clock.
const tokenReuse = 6 * 24 * time.Hour

// tokenBook keeps the block tokens the readers were given, so that later
// reads use them again: a token must keep working while its snapshot
// lives, whatever happens meanwhile to its parents (deleted), to the
// stored block (compacted into another pack) or to the process (restarted).
type tokenBook struct {
	mu     sync.Mutex
	tokens map[string]map[int32]listedToken
}

type listedToken struct {
	token string
	at    time.Time // the service's time when it was listed
}

func newTokenBook() *tokenBook { return &tokenBook{tokens: make(map[string]map[int32]listedToken)} }

// use returns the token to read block index of snapshot id with at now: a
// token kept from before if one is still young enough, else fresh, which
// it keeps.
func (b *tokenBook) use(id string, index int32, fresh string, now time.Time) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := b.tokens[id]
	if m == nil {
		m = make(map[int32]listedToken)
		b.tokens[id] = m
	}
	if t, ok := m[index]; ok && now.Sub(t.at) < tokenReuse {
		return t.token
	}
	m[index] = listedToken{fresh, now}
	return fresh
}

// any returns a token kept for snapshot id, if there is one.
func (b *tokenBook) any(id string) (int32, string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for index, t := range b.tokens[id] {
		return index, t.token, true
	}
	return 0, "", false
}
