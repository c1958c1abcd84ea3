package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/ebsd/ebsd/internal/client"
)

// Globals are the flags every command takes.
type Globals struct {
	Endpoint string
	Region   string
	Profile  string
	Workers  int
	Verbose  bool
	Quiet    bool
	JSON     bool
	StateDir string
	CABundle string
}

// apiClient is the service client commands use.
type apiClient = client.API

func (g *Globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.Endpoint, "endpoint-url", "", "service endpoint of both the EBS direct and the EC2 APIs, e.g. http://127.0.0.1:8450 for a local ebsd (default: AWS, or $AWS_ENDPOINT_URL_EBS and $AWS_ENDPOINT_URL_EC2)")
	fs.StringVar(&g.Region, "region", "", "AWS region (default: $AWS_REGION or the profile's)")
	fs.StringVar(&g.Profile, "profile", "", "shared config profile (default: $AWS_PROFILE)")
	fs.IntVar(&g.Workers, "workers", client.DefaultWorkers, "blocks transferred in parallel")
	fs.BoolVar(&g.Verbose, "v", false, "log each phase and every retry to stderr")
	fs.BoolVar(&g.Quiet, "quiet", false, "print no progress, only the result and errors")
	fs.BoolVar(&g.JSON, "json", false, "print the result as JSON")
	fs.StringVar(&g.StateDir, "state-dir", client.DefaultStateDir(), "where upload journals and block manifests are kept")
	fs.StringVar(&g.CABundle, "ca-bundle", "", "PEM `file` of the certificates to trust for an https endpoint with a self-signed or private-CA certificate, e.g. ebsd's -tls-cert (default: $AWS_CA_BUNDLE, else the profile's ca_bundle, else the system's)")
}

// newFlagSet returns a command's flag set with the global flags.
func newFlagSet(m *Main, name, args, summary string, g *Globals) *flag.FlagSet {
	fs := flag.NewFlagSet("ebs "+name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	g.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(m.Stderr, "Usage: ebs %s %s\n\n%s\n\nFlags:\n", name, args, summary)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args allowing flags after positional arguments
// ("ebs upload disk.img --wait"), and checks the positional count.
func parse(fs *flag.FlagSet, args []string, want int) ([]string, error) {
	pos, err := parseAll(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) != want {
		return nil, usagef("expected %d argument(s), got %d (%s)", want, len(pos), strings.Join(pos, " "))
	}
	return pos, nil
}

// parseAll is parse for any number of positional arguments.
func parseAll(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			// A bad flag is a usage error (exit code 2), like a bad count.
			return nil, &usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	return pos, nil
}

// client builds the transfer client for the parsed globals.
func (m *Main) client(ctx context.Context, g *Globals, obs client.Observer) (*client.Client, error) {
	var api client.API
	var err error
	if m.NewAPI != nil {
		api, err = m.NewAPI(ctx, g)
	} else {
		api, err = client.NewSDK(ctx, client.SDKOptions{Endpoint: g.Endpoint, Region: g.Region, Profile: g.Profile, Workers: g.Workers, CABundle: g.CABundle})
	}
	if err != nil {
		return nil, err
	}
	// The EC2 API reads back the image size an upload tagged the snapshot
	// with; tests that inject only an EBS API get none.
	var ec2api client.EC2API
	if m.NewEC2API != nil || m.NewAPI == nil {
		if ec2api, err = m.ec2(ctx, g); err != nil {
			return nil, err
		}
	}
	logOut := io.Discard
	if g.Verbose {
		logOut = m.Stderr
	}
	return client.New(api, client.Options{
		Workers:  g.Workers,
		Observer: obs,
		Logger:   slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelDebug})),
		StateDir: g.StateDir,
		EC2:      ec2api,
	}), nil
}

// ec2 builds the EC2 client for the parsed globals: the same endpoint,
// region, profile and CA bundle as the EBS client's.
func (m *Main) ec2(ctx context.Context, g *Globals) (client.EC2API, error) {
	if m.NewEC2API != nil {
		return m.NewEC2API(ctx, g)
	}
	return client.NewEC2SDK(ctx, client.SDKOptions{Endpoint: g.Endpoint, Region: g.Region, Profile: g.Profile, CABundle: g.CABundle})
}

// isTerminal reports whether w is a terminal, for choosing a progress bar
// over plain lines. (A character-device test is not enough: /dev/null is
// one.)
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
