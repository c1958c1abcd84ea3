package main_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/smithy-go"

	ebscreds "github.com/ebsd/ebsd/internal/credentials"
	"github.com/ebsd/ebsd/internal/ebstest"
)

// TestFullDisk runs ebsd on a small tmpfs and fills it: writes must get a
// retryable error that names the cause, reads must go on, a restart on the
// full disk must serve reads within seconds and stop on SIGTERM within
// 2 s, and once space is freed writes must resume by themselves, with
// every acknowledged block intact.
func TestFullDisk(t *testing.T) {
	home := t.TempDir()
	mnt := mountTmpfs(t, "128m")
	const minFree = 64 << 20 // ebsd's default margin
	args := []string{"-data-dir", filepath.Join(mnt, "data"), "-pack-size", "1MiB"}
	ctx := withTimeout(t, 60*time.Second)

	p := startProcess(t, home, args...)
	c := fullDiskClient(p)
	rng := rand.New(rand.NewPCG(1, 2))
	snaps := map[string]map[int32][]byte{} // acknowledged blocks of each snapshot
	put := func(c *ebs.Client, id string) error {
		data := make([]byte, 512<<10)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		sum := sha256.Sum256(data)
		i := int32(len(snaps[id]))
		_, err := c.PutSnapshotBlock(ctx, &ebs.PutSnapshotBlockInput{
			SnapshotId: aws.String(id), BlockIndex: aws.Int32(i), BlockData: bytes.NewReader(data),
			DataLength: aws.Int32(int32(len(data))), Checksum: aws.String(base64.StdEncoding.EncodeToString(sum[:])),
			ChecksumAlgorithm: "SHA256",
		})
		if err == nil {
			snaps[id][i] = data
		}
		return err
	}
	start := func(c *ebs.Client) string {
		t.Helper()
		id := mustStart(ctx, t, c)
		snaps[id] = map[int32][]byte{}
		return id
	}
	complete := func(c *ebs.Client, id string) {
		t.Helper()
		for range 2 { // "pending", then "completed"
			if _, err := c.CompleteSnapshot(ctx, &ebs.CompleteSnapshotInput{SnapshotId: aws.String(id),
				ChangedBlocksCount: aws.Int32(int32(len(snaps[id])))}); err != nil {
				t.Fatalf("CompleteSnapshot %s: %v", id, err)
			}
		}
	}
	checkAll := func(c *ebs.Client) {
		t.Helper()
		for id, acked := range snaps {
			checkBlocks(ctx, t, c, id, acked)
		}
	}

	first := start(c)
	for range 4 {
		if err := put(c, first); err != nil {
			t.Fatalf("put on an empty disk: %v", err)
		}
	}
	complete(c, first)

	// Leave a few blocks' worth above the margin: they go in, then
	// blocks get the storage-full error, before the disk is truly full.
	filler := filepath.Join(mnt, "filler")
	fill(t, mnt, filler, minFree+3<<20)
	near := start(c)
	for {
		if err := put(c, near); err != nil {
			checkStorageFull(t, "PutSnapshotBlock near the margin", err)
			break
		}
	}
	t.Logf("%d blocks acknowledged near the margin", len(snaps[near]))
	complete(c, near) // records still fit below the margin
	checkAll(c)

	// Fill the disk to the last byte: records are refused too, reads work.
	fill(t, mnt, filler, 0)
	_, err := c.StartSnapshot(ctx, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1)})
	checkStorageFull(t, "StartSnapshot on a full disk", err)
	checkAll(c)

	// Restart on the full disk: reads within seconds, writes refused,
	// SIGTERM obeyed.
	p.stop(t)
	restartFull := func(what string) {
		t.Helper()
		began := time.Now()
		p = startProcess(t, home, args...)
		c = fullDiskClient(p)
		health := getHealth(t, p)
		t.Logf("%s: healthy in %v; /healthz: %s", what, time.Since(began), health)
		if time.Since(began) > 10*time.Second {
			t.Errorf("%s took %v", what, time.Since(began))
		}
		if !strings.HasPrefix(health, "degraded: the disk holding the data directory") || !strings.Contains(health, "full") {
			t.Errorf("%s: /healthz = %q, want it to say the disk is full", what, health)
		}
		checkAll(c)
		_, err = c.StartSnapshot(ctx, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1)})
		checkStorageFull(t, "StartSnapshot after "+what, err)
		stopWithin(t, p, 2*time.Second)
		if log := p.stderr.String(); !strings.Contains(log, "the disk holding the data directory is full") {
			t.Errorf("%s: the log does not say the disk is full:\n%s", what, log)
		}
	}
	restartFull("restart on a disk that filled up while ebsd ran")

	// Free space: writes resume by themselves.
	resume := func() {
		t.Helper()
		p = startProcess(t, home, args...)
		c = fullDiskClient(p)
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
		began := time.Now()
		for {
			_, err := c.StartSnapshot(ctx, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1)})
			if err == nil {
				break
			}
			checkStorageFull(t, "StartSnapshot while the store reopens", err)
			if time.Since(began) > 10*time.Second {
				t.Fatalf("writes still refused 10 s after space was freed: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("writes resumed %v after space was freed", time.Since(began))
		if health := getHealth(t, p); health != "ok" {
			t.Errorf("/healthz after space was freed = %q", health)
		}
		id := start(c)
		for range 4 {
			if err := put(c, id); err != nil {
				t.Fatalf("put after space was freed: %v", err)
			}
		}
		complete(c, id)
		checkAll(c)
	}
	resume()

	// A disk filled while ebsd was stopped: ebsd made a new space reserve
	// once there was room, and deletes it to start.
	reserve := filepath.Join(mnt, "data", "space-reserve")
	for began := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(reserve); err == nil {
			break
		}
		if time.Since(began) > 5*time.Second {
			t.Fatal("no space reserve 5 s after space was freed")
		}
	}
	p.stop(t)
	fill(t, mnt, filler, 0)
	restartFull("restart on a disk filled while ebsd was stopped")
	resume()
	p.stop(t)
	n := 0
	for _, acked := range snaps {
		n += len(acked)
	}
	t.Logf("%d acknowledged blocks of %d snapshots read back", n, len(snaps))
}

// mountTmpfs mounts a tmpfs of size (like "32m") on a new directory, for
// the test's duration, or skips the test when it cannot.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("mounts a file system and runs ebsd")
	}
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root (CI runs as root)")
	}
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size="+size+",mode=0700"); err != nil {
		t.Skipf("cannot mount a tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(mnt, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
		}
	})
	return mnt
}

func fullDiskClient(p *process) *ebs.Client {
	return ebstest.NewClient(p.Endpoint, ebscreds.Credential{AccessKeyID: p.KeyID, SecretAccessKey: p.Secret},
		&http.Client{Timeout: 30 * time.Second})
}

func mustStart(ctx context.Context, t *testing.T, c *ebs.Client) string {
	t.Helper()
	out, err := c.StartSnapshot(ctx, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1)})
	if err != nil {
		t.Fatalf("StartSnapshot: %v", err)
	}
	return *out.SnapshotId
}

// fill grows the file path until the file system at mnt has leave bytes
// available, or none when leave is 0.
func fill(t *testing.T, mnt, path string, leave uint64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for {
		free := available(t, mnt)
		if leave > 0 && free <= leave {
			break
		}
		n := uint64(len(chunk))
		if leave > 0 {
			n = min(n, free-leave)
		}
		if _, err := f.Write(chunk[:n]); errors.Is(err, syscall.ENOSPC) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("filled %s: %d KiB left", mnt, available(t, mnt)>>10)
}

func available(t *testing.T, path string) uint64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Bavail * uint64(st.Bsize)
}

// checkStorageFull checks that err is the retryable storage-full error.
func checkStorageFull(t *testing.T, what string, err error) {
	t.Helper()
	var ae smithy.APIError
	var re *awshttp.ResponseError
	if !errors.As(err, &ae) || !errors.As(err, &re) {
		t.Fatalf("%s: %v, want an API error", what, err)
	}
	if re.HTTPStatusCode() != http.StatusServiceUnavailable || ae.ErrorCode() != "ServiceUnavailableException" ||
		!strings.Contains(ae.ErrorMessage(), "The server's storage is full (") ||
		!strings.Contains(ae.ErrorMessage(), " free on ") {
		t.Fatalf("%s: %d %s %q, want 503 ServiceUnavailableException saying the storage is full",
			what, re.HTTPStatusCode(), ae.ErrorCode(), ae.ErrorMessage())
	}
}

// checkBlocks lists snapshot id and reads back every acknowledged block.
func checkBlocks(ctx context.Context, t *testing.T, c *ebs.Client, id string, acked map[int32][]byte) {
	t.Helper()
	tokens := map[int32]string{}
	var next *string
	for {
		out, err := c.ListSnapshotBlocks(ctx, &ebs.ListSnapshotBlocksInput{SnapshotId: aws.String(id), NextToken: next})
		if err != nil {
			t.Fatalf("ListSnapshotBlocks: %v", err)
		}
		for _, b := range out.Blocks {
			tokens[*b.BlockIndex] = *b.BlockToken
		}
		if out.NextToken == nil {
			break
		}
		next = out.NextToken
	}
	if len(tokens) != len(acked) {
		t.Fatalf("%d blocks listed, %d acknowledged", len(tokens), len(acked))
	}
	for i, want := range acked {
		out, err := c.GetSnapshotBlock(ctx, &ebs.GetSnapshotBlockInput{SnapshotId: aws.String(id), BlockIndex: aws.Int32(i), BlockToken: aws.String(tokens[i])})
		if err != nil {
			t.Fatalf("GetSnapshotBlock %d: %v", i, err)
		}
		got, err := io.ReadAll(out.BlockData)
		out.BlockData.Close()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("block %d reads back wrong (%v)", i, err)
		}
	}
}

// getHealth returns the body of /healthz, which must answer 200.
func getHealth(t *testing.T, p *process) string {
	t.Helper()
	resp, err := http.Get(p.Endpoint + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %d %s", resp.StatusCode, b)
	}
	return strings.TrimSpace(string(b))
}
