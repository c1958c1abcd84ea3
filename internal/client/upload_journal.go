package client

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// uploadHeader identifies the work an upload journal records: a journal
// is trusted only by a run with the same snapshot, image size, volume size,
// parent and resolved zero policy, so a resume never skips a block on the
// word of a journal about something else.
type uploadHeader struct {
	snapshotID string
	imageSize  int64
	volumeSize int64 // GiB
	parent     string
	zero       ZeroPolicy // resolved: skip or upload
}

// UploadJournalPath is where the journal of an upload into snapshot id is
// kept.
func UploadJournalPath(stateDir, id string) string {
	return filepath.Join(stateDir, "uploads", id+".journal")
}

func (h uploadHeader) bytes() []byte {
	return fmt.Appendf(nil, "ebs upload v1\nsnapshot=%s\nimage-size=%d\nvolume-size=%d\nparent=%s\nzero-blocks=%s\n",
		h.snapshotID, h.imageSize, h.volumeSize, h.parent, h.zero)
}

// parseUploadHeader is the inverse of bytes.
func parseUploadHeader(b []byte) (uploadHeader, error) {
	var h uploadHeader
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 6 || lines[0] != "ebs upload v1" {
		return h, errors.New("not an upload journal")
	}
	get := func(line, key string) (string, error) {
		v, ok := strings.CutPrefix(line, key+"=")
		if !ok {
			return "", fmt.Errorf("upload journal: want %s, got %q", key, line)
		}
		return v, nil
	}
	var err error
	var v string
	if h.snapshotID, err = get(lines[1], "snapshot"); err != nil {
		return h, err
	}
	if v, err = get(lines[2], "image-size"); err != nil {
		return h, err
	}
	if h.imageSize, err = strconv.ParseInt(v, 10, 64); err != nil {
		return h, err
	}
	if v, err = get(lines[3], "volume-size"); err != nil {
		return h, err
	}
	if h.volumeSize, err = strconv.ParseInt(v, 10, 64); err != nil {
		return h, err
	}
	if h.parent, err = get(lines[4], "parent"); err != nil {
		return h, err
	}
	if v, err = get(lines[5], "zero-blocks"); err != nil {
		return h, err
	}
	if h.zero, err = ParseZeroPolicy(v); err != nil {
		return h, err
	}
	return h, nil
}

// peekUploadHeader reads the header of the upload journal at path without
// opening it for writing, so that a resume can learn how the interrupted
// run was set up (its volume size, parent and resolved zero policy). It
// returns os.ErrNotExist when there is no usable journal.
func peekUploadHeader(path string) (uploadHeader, error) {
	f, err := os.Open(path)
	if err != nil {
		return uploadHeader{}, err
	}
	defer f.Close()
	head := make([]byte, len(journalMagic)+4)
	if _, err := io.ReadFull(f, head); err != nil || string(head[:len(journalMagic)]) != string(journalMagic) {
		return uploadHeader{}, fmt.Errorf("journal %s: %w", path, os.ErrNotExist)
	}
	n := binary.BigEndian.Uint32(head[len(journalMagic):])
	if n > 4096 {
		return uploadHeader{}, fmt.Errorf("journal %s: header of %d bytes is not an upload header", path, n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(f, b); err != nil {
		return uploadHeader{}, fmt.Errorf("journal %s: %w", path, os.ErrNotExist)
	}
	h, err := parseUploadHeader(b)
	if err != nil {
		return h, fmt.Errorf("journal %s: %w", path, err)
	}
	return h, nil
}
