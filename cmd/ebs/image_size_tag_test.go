package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/ebsd/ebsd/internal/client"
	"github.com/ebsd/ebsd/internal/ebstest"
)

// oldEC2 is an EC2 client at a server that answers POST / as an ebsd
// without the EC2 API does (captured from one): 404, a JSON body,
// UnknownOperationException.
func oldEC2(t *testing.T) *ec2.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-Errortype", "UnknownOperationException")
		w.Header().Set("X-Amzn-Requestid", "344a4b86-4f97-43f0-ae66-a37a8c8d0498")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"message":"No operation matches POST /.","Message":"No operation matches POST /."}`))
	}))
	t.Cleanup(srv.Close)
	return ec2.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(ebstest.Alice.AccessKeyID, ebstest.Alice.SecretAccessKey, ""),
	}, func(o *ec2.Options) { o.BaseEndpoint = aws.String(srv.URL) })
}

// taggedEC2 is a fake EC2 API that knows snapshot id with an image size
// tag of value v.
func taggedEC2(id, v string) *fakeEC2 {
	return &fakeEC2{snapshots: []types.Snapshot{{SnapshotId: aws.String(id), State: types.SnapshotStateCompleted,
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("x")}, {Key: aws.String(client.ImageSizeTag), Value: aws.String(v)}}}}}
}

// TestDownloadSizeFromTag: a download on a machine without the upload's
// manifest cuts the file to the ebs:image-size tag the upload wrote, read
// with DescribeSnapshots (issue 16); --size and the manifest win over
// it, and a tag that cannot be an image size or a service without the
// EC2 API leave today's whole volume, silently.
func TestDownloadSizeFromTag(t *testing.T) {
	ctx := context.Background()
	c := newCLI(t)
	path, img := writeImage(t, 10*client.BlockSize+777)
	code, stdout, stderr := c.run(ctx, nil, "upload", "--wait", path)
	if code != 0 {
		t.Fatalf("upload: exit %d: %s", code, stderr)
	}
	id := strings.TrimSpace(stdout)
	size := int64(len(img))

	tests := []struct {
		name     string
		ec2      client.EC2API // nil: none
		state    string        // "" = a fresh one: no manifest
		args     []string
		bytes    int64
		source   string
		describe int // DescribeSnapshots calls made, when ec2 is a fake
	}{
		{"tag", taggedEC2(id, strconv.FormatInt(size, 10)), "", nil, size, client.SizeFromTag, 1},
		{"--size wins, no call", taggedEC2(id, strconv.FormatInt(size, 10)), "", []string{"--size", strconv.FormatInt(size+1, 10)}, size + 1, client.SizeFromFlag, 0},
		{"the manifest wins, no call", taggedEC2(id, "1048576"), c.state, nil, size, client.SizeFromManifest, 0},
		// More ways for a tag not to be a size: TestInfoImageSize, faster.
		{"more than the volume", taggedEC2(id, strconv.Itoa(1<<30+1)), "", nil, 1 << 30, client.SizeFromVolume, 1},
		{"no permission", &fakeEC2{describe: func(int, *ec2DescribeIn) (*ec2DescribeOut, error) {
			return nil, ec2Error("DescribeSnapshots", "UnauthorizedOperation", "You are not authorized to perform this operation.")
		}}, "", nil, 1 << 30, client.SizeFromVolume, 1},
		{"an ebsd without the EC2 API", oldEC2(t), "", nil, 1 << 30, client.SizeFromVolume, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			state := tc.state
			if state == "" {
				state = t.TempDir()
			}
			var out, errb bytes.Buffer
			m := &Main{Stdout: &out, Stderr: &errb, NewAPI: func(context.Context, *Globals) (apiClient, error) { return c.api, nil }}
			if tc.ec2 != nil {
				m.NewEC2API = func(context.Context, *Globals) (client.EC2API, error) { return tc.ec2, nil }
			}
			file := filepath.Join(t.TempDir(), "restored.img")
			args := append([]string{"download", "--json", "--state-dir", state, "--workers", "4", id, file}, tc.args...)
			if code := m.Run(ctx, args); code != 0 {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			var res map[string]any
			if err := json.Unmarshal(out.Bytes(), &res); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(file)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Size() != tc.bytes || res["size_source"] != tc.source {
				t.Fatalf("file of %d bytes from %v, want %d from %s; stderr %s", fi.Size(), res["size_source"], tc.bytes, tc.source, errb.String())
			}
			// Only the image's part: reading a whole 1 GiB volume is slow.
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got := make([]byte, len(img))
			if _, err := io.ReadFull(f, got); err != nil || !bytes.Equal(got, img) {
				t.Errorf("the file does not start with the image (%v)", err)
			}
			if f, ok := tc.ec2.(*fakeEC2); ok {
				if len(f.describes) != tc.describe {
					t.Errorf("%d DescribeSnapshots calls, want %d", len(f.describes), tc.describe)
				}
				for _, in := range f.describes {
					if len(in.SnapshotIds) != 1 || in.SnapshotIds[0] != id {
						t.Errorf("DescribeSnapshots of %v, want [%s]", in.SnapshotIds, id)
					}
				}
			}
			// Whatever the EC2 API said, the user hears nothing of it
			// without -v: at most that the size is not known.
			for _, noise := range []string{"DescribeSnapshots", "operation error", "UnknownError", "not authorized"} {
				if strings.Contains(errb.String(), noise) {
					t.Errorf("stderr mentions %q:\n%s", noise, errb.String())
				}
			}
			if wantNote := tc.source == client.SizeFromVolume; strings.Contains(errb.String(), "--size BYTES restores") != wantNote {
				t.Errorf("note about the unknown size: %v, want %v:\n%s", !wantNote, wantNote, errb.String())
			}
		})
	}
}

// TestInfoImageSize: ebs info shows the image size from the manifest,
// else from the tag.
func TestInfoImageSize(t *testing.T) {
	ctx := context.Background()
	c := newCLI(t)
	path, img := writeImage(t, 3*client.BlockSize+5)
	code, stdout, stderr := c.run(ctx, nil, "upload", "--wait", path)
	if code != 0 {
		t.Fatalf("upload: exit %d: %s", code, stderr)
	}
	id := strings.TrimSpace(stdout)
	size := strconv.Itoa(len(img))
	info := func(state string, api client.EC2API, json bool) string {
		t.Helper()
		var out, errb bytes.Buffer
		m := &Main{Stdout: &out, Stderr: &errb, NewAPI: func(context.Context, *Globals) (apiClient, error) { return c.api, nil },
			NewEC2API: func(context.Context, *Globals) (client.EC2API, error) { return api, nil }}
		args := []string{"info", "--state-dir", state, id}
		if json {
			args = append(args, "--json")
		}
		if code := m.Run(ctx, args); code != 0 {
			t.Fatalf("info: exit %d: %s", code, errb.String())
		}
		return out.String()
	}
	if out := info(t.TempDir(), taggedEC2(id, size), false); !strings.Contains(out, "IMAGE SIZE   "+size+" bytes (1.5 MiB, from the tag ebs:image-size)\n") {
		t.Errorf("from the tag:\n%s", out)
	}
	if out := info(c.state, taggedEC2(id, "7"), false); !strings.Contains(out, "IMAGE SIZE   "+size+" bytes (1.5 MiB, from the manifest)\n") {
		t.Errorf("from the manifest:\n%s", out)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(info(t.TempDir(), taggedEC2(id, size), true)), &res); err != nil ||
		res["image_size_bytes"] != float64(len(img)) || res["image_size_source"] != "tag" {
		t.Errorf("--json: %v (%v)", res, err)
	}
	notSizes := map[string]client.EC2API{
		"no EC2 API":   oldEC2(t),
		"no tag":       &fakeEC2{snapshots: []types.Snapshot{{SnapshotId: aws.String(id)}}},
		"not a number": taggedEC2(id, "1.5MiB"),
		"zero":         taggedEC2(id, "0"),
		"negative":     taggedEC2(id, "-5"),
		"too large":    taggedEC2(id, strconv.Itoa(1<<30+1)),
	}
	for name, api := range notSizes {
		if out := info(t.TempDir(), api, false); !strings.Contains(out, "IMAGE SIZE   not known") {
			t.Errorf("%s:\n%s", name, out)
		}
	}
}
