//go:build linux

package client_test

import (
	"math/rand/v2"
	"os"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/ebsd/ebsd/internal/client"
)

// countingFile is an image file that counts the blocks read from it. It
// wraps the *os.File, so the upload still probes it for holes.
type countingFile struct {
	*os.File
	reads atomic.Int64
}

func (f *countingFile) ReadAt(p []byte, off int64) (int, error) {
	f.reads.Add(1)
	return f.File.ReadAt(p, off)
}

// TestUploadNoSparse checks that holes are skipped unread by default and
// read like any block with NoSparse (ebs upload --no-sparse, review F11),
// and that the snapshot is the same either way.
func TestUploadNoSparse(t *testing.T) {
	e := newEnv(t)
	image := make([]byte, 40*bs+100)
	r := rand.New(rand.NewPCG(3, 4))
	for _, i := range []int{1, 7, 8, 30} {
		fillRandom(r, image[i*bs:(i+1)*bs])
	}
	fillRandom(r, image[40*bs:])
	path := writeSparse(t, image)
	data := nonZero(image)
	tests := []struct {
		name      string
		noSparse  bool
		wantReads int
	}{
		{"probe", false, len(data)},
		{"no-sparse", true, blocksOf(image)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, size, err := client.OpenImage(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			img := &countingFile{File: f}
			res := upload(t, e.client(nil, nil), client.UploadInput{Image: img, Size: size, NoSparse: tc.noSparse, Wait: true})
			if got := img.reads.Load(); got != int64(tc.wantReads) {
				t.Errorf("%d blocks read, want %d (%d blocks, %d with data)", got, tc.wantReads, blocksOf(image), len(data))
			}
			if listed := checkSnapshot(t, e.api, res.SnapshotID, image); !slices.Equal(listed, data) {
				t.Errorf("listed %v, want %v", listed, data)
			}
		})
	}
}
