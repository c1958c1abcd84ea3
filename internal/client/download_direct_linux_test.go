package client_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"unsafe"

	"github.com/ebsd/ebsd/internal/client"
	"github.com/ebsd/ebsd/internal/ebstest"
)

// TestDownloadBypassesPageCache guards the client CPU of downloads
// (issue 14): copying every block into the page cache cost more than
// hashing it, so blocks are written with O_DIRECT where the file system
// allows it. Right after a download, the written blocks' pages must
// therefore not be in the page cache (mincore), while the file is
// complete and correct.
func TestDownloadBypassesPageCache(t *testing.T) {
	dir := t.TempDir()
	probe, err := os.OpenFile(filepath.Join(dir, "probe"), os.O_CREATE|os.O_WRONLY|syscall.O_DIRECT, 0o600)
	if err != nil {
		t.Skipf("%s takes no O_DIRECT opens: %v", dir, err)
	}
	probe.Close()

	_, api := dlServer(t, ebstest.Options{})
	blocks := dlRandomBlocks(7, 64, 2048, 9)
	id := dlSnapshot(t, api, dlSpec{Blocks: blocks})
	c, _ := dlClient(t, api, 8, nil)
	path := filepath.Join(dir, "disk.img")
	if _, err := c.Download(context.Background(), client.DownloadInput{SnapshotID: id, Path: path}); err != nil {
		t.Fatalf("Download: %v", err)
	}

	// Before anything reads the file back.
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := syscall.Mmap(int(f.Fd()), 0, 1<<30, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(m)
	page := os.Getpagesize()
	vec := make([]byte, client.BlockSize/page)
	var resident, pages int
	for i := range blocks {
		off := int64(i) * client.BlockSize
		if _, _, errno := syscall.Syscall(syscall.SYS_MINCORE, uintptr(unsafe.Pointer(&m[off])), client.BlockSize, uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
			t.Fatalf("mincore: %v", errno)
		}
		for _, v := range vec {
			resident += int(v & 1)
		}
		pages += len(vec)
	}
	if resident > pages/10 {
		t.Errorf("%d of the %d pages of the downloaded blocks are in the page cache: the blocks were written through it", resident, pages)
	}
	dlCheckSparse(t, path, 1, blocks)
}
