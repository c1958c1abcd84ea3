package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/ebsd/ebsd/internal/benchserver"
	"github.com/ebsd/ebsd/internal/client"
)

// childCommand makes this program run one transfer with the client
// package, as ebs would, and print its result as JSON.
const childCommand = "-child-mode"

func runChild(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("child", flag.ContinueOnError)
	endpoint := fs.String("endpoint-url", "", "")
	state := fs.String("state-dir", "", "")
	workers := fs.Int("workers", client.DefaultWorkers, "")
	profile := fs.String("cpuprofile", "", "")
	if len(args) == 0 {
		return errors.New("want upload IMAGE or download SNAPSHOT FILE")
	}
	mode := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	api, err := client.NewSDK(ctx, client.SDKOptions{Endpoint: *endpoint, Region: "us-east-1", Workers: *workers})
	if err != nil {
		return err
	}
	c := client.New(api, client.Options{Workers: *workers, StateDir: *state})
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var res any
	switch {
	case mode == "upload" && fs.NArg() == 1:
		f, size, err := client.OpenImage(fs.Arg(0))
		if err != nil {
			return err
		}
		defer f.Close()
		r, err := c.Upload(ctx, client.UploadInput{Image: f, Size: size})
		if err != nil {
			return err
		}
		res = map[string]any{"snapshot_id": r.SnapshotID, "duration_seconds": r.Duration.Seconds(), "written": r.Written, "zero": r.Zero}
	case mode == "download" && fs.NArg() == 2:
		r, err := c.Download(ctx, client.DownloadInput{SnapshotID: fs.Arg(0), Path: fs.Arg(1)})
		if err != nil {
			return err
		}
		res = map[string]any{"snapshot_id": r.SnapshotID, "duration_seconds": r.Duration.Seconds(), "written": r.Written, "zero": r.Zero}
	default:
		return fmt.Errorf("bad child arguments %q", args)
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// transfer is what one child process did.
type transfer struct {
	result   map[string]any
	duration time.Duration // as the client reports it (no process start-up)
	wall     time.Duration
	peakRSS  int64 // bytes
	cpu      time.Duration
}

// runTransfer runs one upload or download in a child process: the ebs
// binary if given, else this program in child mode.
func runTransfer(ctx context.Context, o options, endpoint, state string, args ...string) (*transfer, error) {
	bin, err := os.Executable()
	if err != nil {
		return nil, err
	}
	common := []string{"--endpoint-url", endpoint, "--state-dir", state, "--workers", fmt.Sprint(o.workers)}
	var argv []string
	if o.ebs != "" {
		bin = o.ebs
		argv = append(append([]string{args[0]}, common...), "--region", "us-east-1", "--json", "--quiet")
	} else {
		argv = append([]string{childCommand, args[0]}, common...)
		if o.profiles != "" {
			*o.profileRuns++
			argv = append(argv, "-cpuprofile", filepath.Join(o.profiles, fmt.Sprintf("%s-%d.pprof", args[0], *o.profileRuns)))
		}
	}
	argv = append(argv, args[1:]...)
	cmd := exec.CommandContext(ctx, bin, argv...)
	cmd.Env = append(os.Environ(),
		"AWS_ACCESS_KEY_ID="+benchserver.KeyID, "AWS_SECRET_ACCESS_KEY="+benchserver.Secret, "AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	began := time.Now()
	err = cmd.Run()
	t := &transfer{wall: time.Since(began)}
	if err != nil {
		return nil, fmt.Errorf("%s %v: %w\n%s", bin, argv, err, stderr.String())
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		t.peakRSS = ru.Maxrss << 10 // KiB on Linux
		t.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if err := json.Unmarshal(stdout.Bytes(), &t.result); err != nil {
		return nil, fmt.Errorf("%s printed no JSON result: %w\n%s", bin, err, stdout.String())
	}
	switch {
	case t.result["duration_seconds"] != nil:
		t.duration = time.Duration(t.result["duration_seconds"].(float64) * float64(time.Second))
	case t.result["duration_ns"] != nil:
		t.duration = time.Duration(t.result["duration_ns"].(float64))
	default:
		t.duration = t.wall
	}
	return t, nil
}
