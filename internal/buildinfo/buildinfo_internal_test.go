package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestFormat(t *testing.T) {
	vcs := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	const rev = "d9be196c0d1e0b7e8d8a5f0e3a3c2b1a09f8e7d6"
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		want string
	}{
		{"release", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"},
			Settings: vcs("vcs.revision", rev, "vcs.modified", "false", "vcs.time", "2026-12-01T10:00:00Z")},
			"ebsd v1.2.0 (revision " + rev + ", 2026-12-01T10:00:00Z) go1.26.8 linux/amd64"},
		{"dirty checkout", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261201100000-d9be196c0d1e+dirty"},
			Settings: vcs("vcs.revision", rev, "vcs.modified", "true", "vcs.time", "2026-12-01T10:00:00Z")},
			"ebsd v0.0.0-20261201100000-d9be196c0d1e+dirty (revision " + rev + ", modified, 2026-12-01T10:00:00Z) go1.26.8 linux/amd64"},
		{"no vcs", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			"ebsd (devel) (revision unknown) go1.26.8 linux/amd64"},
		{"no build info", nil,
			"ebsd (unknown) (revision unknown) " + runtime.Version() + " linux/amd64"},
	}
	for _, tc := range tests {
		if got := format("ebsd", tc.bi, "linux/amd64"); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

func TestStringNamesProgramAndGo(t *testing.T) {
	got := String("ebs")
	if !strings.HasPrefix(got, "ebs ") || !strings.Contains(got, runtime.Version()) || strings.Contains(got, "\n") {
		t.Errorf("String(ebs) = %q, want one line starting with the program and naming %s", got, runtime.Version())
	}
}
