package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Parse builds a Config from args (the command line without the program
// name) and the environment, read through getenv (os.Getenv outside
// tests). A flag overrides its environment variable, which overrides the
// default; an empty variable counts as unset, and so does a path flag or
// variable set to "". The result is not validated: call Validate.
//
// Like package flag, Parse writes the problem and the usage text to stderr
// when a flag is wrong. For -h or -help it writes the usage text and
// returns flag.ErrHelp, which the caller should treat as success.
func Parse(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	cfg := defaults()
	opts := options()
	fs := flag.NewFlagSet("ebsd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { writeUsage(stderr, opts) }
	for _, o := range opts {
		fs.Var(o.bind(&cfg), o.flag, o.usage)
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q: ebsd takes only flags; run ebsd -h to list them", fs.Arg(0))
	}

	set := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	for _, o := range opts {
		v := getenv(o.env)
		if set[o.flag] || v == "" {
			continue
		}
		if err := o.bind(&cfg).Set(v); err != nil {
			errs = append(errs, fmt.Errorf("environment variable %s: %w", o.env, err))
		}
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	cfg.fillDerived(getenv)
	return cfg, nil
}

// Usage returns the text that -h prints.
func Usage() string {
	var b strings.Builder
	writeUsage(&b, options())
	return b.String()
}

const usageIntro = `Usage: ebsd [flags]
       ebsd kms-key [-kms-keys FILE] add ARN | list
       ebsd credentials [-data-dir DIR | -credentials FILE] [-account ID]
       ebsd gc [flags]
       ebsd check [-read-data] [flags]
       ebsd usage [flags]
       ebsd migrate [-data-dir DIR | -from-meta URL -from-blocks URL]
                    [-to-data-dir DIR | -to-meta URL -to-blocks URL]
       ebsd --version

ebsd is a self-hostable server for the Amazon EBS direct APIs: StartSnapshot,
PutSnapshotBlock, CompleteSnapshot, GetSnapshotBlock, ListSnapshotBlocks and
ListChangedBlocks, and, on the same listener, the EC2 snapshot calls
(DescribeSnapshots, DeleteSnapshot, CopySnapshot, CreateTags, DeleteTags,
DescribeTags, DescribeRegions) and STS GetCallerIdentity. Deleted snapshots'
space comes back in a garbage collector that runs every -gc-interval.
Point an AWS SDK or the AWS CLI at it with an endpoint
override (for example --endpoint-url http://127.0.0.1:8450) and sign requests
with an access key from the credentials file. "ebsd kms-key" manages the
local master keys that stand in for AWS KMS (run "ebsd kms-key -h").
"ebsd credentials" prints export lines for a key of the credentials file:
eval "$(ebsd credentials)" signs a shell's AWS tools for ebsd. "ebsd gc"
collects garbage once and "ebsd check" verifies that every block of every
snapshot is stored (with -read-data: reads it back and checks its SHA-256);
"ebsd usage" prints each account's bytes written and unique bytes stored;
"ebsd migrate" copies everything between a data directory and PostgreSQL +
S3 (-meta, -blocks: distributed mode), either way, then checks the copy
block by block (run "ebsd migrate -h"). They run on a stopped server's
stores; check and migrate exit 1 on a problem.

Each flag can also be set with the environment variable shown; a flag
overrides its variable.

Flags:
`

// writeUsage writes the usage text, wrapping descriptions at 80 columns.
func writeUsage(w io.Writer, opts []option) {
	var b strings.Builder
	b.WriteString(usageIntro)
	for _, o := range opts {
		if o.arg == "" { // a boolean flag
			fmt.Fprintf(&b, "  -%s\n", o.flag)
		} else {
			fmt.Fprintf(&b, "  -%s %s\n", o.flag, o.arg)
		}
		for _, line := range wrap(o.usage, 80-8) {
			fmt.Fprintf(&b, "        %s\n", line)
		}
		for _, line := range wrap(fmt.Sprintf("Environment: %s. Default: %s.", o.env, o.def), 80-8) {
			fmt.Fprintf(&b, "        %s\n", line)
		}
	}
	io.WriteString(w, b.String())
}

// wrap splits text into lines of at most width bytes, breaking at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		switch {
		case line == "":
			line = word
		case len(line)+1+len(word) <= width:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
