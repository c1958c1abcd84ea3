package snapexport

import "sync"

// streams recognises sequential readers among an export's reads, so that
// only they get read-ahead: a read that starts where a recent one ended
// continues that stream, any other read starts a stream of its own.
// Random reads, even of cached blocks, then fetch nothing ahead: their
// read-ahead would only take the service's time from the reads waiting
// for it. Several streams are followed at once (nbdcopy reads a region
// per connection; a file system reads several files).
type streams struct {
	mu   sync.Mutex
	s    [streamSlots]stream
	hand int // the slot the next new stream replaces
}

// stream is one sequential reader: where its last read ended, and how
// many reads in a row continued it.
type stream struct {
	end int64
	run int
}

// streamSlots is how many streams are followed; the oldest new one is
// forgotten first.
const streamSlots = 16

// streamSlack is how far from a stream's end a read may start and still
// continue it: a client's requests are served in parallel, so they reach
// the export a little out of order.
const streamSlack = blockSize

// observe records a read of n bytes at off and returns how many blocks
// past it to read ahead: none for a read that continues no stream, then
// twice as many for each read that continues it, up to most. The ramp
// keeps a chance match of a random read cheap.
func (ss *streams) observe(off, n int64, most int) int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for k := range ss.s {
		st := &ss.s[k]
		if st.run > 0 && off >= st.end-streamSlack && off <= st.end+streamSlack {
			st.end = max(st.end, off+n)
			st.run++
			return min(most, 1<<min(st.run-1, 20))
		}
	}
	ss.s[ss.hand] = stream{end: off + n, run: 1}
	ss.hand = (ss.hand + 1) % streamSlots
	return 0
}
