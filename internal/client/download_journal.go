package client

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// downloadJournalPath is where the journal of downloading snapshot id into
// the file at abs is kept: one per (snapshot, file).
func downloadJournalPath(stateDir, id, abs string) string {
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(stateDir, "downloads", fmt.Sprintf("%s-%x.journal", id, sum[:8]))
}

// checkResume refuses a resume into an existing file that no journal
// ties to this snapshot (review F3): without one, the file may be
// anything, and the download would truncate it and write over it. A
// block device is exempt (naming it is the consent), and so is Force.
func (c *Client) checkResume(in DownloadInput, t *target) error {
	if !in.Resume || in.Force || !t.existed || t.device {
		return nil
	}
	path := downloadJournalPath(c.opts.StateDir, in.SnapshotID, t.abs)
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		return err // nil: the journal is there, the resume goes on
	}
	return fmt.Errorf("%s exists, but %s holds no journal of an interrupted download of %s into it, so it is not known to be one: "+
		"refusing to write over it. Download into another path, check --state-dir, or add --force to overwrite the file (everything is downloaded again)",
		in.Path, c.opts.StateDir, in.SnapshotID)
}

// openDownloadJournal opens the journal for in. It reports whether the
// download resumes: Resume was asked, the file existed, and the journal
// holds records about it. Otherwise any old journal is discarded.
// checkResume has already refused an existing file with no journal,
// unless Force.
func (c *Client) openDownloadJournal(in DownloadInput, t *target) (*Journal, bool, error) {
	path := downloadJournalPath(c.opts.StateDir, in.SnapshotID, t.abs)
	header := fmt.Appendf(nil, "download\x00%s\x00%s\x00device=%t", in.SnapshotID, t.abs, t.device)
	if in.Resume && t.existed {
		j, err := OpenJournal(path, header)
		if err != nil {
			return nil, false, fmt.Errorf("resume: %w; remove it to download everything again", err)
		}
		if len(j.Done()) > 0 {
			c.log.Info("resuming download", "journaled_blocks", len(j.Done()), "journal", path)
			return j, true, nil
		}
		j.Close()
		c.log.Warn("--resume: the journal of the earlier download into this file records no block; downloading everything", "journal", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, false, err
	}
	j, err := OpenJournal(path, header)
	return j, false, err
}
