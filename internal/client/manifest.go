package client

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ebsd/ebsd/internal/fsutil"
)

// Manifest is the SHA-256 of every written block of a completed snapshot
// (its own and inherited). The EBS APIs give a block's checksum only with
// its data, so an incremental upload compares the image against the
// parent's manifest, kept locally by the upload or download that made or
// read the parent, and reads nothing from the service to find what
// changed. A snapshot never changes once completed, so a manifest never
// goes stale.
type Manifest struct {
	SnapshotID string
	VolumeSize int64 // GiB
	// ImageSize is the size in bytes of the image the snapshot was
	// uploaded from, recorded by the upload (0: not known), so that a
	// download restores the image, not the whole volume.
	ImageSize int64
	// blocks is sorted by index, one entry per index: 36 bytes a block,
	// where a map would take several times that for the 2 million blocks
	// of a full 1 TiB volume.
	blocks blockDigests
}

// Len returns the number of blocks in the manifest.
func (m *Manifest) Len() int { return len(m.blocks) }

// Digest returns the SHA-256 of block index, and whether the snapshot has
// that block.
func (m *Manifest) Digest(index int32) ([sha256.Size]byte, bool) { return m.blocks.find(index) }

// manifestMagic starts a manifest; manifestMagicV1 starts one written
// before ImageSize was kept, still read.
var (
	manifestMagic   = []byte("EBSMANI2")
	manifestMagicV1 = []byte("EBSMANI1")
)

// ManifestPath is where the manifest of snapshot id is kept.
func ManifestPath(stateDir, id string) string {
	return filepath.Join(stateDir, "manifests", id+".manifest")
}

// Save writes m atomically and durably.
func (m *Manifest) Save(stateDir string) error {
	path := ManifestPath(stateDir, m.SnapshotID)
	b := append([]byte{}, manifestMagic...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(m.SnapshotID)))
	b = append(b, m.SnapshotID...)
	b = binary.BigEndian.AppendUint64(b, uint64(m.VolumeSize))
	b = binary.BigEndian.AppendUint64(b, uint64(m.ImageSize))
	b = binary.BigEndian.AppendUint32(b, uint32(len(m.blocks)))
	for _, d := range m.blocks {
		b = binary.BigEndian.AppendUint32(b, uint32(d.index))
		b = append(b, d.sum[:]...)
	}
	sum := sha256.Sum256(b)
	b = append(b, sum[:]...)
	return fsutil.WriteFile(path, b)
}

// ErrNoManifest means no manifest is kept for the snapshot.
var ErrNoManifest = errors.New("no manifest for this snapshot")

// LoadManifest reads the manifest of snapshot id. It returns ErrNoManifest
// when there is none, and an error when the file is damaged.
func LoadManifest(stateDir, id string) (*Manifest, error) {
	path := ManifestPath(stateDir, id)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", id, ErrNoManifest)
	}
	if err != nil {
		return nil, err
	}
	bad := fmt.Errorf("manifest %s is damaged; delete it and ebs will do without", path)
	if len(b) < len(manifestMagic)+2+sha256.Size {
		return nil, bad
	}
	v1 := string(b[:len(manifestMagicV1)]) == string(manifestMagicV1)
	if !v1 && string(b[:len(manifestMagic)]) != string(manifestMagic) {
		return nil, bad
	}
	body, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if s := sha256.Sum256(body); string(s[:]) != string(sum) {
		return nil, bad
	}
	p := body[len(manifestMagic):]
	n := int(binary.BigEndian.Uint16(p))
	p = p[2:]
	head := 8 + 8 + 4 // volume size, image size, count
	if v1 {
		head = 8 + 4
	}
	if len(p) < n+head {
		return nil, bad
	}
	m := &Manifest{SnapshotID: string(p[:n])}
	p = p[n:]
	m.VolumeSize = int64(binary.BigEndian.Uint64(p))
	if !v1 {
		m.ImageSize = int64(binary.BigEndian.Uint64(p[8:]))
	}
	count := int(binary.BigEndian.Uint32(p[head-4:]))
	p = p[head:]
	if m.SnapshotID != id || len(p) != count*(4+sha256.Size) {
		return nil, bad
	}
	m.blocks = make(blockDigests, count)
	for k := range m.blocks {
		m.blocks[k].index = int32(binary.BigEndian.Uint32(p))
		copy(m.blocks[k].sum[:], p[4:4+sha256.Size])
		if k > 0 && m.blocks[k].index <= m.blocks[k-1].index {
			return nil, bad
		}
		p = p[4+sha256.Size:]
	}
	return m, nil
}
