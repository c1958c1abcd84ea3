package client_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ebs"

	"github.com/ebsd/ebsd/internal/client"
	"github.com/ebsd/ebsd/internal/ebstest"
)

func TestDownloadRoundTrip(t *testing.T) {
	_, api := dlServer(t, ebstest.Options{})
	const vol = 2048 // blocks of 1 GiB

	parentBlocks := dlRandomBlocks(1, 40, vol, 5)
	parent := dlSnapshot(t, api, dlSpec{Blocks: parentBlocks})
	// The child overwrites some parent blocks (one of them with zeros,
	// which must read back as zeros, not the parent's data), and adds its
	// own.
	childOwn := dlRandomBlocks(2, 20, vol, 4)
	n := 0
	for i := range parentBlocks {
		switch n++; n {
		case 1:
			childOwn[i] = make([]byte, client.BlockSize)
		case 2, 3:
			childOwn[i] = ebstest.Random(uint64(i) + 77)
		}
	}
	child := dlSnapshot(t, api, dlSpec{Parent: parent, Blocks: childOwn})
	encBlocks := dlRandomBlocks(3, 10, vol, 3)
	encrypted := dlSnapshot(t, api, dlSpec{Encrypted: true, Blocks: encBlocks})
	tail := map[int32][]byte{0: ebstest.Payload("a"), vol - 1: ebstest.Payload("c")}
	edges := dlSnapshot(t, api, dlSpec{Blocks: tail})
	empty := dlSnapshot(t, api, dlSpec{})

	tests := []struct {
		name   string
		id     string
		blocks map[int32][]byte
	}{
		{"random sparse", parent, parentBlocks},
		{"child of a lineage", child, dlMerge(parentBlocks, childOwn)},
		{"encrypted", encrypted, encBlocks},
		{"first and last block", edges, tail},
		{"no blocks", empty, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obs := &dlObserver{}
			c, state := dlClient(t, api, 8, obs)
			path := filepath.Join(t.TempDir(), "disk.img")
			res, err := c.Download(context.Background(), client.DownloadInput{SnapshotID: tc.id, Path: path})
			if err != nil {
				t.Fatalf("Download: %v", err)
			}
			dlCheckSparse(t, path, 1, tc.blocks)
			var zeros int64
			for _, b := range tc.blocks {
				if bytes.Equal(b, make([]byte, client.BlockSize)) {
					zeros++
				}
			}
			want := client.DownloadResult{SnapshotID: tc.id, Path: path, VolumeSize: 1,
				Blocks: int64(len(tc.blocks)), Written: int64(len(tc.blocks)) - zeros, Zero: zeros,
				BytesReceived: int64(len(tc.blocks)) * client.BlockSize, LowestConcurrency: 8,
				FileBytes: 1 << 30, SizeSource: client.SizeFromVolume}
			res.Duration = 0
			if *res != want {
				t.Errorf("result = %+v\nwant     %+v", *res, want)
			}
			if obs.written.Load() != want.Written || obs.zero.Load() != zeros {
				t.Errorf("observer saw %d written, %d zero", obs.written.Load(), obs.zero.Load())
			}
			dlCheckManifest(t, state, tc.id, 1, tc.blocks)
			if left, _ := filepath.Glob(filepath.Join(state, "downloads", "*")); len(left) != 0 {
				t.Errorf("journals left behind: %v", left)
			}
		})
	}
}

func TestDownloadDeviceMode(t *testing.T) {
	_, api := dlServer(t, ebstest.Options{})
	blocks := dlRandomBlocks(4, 30, 2048, 3)
	id := dlSnapshot(t, api, dlSpec{Blocks: blocks})
	vol := int64(1 << 30)
	// The stand-in device is larger than the volume and full of old data.
	garbage := bytes.Repeat([]byte{0xAA}, client.BlockSize)

	tests := []struct {
		name       string
		size       int64
		noZeroFill bool
		wantErr    string
	}{
		{"zero filled", vol + client.BlockSize, false, ""},
		{"no zero fill", vol + client.BlockSize, true, ""},
		{"too small", vol - client.BlockSize, false, "less than the snapshot's volume"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Old data at every listed block, its neighbours and the tail:
			// enough to see what was zeroed and what was left alone.
			path := filepath.Join(t.TempDir(), "dev")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Truncate(tc.size); err != nil {
				t.Fatal(err)
			}
			old := map[int64]bool{}
			for i := range blocks {
				old[int64(i)], old[int64(i)+1] = true, true
			}
			old[tc.size/client.BlockSize-1] = true
			for i := range old {
				if i*client.BlockSize < tc.size {
					if _, err := f.WriteAt(garbage, i*client.BlockSize); err != nil {
						t.Fatal(err)
					}
				}
			}
			f.Close()
			c, _ := dlClient(t, api, 4, nil)
			res, err := c.Download(context.Background(), client.DownloadInput{SnapshotID: id, Path: path, AsDevice: true, NoZeroFill: tc.noZeroFill})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Download error = %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Download: %v", err)
			}
			if !res.Device {
				t.Error("result does not say device mode")
			}
			fi, _ := os.Stat(path)
			if fi.Size() != tc.size {
				t.Errorf("device size changed to %d, want %d (never truncate a device)", fi.Size(), tc.size)
			}
			// Only blocks that held old data or are listed can differ from
			// zeros; the rest were holes all along.
			var check []int64
			for i := range old {
				check = append(check, i)
			}
			for i := range blocks {
				check = append(check, int64(i))
			}
			dlCheckBlocks(t, path, check, func(i int64) []byte {
				if b, listed := blocks[int32(i)]; listed && i*client.BlockSize < vol {
					return b // zero blocks too: written over the old data
				}
				if old[i] && (tc.noZeroFill || i*client.BlockSize >= vol) {
					return garbage // left alone
				}
				return nil
			})
			wantFilled := vol - int64(len(blocks))*client.BlockSize
			if tc.noZeroFill {
				wantFilled = 0
			}
			if res.ZeroFilled != wantFilled {
				t.Errorf("ZeroFilled = %d, want %d", res.ZeroFilled, wantFilled)
			}
		})
	}
}

func TestDownloadRefusesExistingFile(t *testing.T) {
	_, api := dlServer(t, ebstest.Options{})
	blocks := map[int32][]byte{3: ebstest.Payload("a")}
	id := dlSnapshot(t, api, dlSpec{Blocks: blocks})
	path := filepath.Join(t.TempDir(), "disk.img")
	old := bytes.Repeat([]byte("old data"), client.BlockSize)
	if err := os.WriteFile(path, old, 0o644); err != nil {
		t.Fatal(err)
	}
	c, _ := dlClient(t, api, 4, nil)
	_, err := c.Download(context.Background(), client.DownloadInput{SnapshotID: id, Path: path})
	if err == nil || !strings.Contains(err.Error(), "--force") || !strings.Contains(err.Error(), "--resume") {
		t.Fatalf("Download over an existing file: err = %v, want a refusal naming --force and --resume", err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, old) {
		t.Fatal("the refused download changed the file")
	}
	if _, err := c.Download(context.Background(), client.DownloadInput{SnapshotID: id, Path: path, Force: true}); err != nil {
		t.Fatalf("Download --force: %v", err)
	}
	dlCheckSparse(t, path, 1, blocks) // the old data is gone: holes
}

func TestDownloadNotReadable(t *testing.T) {
	_, api := dlServer(t, ebstest.Options{})
	pending := dlStart(t, api, dlSpec{})
	c, _ := dlClient(t, api, 4, nil)
	for _, id := range []string{pending, "snap-0123456789abcdef0"} {
		path := filepath.Join(t.TempDir(), "disk.img")
		_, err := c.Download(context.Background(), client.DownloadInput{SnapshotID: id, Path: path})
		if !errors.Is(err, client.ErrNotReadable) || !strings.Contains(err.Error(), "not completed") {
			t.Errorf("Download(%s) error = %v, want ErrNotReadable explaining pending/missing", id, err)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Download(%s) left a file behind", id)
		}
	}
}

func TestDownloadConcurrentIntoOneFile(t *testing.T) {
	_, api := dlServer(t, ebstest.Options{})
	blocks := dlRandomBlocks(5, 8, 2048, 0)
	id := dlSnapshot(t, api, dlSpec{Blocks: blocks})
	path := filepath.Join(t.TempDir(), "disk.img")

	started, release := make(chan struct{}), make(chan struct{})
	slow := &hookedAPI{API: api}
	slow.get = func(ctx context.Context, in *ebs.GetSnapshotBlockInput) (*ebs.GetSnapshotBlockOutput, error) {
		if slow.gets.Load() == 1 {
			close(started)
		}
		<-release
		return api.GetSnapshotBlock(ctx, in)
	}
	c1, _ := dlClient(t, slow, 2, nil)
	first := make(chan error, 1)
	go func() {
		_, err := c1.Download(context.Background(), client.DownloadInput{SnapshotID: id, Path: path})
		first <- err
	}()
	<-started

	for _, in := range []client.DownloadInput{
		{SnapshotID: id, Path: path},
		{SnapshotID: id, Path: path, Force: true},
		{SnapshotID: id, Path: path, Resume: true},
	} {
		c2, _ := dlClient(t, api, 2, nil)
		begin := time.Now()
		_, err := c2.Download(context.Background(), in)
		if !errors.Is(err, client.ErrLocked) || !strings.Contains(err.Error(), "another ebs download") {
			t.Errorf("second download (%+v): err = %v, want ErrLocked naming another download", in, err)
		}
		if d := time.Since(begin); d > 5*time.Second {
			t.Errorf("second download took %v to fail, want fast", d)
		}
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("first download: %v", err)
	}
	dlCheckSparse(t, path, 1, blocks)
}
