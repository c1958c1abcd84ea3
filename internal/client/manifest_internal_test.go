package client

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ebsd/ebsd/internal/fsutil"
)

func TestManifestRoundTrip(t *testing.T) {
	const id = "snap-0123456789abcdef0"
	blocks := blockDigests{{0, sha256.Sum256([]byte("a"))}, {7, sha256.Sum256([]byte("b"))}}
	// A manifest as ebs wrote it before it kept the image size.
	v1 := append([]byte{}, manifestMagicV1...)
	v1 = binary.BigEndian.AppendUint16(v1, uint16(len(id)))
	v1 = append(v1, id...)
	v1 = binary.BigEndian.AppendUint64(v1, 3)
	v1 = binary.BigEndian.AppendUint32(v1, uint32(len(blocks)))
	for _, d := range blocks {
		v1 = binary.BigEndian.AppendUint32(v1, uint32(d.index))
		v1 = append(v1, d.sum[:]...)
	}
	sum := sha256.Sum256(v1)
	v1 = append(v1, sum[:]...)

	tests := []struct {
		name      string
		write     func(state string) error
		imageSize int64
		err       bool
	}{
		{"current", func(state string) error {
			return (&Manifest{SnapshotID: id, VolumeSize: 3, ImageSize: 104860672, blocks: blocks}).Save(state)
		}, 104860672, false},
		{"version 1", func(state string) error { return fsutil.WriteFile(ManifestPath(state, id), v1) }, 0, false},
		{"damaged", func(state string) error {
			bad := append([]byte{}, v1...)
			bad[len(manifestMagicV1)+5] ^= 1
			return fsutil.WriteFile(ManifestPath(state, id), bad)
		}, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			state := t.TempDir()
			if err := os.MkdirAll(filepath.Dir(ManifestPath(state, id)), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := tc.write(state); err != nil {
				t.Fatal(err)
			}
			m, err := LoadManifest(state, id)
			if tc.err {
				if err == nil || errors.Is(err, ErrNoManifest) {
					t.Fatalf("LoadManifest of a damaged manifest: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.VolumeSize != 3 || m.ImageSize != tc.imageSize || m.Len() != 2 {
				t.Errorf("volume %d, image %d bytes, %d blocks; want 3, %d, 2", m.VolumeSize, m.ImageSize, m.Len(), tc.imageSize)
			}
			if d, ok := m.Digest(7); !ok || d != blocks[1].sum {
				t.Error("block 7 lost")
			}
		})
	}
}
