package client_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ebs"

	"github.com/ebsd/ebsd/internal/client"
	"github.com/ebsd/ebsd/internal/ebstest"
)

// interrupted downloads snapshot id into path and cancels the download
// once after blocks GetSnapshotBlock calls have succeeded.
func interrupted(t *testing.T, api client.API, state, id, path string, after int64) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := &hookedAPI{API: api}
	var ok atomic.Int64
	h.get = func(ctx context.Context, in *ebs.GetSnapshotBlockInput) (*ebs.GetSnapshotBlockOutput, error) {
		out, err := api.GetSnapshotBlock(ctx, in)
		if err == nil && ok.Add(1) == after {
			cancel()
		}
		return out, err
	}
	c := client.New(h, client.Options{Workers: 2, Retry: dlRetry, StateDir: state})
	_, err := c.Download(ctx, client.DownloadInput{SnapshotID: id, Path: path})
	var de *client.DownloadError
	if !errors.Is(err, context.Canceled) || !errors.As(err, &de) {
		t.Fatalf("interrupted download: err = %v, want a DownloadError for context.Canceled", err)
	}
}

func TestDownloadResume(t *testing.T) {
	_, api := dlServer(t, ebstest.Options{})
	blocks := dlRandomBlocks(6, 40, 2048, 6)
	id := dlSnapshot(t, api, dlSpec{Blocks: blocks})

	tests := []struct {
		name    string
		corrupt bool // damage one downloaded block before resuming
	}{
		{"resume", false},
		{"corrupted local block", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			state := t.TempDir()
			path := filepath.Join(t.TempDir(), "disk.img")
			interrupted(t, api, state, id, path, 15)

			journal := journalOf(t, state)
			var damaged int32 = -1
			if tc.corrupt {
				damaged = firstNonZeroWritten(t, path, blocks)
				f, err := os.OpenFile(path, os.O_RDWR, 0)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := f.WriteAt([]byte("bit rot"), int64(damaged)*client.BlockSize+100); err != nil {
					t.Fatal(err)
				}
				f.Close()
			}

			h := &hookedAPI{API: api}
			var mu sync.Mutex
			fetched := map[int32]bool{}
			h.get = func(ctx context.Context, in *ebs.GetSnapshotBlockInput) (*ebs.GetSnapshotBlockOutput, error) {
				mu.Lock()
				fetched[*in.BlockIndex] = true
				mu.Unlock()
				return api.GetSnapshotBlock(ctx, in)
			}
			obs := &dlObserver{}
			c := client.New(h, client.Options{Workers: 4, Retry: dlRetry, StateDir: state, Observer: obs})
			res, err := c.Download(context.Background(), client.DownloadInput{SnapshotID: id, Path: path, Resume: true})
			if err != nil {
				t.Fatalf("resumed Download: %v", err)
			}
			dlCheckSparse(t, path, 1, blocks)
			if res.Resumed == 0 || res.Resumed >= int64(len(blocks)) {
				t.Fatalf("Resumed = %d of %d blocks, want some but not all", res.Resumed, len(blocks))
			}
			if got, want := h.gets.Load(), int64(len(blocks))-res.Resumed; got != want {
				t.Errorf("resumed run made %d GetSnapshotBlock calls, want %d (only the blocks not done)", got, want)
			}
			if res.Written+res.Zero+res.Resumed != int64(len(blocks)) || obs.resumed.Load() != res.Resumed {
				t.Errorf("result %+v does not add up to %d blocks (observer: %d resumed)", *res, len(blocks), obs.resumed.Load())
			}
			if tc.corrupt && !fetched[damaged] {
				t.Errorf("damaged block %d was not fetched again", damaged)
			}
			dlCheckManifest(t, state, id, 1, blocks)
			if _, err := os.Stat(journal); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("journal %s left after success", journal)
			}
		})
	}
}

// journalOf returns the one download journal in state.
func journalOf(t *testing.T, state string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(state, "downloads", "*.journal"))
	if len(m) != 1 {
		t.Fatalf("download journals: %v, want one", m)
	}
	return m[0]
}

// firstNonZeroWritten returns a non-zero block of blocks that the file
// at path already holds.
func firstNonZeroWritten(t *testing.T, path string, blocks map[int32][]byte) int32 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := range blocks {
		if !dlIsHole(t, f, int64(i)*client.BlockSize) {
			return i
		}
	}
	t.Fatal("the interrupted download wrote no block")
	return 0
}

func TestDownloadResumeWithoutJournal(t *testing.T) {
	_, api := dlServer(t, ebstest.Options{})
	blocks := dlRandomBlocks(7, 10, 2048, 0)
	id := dlSnapshot(t, api, dlSpec{Blocks: blocks})
	precious := []byte("precious user data that is not a download\n")
	tests := []struct {
		name  string
		force bool
	}{
		// Review F3: with no journal about the file, --resume alone must
		// refuse; it used to truncate the file and overwrite it.
		{"refused", false},
		// --force is the consent: everything is downloaded, nothing of
		// the file trusted.
		{"forced", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "precious.txt")
			if err := os.WriteFile(path, precious, 0o644); err != nil {
				t.Fatal(err)
			}
			h := &hookedAPI{API: api}
			c, state := dlClient(t, h, 4, nil)
			res, err := c.Download(context.Background(), client.DownloadInput{SnapshotID: id, Path: path, Resume: true, Force: tc.force})
			if !tc.force {
				if err == nil || !strings.Contains(err.Error(), "--force") || !strings.Contains(err.Error(), path) {
					t.Fatalf("Download --resume over an unrelated file: err = %v, want a refusal naming the file and --force", err)
				}
				if got, _ := os.ReadFile(path); string(got) != string(precious) {
					t.Fatalf("the file was changed: %d bytes now", len(got))
				}
				if h.gets.Load() != 0 {
					t.Errorf("%d blocks fetched before refusing", h.gets.Load())
				}
				if m, _ := filepath.Glob(filepath.Join(state, "downloads", "*")); len(m) != 0 {
					t.Errorf("journal left by a refused download: %v", m)
				}
				return
			}
			if err != nil {
				t.Fatalf("Download --resume --force: %v", err)
			}
			if res.Resumed != 0 || h.gets.Load() != int64(len(blocks)) {
				t.Errorf("resumed %d blocks with %d calls, want everything downloaded", res.Resumed, h.gets.Load())
			}
			dlCheckSparse(t, path, 1, blocks)
		})
	}
}
