package client

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// Journal is an append-only record of blocks done: (index, SHA-256) pairs,
// each with a CRC so that a torn last record (the process was killed while
// writing it) is recognized and dropped. Uploads journal acknowledged puts
// so that --resume skips them; downloads journal verified writes. Losing
// the tail of a journal costs only redoing those blocks, so appends are
// buffered and not fsynced one by one.
type Journal struct {
	mu   sync.Mutex
	f    *os.File
	w    *bufio.Writer
	done map[int32][sha256.Size]byte
}

const journalRecordSize = 4 + sha256.Size + 4

var journalMagic = []byte("EBSJRNL1")

// OpenJournal opens (creating) the journal at path and returns it with the
// records it already holds. header identifies the work (snapshot, image
// size, ...): a journal whose header differs belongs to other work and is
// an error, so that a resume never trusts records about something else.
func OpenJournal(path string, header []byte) (*Journal, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	j := &Journal{f: f, done: map[int32][sha256.Size]byte{}}
	valid, err := j.load(header)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	if err := f.Truncate(valid); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(valid, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	j.w = bufio.NewWriterSize(f, 64*journalRecordSize)
	if valid == 0 {
		if err := j.writeHeader(header); err != nil {
			f.Close()
			return nil, err
		}
	}
	return j, nil
}

// load reads the header and records, returning the length of the valid
// prefix of the file.
func (j *Journal) load(header []byte) (int64, error) {
	r := bufio.NewReader(j.f)
	head := make([]byte, len(journalMagic)+4)
	if _, err := io.ReadFull(r, head); err != nil {
		return 0, nil // empty or torn header: start over
	}
	n := binary.BigEndian.Uint32(head[len(journalMagic):])
	if string(head[:len(journalMagic)]) != string(journalMagic) || int(n) != len(header) {
		return 0, errors.New("not a journal of this work")
	}
	got := make([]byte, n)
	if _, err := io.ReadFull(r, got); err != nil {
		return 0, nil
	}
	if string(got) != string(header) {
		return 0, errors.New("the journal belongs to other work (different snapshot or image)")
	}
	valid := int64(len(head) + len(got))
	rec := make([]byte, journalRecordSize)
	for {
		if _, err := io.ReadFull(r, rec); err != nil {
			return valid, nil
		}
		if crc32.ChecksumIEEE(rec[:journalRecordSize-4]) != binary.BigEndian.Uint32(rec[journalRecordSize-4:]) {
			return valid, nil
		}
		var d [sha256.Size]byte
		copy(d[:], rec[4:4+sha256.Size])
		j.done[int32(binary.BigEndian.Uint32(rec))] = d
		valid += journalRecordSize
	}
}

func (j *Journal) writeHeader(header []byte) error {
	b := append([]byte{}, journalMagic...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(header)))
	b = append(b, header...)
	if _, err := j.f.Write(b); err != nil {
		return err
	}
	return nil
}

// Done returns the blocks the journal recorded before it was opened.
func (j *Journal) Done() map[int32][sha256.Size]byte { return j.done }

// Append records one block done.
func (j *Journal) Append(index int32, digest [sha256.Size]byte) error {
	var rec [journalRecordSize]byte
	binary.BigEndian.PutUint32(rec[:], uint32(index))
	copy(rec[4:], digest[:])
	binary.BigEndian.PutUint32(rec[journalRecordSize-4:], crc32.ChecksumIEEE(rec[:journalRecordSize-4]))
	j.mu.Lock()
	defer j.mu.Unlock()
	_, err := j.w.Write(rec[:])
	return err
}

// Flush writes buffered records to the file.
func (j *Journal) Flush() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.w.Flush()
}

// Close flushes and closes the journal.
func (j *Journal) Close() error {
	err := j.Flush()
	return errors.Join(err, j.f.Close())
}

// Remove closes the journal and deletes its file: the work is finished.
func (j *Journal) Remove() error {
	err := j.Close()
	return errors.Join(err, os.Remove(j.f.Name()))
}
