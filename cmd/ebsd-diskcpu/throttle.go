package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// throttle is a cgroup whose processes write to one device slowly.
type throttle struct {
	dir   string // the cgroup's directory
	procs string // the file a pid is written to, to move its process in
}

// newThrottle makes a cgroup that limits writes to the device holding
// path to iops operations and bps bytes per second: cgroup v1's blkio
// controller when it is mounted, else v2's io controller.
func newThrottle(path string, iops int, bps int64) (*throttle, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return nil, err
	}
	dev := fmt.Sprintf("%d:%d", (st.Dev>>8)&0xfff|(st.Dev>>32)&^0xfff, st.Dev&0xff|(st.Dev>>12)&^0xff)
	name := fmt.Sprintf("ebsd-diskcpu-%d", os.Getpid())
	if v1 := "/sys/fs/cgroup/blkio"; isDir(v1) {
		t := &throttle{dir: filepath.Join(v1, name)}
		t.procs = filepath.Join(t.dir, "cgroup.procs")
		if err := os.Mkdir(t.dir, 0o755); err != nil {
			return nil, fmt.Errorf("make a blkio cgroup (needs root): %w", err)
		}
		err := errors.Join(
			write(filepath.Join(t.dir, "blkio.throttle.write_iops_device"), dev+" "+strconv.Itoa(iops)),
			write(filepath.Join(t.dir, "blkio.throttle.write_bps_device"), dev+" "+strconv.FormatInt(bps, 10)))
		if err != nil {
			t.remove()
			return nil, err
		}
		return t, nil
	}
	root := "/sys/fs/cgroup"
	ctl, err := os.ReadFile(filepath.Join(root, "cgroup.subtree_control"))
	if err != nil {
		return nil, fmt.Errorf("no cgroup v1 blkio and no cgroup v2 hierarchy: %w", err)
	}
	if !strings.Contains(string(ctl), "io") {
		if err := write(filepath.Join(root, "cgroup.subtree_control"), "+io"); err != nil {
			return nil, fmt.Errorf("enable the cgroup v2 io controller: %w", err)
		}
	}
	t := &throttle{dir: filepath.Join(root, name)}
	t.procs = filepath.Join(t.dir, "cgroup.procs")
	if err := os.Mkdir(t.dir, 0o755); err != nil {
		return nil, fmt.Errorf("make a cgroup (needs root): %w", err)
	}
	if err := write(filepath.Join(t.dir, "io.max"), fmt.Sprintf("%s wiops=%d wbps=%d", dev, iops, bps)); err != nil {
		t.remove()
		return nil, err
	}
	return t, nil
}

// add moves process pid, all its threads, into the cgroup.
func (t *throttle) add(pid int) error { return write(t.procs, strconv.Itoa(pid)) }

// remove deletes the cgroup, which must have no process left.
func (t *throttle) remove() { os.Remove(t.dir) }

func write(path, s string) error {
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		return fmt.Errorf("write %q to %s: %w", s, path, err)
	}
	return nil
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}
