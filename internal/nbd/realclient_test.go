package nbd

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tool returns the path of an NBD client program; without it the test is
// skipped, or fails under CI (scripts/test.sh installs libnbd-bin and
// qemu-utils).
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not on PATH; scripts/test.sh installs libnbd-bin and qemu-utils", name)
		}
		t.Skipf("%s is not on PATH (apt-get install libnbd-bin qemu-utils)", name)
	}
	return p
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, tool(t, name), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestRealClients drives the server with libnbd's and qemu's clients,
// which negotiate everything they support: structured replies,
// base:allocation, multi-conn, block sizes.
func TestRealClients(t *testing.T) {
	const size = 4 << 20
	m := filled(size, 1<<20, 1<<20+65536)
	addr := startServer(t, Export{Name: "x", Backend: m, Writable: true, MultiConn: true})
	uri := "nbd://" + addr

	var info struct {
		Exports []struct {
			Size         int64    `json:"export-size"`
			CanMultiConn bool     `json:"can_multi_conn"`
			ReadOnly     bool     `json:"is_read_only"`
			Contexts     []string `json:"contexts"`
		} `json:"exports"`
	}
	if err := json.Unmarshal([]byte(run(t, "nbdinfo", "--json", uri)), &info); err != nil {
		t.Fatal(err)
	}
	if e := info.Exports[0]; e.Size != size || !e.CanMultiConn || e.ReadOnly || strings.Join(e.Contexts, ",") != metaAllocation {
		t.Fatalf("nbdinfo --json: %+v", e)
	}
	if got, want := run(t, "nbdinfo", "--map", uri), "         0     1048576    3  hole,zero\n   1048576       65536    0  data\n   1114112     3080192    3  hole,zero\n"; got != want {
		t.Fatalf("nbdinfo --map:\n%s\nwant\n%s", got, want)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "copy.raw")
	run(t, "nbdcopy", "--connections=4", uri, out)
	if got, _ := os.ReadFile(out); !bytes.Equal(got, m.bytes()) {
		t.Fatal("nbdcopy copied other bytes")
	}
	run(t, "qemu-io", "-f", "raw", "-c", "write -P 0xab 2M 64k", uri)
	data := m.bytes()
	if !bytes.Equal(data[2<<20:2<<20+65536], bytes.Repeat([]byte{0xab}, 65536)) {
		t.Fatal("qemu-io's write did not land")
	}
	os.WriteFile(out, data, 0o600)
	run(t, "qemu-img", "compare", "-f", "raw", "-F", "raw", out, uri)
}
