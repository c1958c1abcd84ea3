package client_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"

	"github.com/ebsd/ebsd/internal/client"
	"github.com/ebsd/ebsd/internal/ebstest"
)

// startRecorder records the tags of every StartSnapshot.
type startRecorder struct {
	client.API
	mu   sync.Mutex
	tags [][]types.Tag
}

func (s *startRecorder) StartSnapshot(ctx context.Context, in *ebs.StartSnapshotInput, o ...func(*ebs.Options)) (*ebs.StartSnapshotOutput, error) {
	s.mu.Lock()
	s.tags = append(s.tags, in.Tags)
	s.mu.Unlock()
	return s.API.StartSnapshot(ctx, in, o...)
}

func tagValue(tags []types.Tag, key string) (string, bool) {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value), true
		}
	}
	return "", false
}

// writeSparse writes image into a new sparse file: only its non-zero
// blocks are written, the rest are holes.
func writeSparse(t *testing.T, image []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sparse.img")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(int64(len(image))); err != nil {
		t.Fatal(err)
	}
	for _, i := range nonZero(image) {
		if _, err := f.WriteAt(image[int(i)*bs:min(int(i+1)*bs, len(image))], int64(i)*bs); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// TestDownloadRestoresTheImage checks issue 16: an image of 100 MiB +
// 3 KiB, uploaded and downloaded, comes back byte-identical and of the
// same size, not as the 1 GiB volume; the image size comes from what the
// upload recorded, or from Size, and never cuts off data.
func TestDownloadRestoresTheImage(t *testing.T) {
	e := newEnv(t)
	const size = 100<<20 + 3<<10
	image := make([]byte, size)
	for _, i := range []int{0, 17, 150, 199} {
		copy(image[i*bs:], ebstest.Random(uint64(i)))
	}
	copy(image[200*bs:], ebstest.Random(200)) // the last block, 3 KiB of it
	path := writeSparse(t, image)
	img, n, err := client.OpenImage(path)
	if err != nil || n != size {
		t.Fatalf("OpenImage: %d bytes, %v", n, err)
	}
	defer img.Close()
	rec := &startRecorder{API: e.api}
	res := upload(t, e.client(rec, nil), client.UploadInput{Image: img, Size: n, Wait: true,
		Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("test")}}})
	if v, ok := tagValue(rec.tags[0], client.ImageSizeTag); !ok || v != strconv.Itoa(size) || !res.ImageSizeTagged {
		t.Errorf("StartSnapshot tags %v (tagged %v): want %s=%d", rec.tags[0], res.ImageSizeTagged, client.ImageSizeTag, size)
	}
	if v, _ := tagValue(rec.tags[0], "env"); v != "test" {
		t.Errorf("the user's tag was lost: %v", rec.tags[0])
	}

	tests := []struct {
		name     string
		state    string // "" = a fresh one, without the upload's manifest
		size     int64
		want     int64 // bytes of the file
		source   string
		failWith string
	}{
		{"recorded at upload", e.state, 0, size, client.SizeFromManifest, ""},
		{"size given", "", size, size, client.SizeFromFlag, ""},
		{"size given overrides the record", e.state, 150 << 20, 150 << 20, client.SizeFromFlag, ""},
		{"not known: the volume", "", 0, 1 << 30, client.SizeFromVolume, ""},
		{"size that would cut data", "", 50 << 20, 0, "", "holds data past"},
		{"size past the volume", "", 2 << 30, 0, "", "more than the snapshot's volume"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			state := tc.state
			if state == "" {
				state = t.TempDir()
			}
			c := client.New(e.api, client.Options{Workers: 8, Retry: testRetry, StateDir: state})
			out := filepath.Join(t.TempDir(), "restored.img")
			got, err := c.Download(context.Background(), client.DownloadInput{SnapshotID: res.SnapshotID, Path: out, Size: tc.size})
			if tc.failWith != "" {
				if err == nil || !strings.Contains(err.Error(), tc.failWith) {
					t.Fatalf("Download: %v, want an error with %q", err, tc.failWith)
				}
				return
			}
			if err != nil {
				t.Fatalf("Download: %v", err)
			}
			if got.FileBytes != tc.want || got.SizeSource != tc.source {
				t.Errorf("file of %d bytes from %q, want %d from %q", got.FileBytes, got.SizeSource, tc.want, tc.source)
			}
			checkRestored(t, out, image, tc.want)
		})
	}
}

// checkRestored checks that the file at path is n bytes long and holds
// image followed by zeros: the rest of the image's last block read, the
// blocks past it holes (a gibibyte is not read to check it).
func checkRestored(t *testing.T, path string, image []byte, n int64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || fi.Size() != n {
		t.Fatalf("%s: %v bytes (%v), want %d", path, fi.Size(), err, n)
	}
	end := min(n, int64(blocksOf(image))*bs) // the end of the image's last block
	got := make([]byte, end)
	if _, err := f.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[:len(image)], image) || !isZeroBlock(got[len(image):]) {
		t.Fatal("the restored file differs from the image")
	}
	for off := end; off < n; off += bs {
		if !dlIsHole(t, f, off) {
			t.Fatalf("block %d past the image holds data", off/bs)
		}
	}
}

// TestImageSizeTagRoom checks that the image size tag is added only
// when the user's tags leave room under AWS's limit of 50.
func TestImageSizeTagRoom(t *testing.T) {
	e := newEnv(t)
	image := sparseImage(9, 3*bs)
	tags := func(n int) []types.Tag {
		var out []types.Tag
		for i := range n {
			out = append(out, types.Tag{Key: aws.String(fmt.Sprintf("k%d", i)), Value: aws.String("v")})
		}
		return out
	}
	mine := []types.Tag{{Key: aws.String(client.ImageSizeTag), Value: aws.String("mine")}}
	tests := []struct {
		name   string
		tags   []types.Tag
		tagged bool
		count  int // tags sent
	}{
		{"none", nil, true, 1},
		{"49", tags(49), true, 50},
		{"50", tags(50), false, 50},
		{"the user's own", mine, false, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &startRecorder{API: e.api}
			res := upload(t, e.client(rec, nil), client.UploadInput{Image: bytes.NewReader(image), Size: int64(len(image)), Tags: tc.tags, Wait: true})
			if res.ImageSizeTagged != tc.tagged || len(rec.tags[0]) != tc.count {
				t.Errorf("tagged %v with %d tags sent, want %v and %d", res.ImageSizeTagged, len(rec.tags[0]), tc.tagged, tc.count)
			}
		})
	}
}
