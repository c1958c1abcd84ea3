package main

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"golang.org/x/term"

	"github.com/ebsd/ebsd/internal/config"
	"github.com/ebsd/ebsd/internal/credentials"
)

// banner is what ebsd prints on stdout once it listens: where it serves
// and how to sign requests to it, as lines a newcomer can paste.
type banner struct {
	Endpoint, Region, DataDir, CredentialsFile string
	// Created is the credential this start generated; nil when the file
	// existed.
	Created *credentials.Credential
	// Terminal is true when stdout is a terminal. Only then is a secret
	// printed: otherwise stdout usually goes to a log (journald, a file, a
	// CI job) that more people can read than the credentials file.
	Terminal bool
	// Self is how a shell runs this ebsd again, already shell-quoted.
	Self string
}

// write prints the banner.
func (b banner) write(w io.Writer) {
	fmt.Fprintf(w, "ebsd is serving the EBS direct APIs at %s (region %s, data in %s)\n", b.Endpoint, b.Region, b.DataDir)
	fmt.Fprintf(w, "and, at the same endpoint, the EC2 snapshot calls (aws ec2 describe-snapshots, delete-snapshot, copy-snapshot, tags) and STS GetCallerIdentity.\n")
	var paste []string
	switch {
	case b.Created != nil && b.Terminal:
		fmt.Fprintf(w, "Generated credentials for account %s and saved them in %s:\n", b.Created.AccountID, b.CredentialsFile)
		var exports strings.Builder
		writeExports(&exports, *b.Created, b.Region)
		paste = strings.Split(strings.TrimSuffix(exports.String(), "\n"), "\n")
	case b.Created != nil:
		fmt.Fprintf(w, "Generated credentials for account %s and saved them in %s.\n", b.Created.AccountID, b.CredentialsFile)
		fmt.Fprintf(w, "The secret key is shown only on a terminal; this loads the keys into a shell:\n")
		paste = []string{b.evalLine()}
	default:
		fmt.Fprintf(w, "Credentials are in %s.\n", b.CredentialsFile)
		fmt.Fprintf(w, "This loads them into a shell:\n")
		paste = []string{b.evalLine()}
	}
	paste = append(paste, "aws ebs start-snapshot --volume-size 1 --endpoint-url "+b.Endpoint)
	fmt.Fprintf(w, "\n  %s\n\n", strings.Join(paste, "\n  "))
}

// evalLine is the shell line that exports the credentials without showing
// the secret. It names the file, so that it works in a shell whose
// environment differs from the server's (an operator's, next to systemd's).
func (b banner) evalLine() string {
	cmd := b.Self + " credentials -credentials " + shellQuote(b.CredentialsFile)
	if b.Region != config.DefaultRegion {
		cmd += " -region " + shellQuote(b.Region)
	}
	return `eval "$(` + cmd + `)"`
}

// printBanner prints the banner of a server listening at endpoint, then
// warns if the credentials file has gone.
func printBanner(w io.Writer, cfg config.Config, endpoint string, created *credentials.Credential) {
	banner{
		Endpoint:        endpoint,
		Region:          cfg.Region,
		DataDir:         dataPlace(cfg),
		CredentialsFile: cfg.CredentialsFile,
		Created:         created,
		Terminal:        isTerminal(w),
		Self:            selfCommand(os.Args[0]),
	}.write(w)
	if _, err := os.Stat(cfg.CredentialsFile); err != nil {
		fmt.Fprintf(w, "warning: %v\n", err)
	}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// selfCommand returns how a shell can run the ebsd started as arg0: the
// bare name if the shell found it on PATH, else its absolute path. A binary
// that "go run" built is deleted when it exits, so for it the answer is
// "go run" of its package.
func selfCommand(arg0 string) string {
	if !strings.ContainsRune(arg0, filepath.Separator) {
		return shellQuote(arg0)
	}
	abs, err := filepath.Abs(arg0)
	if err != nil {
		abs = arg0
	}
	if isGoRunBinary(abs) {
		pkg := "./cmd/ebsd"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Path != "" {
			pkg = bi.Path // works from anywhere in the module
		}
		return "go run " + pkg
	}
	return shellQuote(abs)
}

// isGoRunBinary reports whether path looks like where "go run" puts the
// binary it builds: $GOTMPDIR/go-build…/b001/exe/NAME.
func isGoRunBinary(path string) bool {
	dir := filepath.Dir(path)
	return filepath.Base(dir) == "exe" && strings.Contains(dir, string(filepath.Separator)+"go-build")
}

// dataPlace says where the server keeps its data, for the banner: the
// data directory, or the PostgreSQL database (without its password) and
// the bucket of distributed mode.
func dataPlace(cfg config.Config) string {
	if cfg.Meta == "" {
		return cfg.DataDir
	}
	meta := "PostgreSQL"
	if u, err := url.Parse(cfg.Meta); err == nil {
		meta += " " + u.Host + u.Path
	}
	blocks := cfg.Blocks
	if blocks == "" {
		blocks = filepath.Join(cfg.DataDir, "blocks")
	}
	return meta + " and " + blocks
}
