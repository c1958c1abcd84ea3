package main_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// readmeBlock is a ```sh block of README.md.
type readmeBlock struct {
	Line   int    // of the opening fence, 1-based
	Text   string // between the fences
	NotRun string // the reason of a "<!-- not run: REASON -->" line right before the fence
}

var notRunRE = regexp.MustCompile(`^<!-- not run: (.*\S)\s*-->$`)

// readmeBlocks returns the ```sh blocks of a Markdown text, in order. A
// block is skipped only when the line right before its fence says why.
func readmeBlocks(markdown string) ([]readmeBlock, error) {
	lines := strings.Split(markdown, "\n")
	var blocks []readmeBlock
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```sh" {
			continue
		}
		b := readmeBlock{Line: i + 1}
		if i > 0 {
			if m := notRunRE.FindStringSubmatch(strings.TrimSpace(lines[i-1])); m != nil {
				b.NotRun = m[1]
			}
		}
		end := i + 1
		for end < len(lines) && strings.TrimSpace(lines[end]) != "```" {
			end++
		}
		if end == len(lines) {
			return nil, fmt.Errorf("line %d: the ```sh block is not closed", b.Line)
		}
		b.Text = strings.Join(lines[i+1:end], "\n") + "\n"
		blocks = append(blocks, b)
		i = end
	}
	return blocks, nil
}

func TestReadmeBlocks(t *testing.T) {
	for _, tc := range []struct {
		name, markdown string
		want           []readmeBlock
		wantErr        bool
	}{
		{name: "none", markdown: "text\n```console\n$ x\n```\n"},
		{name: "one", markdown: "a\n```sh\necho hi\n```\n",
			want: []readmeBlock{{Line: 2, Text: "echo hi\n"}}},
		{name: "marked", markdown: "<!-- not run: needs AWS -->\n```sh\naws s3 ls\n```\n```sh\ntrue\n```\n",
			want: []readmeBlock{{Line: 2, Text: "aws s3 ls\n", NotRun: "needs AWS"}, {Line: 5, Text: "true\n"}}},
		{name: "marker not adjacent", markdown: "<!-- not run: x -->\n\n```sh\ntrue\n```\n",
			want: []readmeBlock{{Line: 3, Text: "true\n"}}},
		{name: "empty reason", markdown: "<!-- not run: -->\n```sh\ntrue\n```\n",
			want: []readmeBlock{{Line: 2, Text: "true\n"}}},
		{name: "unclosed", markdown: "```sh\ntrue\n", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readmeBlocks(tc.markdown)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error: %v", err, tc.wantErr)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestREADMEShellBlocks runs every ```sh block of README.md, in order and
// as written, in one bash, as a newcomer pastes them: in a fresh HOME and
// GOPATH whose bin is not on PATH, so the README's install steps must put
// ebsd and ebs there, against an ebsd started here on a free loopback
// port, which the blocks reach through EBSD_ADDR.
func TestREADMEShellBlocks(t *testing.T) {
	if testing.Short() {
		t.Skip("installs the binaries and runs the README's sessions")
	}
	for _, tool := range []string{"bash", "go", "aws", "openssl", "base64", "cmp", "truncate", "dd", "nbdinfo", "nbdcopy"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not on PATH; scripts/test.sh installs what the README test needs", tool)
			}
			t.Skipf("%s is not on PATH (the README's sessions need it)", tool)
		}
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := readmeBlocks(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	var script strings.Builder
	// -e stops at the first failing command; the ERR trap says where.
	script.WriteString("set -eo pipefail\ntrap 'echo \"README test: exit $? at: $BASH_COMMAND\" >&2' ERR\n")
	ran := 0
	for _, b := range blocks {
		if b.NotRun != "" {
			t.Logf("README.md:%d: not run: %s", b.Line, b.NotRun)
			continue
		}
		fmt.Fprintf(&script, "echo '### README.md:%d' >&2\n%s", b.Line, b.Text)
		ran++
	}
	if ran == 0 {
		t.Fatal("README.md has no ```sh block to run")
	}

	home := t.TempDir()
	p := startProcess(t, home)
	env, err := readmeEnv(home, t.TempDir(), t.TempDir(), strings.TrimPrefix(p.Endpoint, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "--noprofile", "--norc", "-s")
	cmd.Dir = root // "go install ./cmd/..." runs in the clone; the sessions cd away
	cmd.Env = env
	cmd.Stdin = strings.NewReader(script.String())
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	t.Logf("%d blocks ran in %v", ran, time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("README blocks: %v\nstdout:\n%s\nstderr:\n%s\nebsd stderr:\n%s", err, stdout.String(), stderr.String(), p.stderr)
	}
	// What set -e cannot see: a failed test before && and the printed results.
	for _, want := range []string{"identical\n", "completed"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s\nstderr:\n%s", want, stdout.String(), stderr.String())
		}
	}
	p.stop(t)
}

// readmeEnv is a newcomer's environment: a fresh HOME and GOPATH, no AWS or
// ebsd settings, and a PATH without any ebsd or ebs already installed.
// The Go build and module caches are this machine's, resolved before HOME
// changes, so that installing takes seconds and needs no network.
func readmeEnv(home, gopath, tmp, addr string) ([]string, error) {
	goEnv, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE", "GOPROXY", "GOSUMDB", "GOFLAGS",
		"GONOSUMDB", "GOPRIVATE", "GOTOOLCHAIN").Output()
	if err != nil {
		return nil, fmt.Errorf("go env: %w", err)
	}
	vals := strings.Split(strings.TrimSuffix(string(goEnv), "\n"), "\n")
	names := []string{"GOCACHE", "GOMODCACHE", "GOPROXY", "GOSUMDB", "GOFLAGS", "GONOSUMDB", "GOPRIVATE", "GOTOOLCHAIN"}
	if len(vals) != len(names) {
		return nil, fmt.Errorf("go env printed %q", goEnv)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, err
	}
	var path []string
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if hasExecutable(dir, "ebsd") || hasExecutable(dir, "ebs") {
			continue // an old install would hide a broken install step
		}
		path = append(path, dir)
	}
	path = append(path, filepath.Dir(goBin))
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "AWS_"), strings.HasPrefix(name, "EBSD_"), strings.HasPrefix(name, "GO"),
			strings.HasPrefix(name, "XDG_"), name == "HOME", name == "PATH", name == "TMPDIR", name == "CDPATH":
			continue
		}
		env = append(env, kv)
	}
	for i, name := range names {
		if vals[i] != "" {
			env = append(env, name+"="+vals[i])
		}
	}
	return append(env, "HOME="+home, "GOPATH="+gopath, "TMPDIR="+tmp, "PATH="+strings.Join(path, string(os.PathListSeparator)),
		"EBSD_ADDR="+addr), nil
}

func hasExecutable(dir, name string) bool {
	fi, err := os.Stat(filepath.Join(dir, name))
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}
