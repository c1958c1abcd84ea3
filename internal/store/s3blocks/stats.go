package s3blocks

// Stats counts what a Store sent to object storage since Open, and what
// it stored: the cost of a workload in requests (S3 bills per request).
type Stats struct {
	Puts, Gets, Deletes int64 // requests sent
	BytesUploaded       int64 // bodies of the PUTs
	BytesDownloaded     int64 // bodies of the GETs
	Blocks              int64 // blocks uploaded in groups (dedup hits not counted)
	BlockBytes          int64 // their raw bytes
	Groups              int64 // groups sealed by Puts
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	return Stats{
		Puts:            s.stats.puts.Load(),
		Gets:            s.stats.gets.Load(),
		Deletes:         s.stats.deletes.Load(),
		BytesUploaded:   s.stats.putBytes.Load(),
		BytesDownloaded: s.stats.getBytes.Load(),
		Blocks:          s.blocksStored.Load(),
		BlockBytes:      s.blockBytes.Load(),
		Groups:          s.groupsSealed.Load(),
	}
}

// PutsPerGiB is the number of PUT requests per GiB of block data stored:
// with one object per 512 KiB block it would be 2048.
func (st Stats) PutsPerGiB() float64 {
	if st.BlockBytes == 0 {
		return 0
	}
	return float64(st.Puts) / (float64(st.BlockBytes) / (1 << 30))
}
