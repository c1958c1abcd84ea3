package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"

	"github.com/ebsd/ebsd/internal/client"
	"github.com/ebsd/ebsd/internal/nbd"
	"github.com/ebsd/ebsd/internal/snapexport"
)

const nbdSummary = `Serve a completed snapshot as a block device over NBD (the Network Block
Device protocol), without downloading it: blocks are fetched when a client
reads them, every one verified against its checksum, kept in a cache of
--cache-mib and read ahead when reads are sequential. Any NBD client works:
qemu-img, qemu-io, nbdinfo, nbdcopy (no kernel module needed), nbdfuse,
or the kernel's nbd-client to mount a file system.

The URI to connect to is printed on stdout as soon as the server listens
(nbd://127.0.0.1:10809, or nbd+unix:///?socket=PATH with --socket), with
example command lines on stderr. It serves until interrupted (SIGINT,
SIGTERM), or with --commit on-disconnect until its last client leaves.
The export's size is that of the image the snapshot was uploaded from
(--size, else the manifest in --state-dir, else the ebs:image-size tag),
else the whole volume. Blocks the snapshot does not hold are reported as
holes (NBD block status, base:allocation: nbdinfo --map shows them) and
read as zeros; several connections may share the export (multi-conn).

Read-only by default. --writable keeps writes in a local sparse overlay
file (--overlay, by default in --state-dir), whose map of written blocks is
made durable on every NBD flush: an interrupted session loses nothing a
flush covered, and a later 'ebs nbd --writable' of the same snapshot goes
on from it. --commit decides what becomes of the writes when the server
stops: 'on-exit' (SIGINT/SIGTERM) or 'on-disconnect' (the last client
leaves) make a child snapshot (ParentSnapshotId = SNAPSHOT) holding only
the blocks that differ from the snapshot, print its ID on stdout and
delete the overlay; 'never' (the default) keeps the overlay; 'now' commits
an overlay left by an earlier session without serving.

Output: the URI on stdout, then the child's ID if one was made (with
--json, at the end an object with uri, snapshot_id, size, size_source,
writable, overlay, written_blocks, fetched_blocks, cache_hits,
read_ahead_blocks, list_pages, throttled and child).`

// nbdFlags are ebs nbd's own flags.
type nbdFlags struct {
	listen      string
	socket      string
	writable    bool
	commit      string
	cacheMiB    int
	overlay     string
	size        int64
	description string
	wait        bool
}

// nbdOutput is the --json result of ebs nbd.
type nbdOutput struct {
	URI           string              `json:"uri,omitempty"`
	SnapshotID    string              `json:"snapshot_id"`
	Size          int64               `json:"size"`
	SizeSource    string              `json:"size_source"`
	Writable      bool                `json:"writable"`
	Overlay       string              `json:"overlay,omitempty"`
	WrittenBlocks int                 `json:"written_blocks"`
	Fetched       int64               `json:"fetched_blocks"`
	Hits          int64               `json:"cache_hits"`
	ReadAhead     int64               `json:"read_ahead_blocks"`
	Pages         int                 `json:"list_pages"`
	Throttled     int64               `json:"throttled"`
	Child         *client.ChildResult `json:"child,omitempty"`
}

func runNbd(ctx context.Context, m *Main, args []string) error {
	var g Globals
	var o nbdFlags
	fs := newFlagSet(m, "nbd", "[flags] SNAPSHOT", nbdSummary, &g)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:10809", "TCP `address` to serve on (port 0: any free port)")
	fs.StringVar(&o.socket, "socket", "", "serve on this Unix socket `path` instead of TCP")
	fs.BoolVar(&o.writable, "writable", false, "accept writes, into a local overlay file (see --overlay, --commit)")
	fs.StringVar(&o.commit, "commit", "never", "with --writable, when to turn the writes into a child snapshot: `when` on-exit, on-disconnect, never (keep the overlay) or now (commit an earlier session's overlay and exit)")
	fs.IntVar(&o.cacheMiB, "cache-mib", 256, "memory for cached blocks, in MiB")
	fs.StringVar(&o.overlay, "overlay", "", "overlay `file` of --writable; its map is FILE.map (default: <state-dir>/nbd/SNAPSHOT.overlay)")
	fs.Int64Var(&o.size, "size", 0, "export size in `bytes` (default: the uploaded image's size, else the whole volume)")
	fs.StringVar(&o.description, "description", "", "description of the child snapshot a commit makes")
	fs.BoolVar(&o.wait, "wait", false, "after a commit, wait until the child snapshot is completed")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	snap := pos[0]
	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
	switch {
	case o.commit != "never" && o.commit != "on-exit" && o.commit != "on-disconnect" && o.commit != "now":
		return usagef("--commit %q: want on-exit, on-disconnect, never or now", o.commit)
	case o.commit != "never" && !o.writable:
		return usagef("--commit needs --writable")
	case o.socket != "" && explicit["listen"]:
		return usagef("--listen and --socket exclude each other")
	case o.cacheMiB < 1:
		return usagef("--cache-mib must be at least 1")
	}
	if o.writable && o.overlay == "" {
		o.overlay = filepath.Join(g.StateDir, "nbd", snap+".overlay")
	}
	if !o.writable {
		o.overlay = ""
	}

	stopProfile, err := startNbdProfile(m)
	if err != nil {
		return err
	}
	defer stopProfile()

	obs := newObserver(m, &g)
	c, err := m.client(ctx, &g, obs)
	if err != nil {
		return err
	}
	logOut := slog.New(slog.DiscardHandler)
	if g.Verbose {
		logOut = slog.New(slog.NewTextHandler(m.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	exp, err := snapexport.Open(ctx, snapexport.Options{
		Client: c, SnapshotID: snap, CacheBlocks: max(o.cacheMiB*(1<<20)/client.BlockSize, 1),
		Overlay: o.overlay, Size: o.size, Logger: logOut, Workers: g.Workers,
	})
	if err != nil {
		return err
	}
	out := nbdOutput{SnapshotID: snap, Size: exp.Size(), SizeSource: exp.SizeSource(), Writable: exp.Writable(), Overlay: o.overlay}
	if o.commit == "now" {
		return m.nbdFinish(ctx, &g, &o, exp, &out)
	}

	ln, uri, err := nbdListen(m, &o)
	if err != nil {
		exp.Close()
		return err
	}
	out.URI = uri
	// A server started by its client (socket activation) has nobody to
	// tell where it listens: its stdout and stderr are the client's.
	if activated := m.Getenv("LISTEN_FDS") != ""; !activated {
		fmt.Fprintln(m.Stdout, uri)
		if !g.Quiet {
			m.nbdBanner(&o, snap, exp, ln.Addr(), uri)
		}
	}

	serveCtx, stop := context.WithCancel(ctx)
	defer stop()
	var seen atomic.Bool
	srv := &nbd.Server{
		Export: nbd.Export{Name: snap, Description: "EBS snapshot " + snap, Backend: exp, Writable: exp.Writable(), MultiConn: true},
		Logger: logOut,
		// nbdcopy and qemu keep 64 requests in flight on a connection;
		// serving them all at once lets each start its read-ahead on
		// arrival. Reads cost no buffer here (the export lends its
		// cached blocks), and the bytes in flight stay bounded by the
		// server.
		MaxRequests: 64,
		ConnChanged: func(open int) {
			if open > 0 {
				seen.Store(true)
			} else if seen.Load() && o.commit == "on-disconnect" {
				stop()
			}
		},
	}
	serveErr := srv.Serve(serveCtx, ln)
	if o.socket != "" {
		os.Remove(o.socket)
	}
	if serveErr != nil {
		exp.Close()
		return serveErr
	}
	return m.nbdFinish(ctx, &g, &o, exp, &out)
}

// nbdFinish commits or keeps the overlay once the server stopped, and
// prints the result.
func (m *Main) nbdFinish(ctx context.Context, g *Globals, o *nbdFlags, exp *snapexport.Export, out *nbdOutput) error {
	out.WrittenBlocks = exp.Written()
	report := func() error {
		st := exp.Stats()
		out.Fetched, out.Hits, out.ReadAhead, out.Pages, out.Throttled = st.Fetched, st.Hits, st.ReadAhead, st.Pages, st.Throttled
		if g.JSON {
			return printJSON(m.Stdout, out)
		}
		return nil
	}
	if !exp.Writable() || o.commit == "never" || out.WrittenBlocks == 0 {
		if err := exp.Close(); err != nil {
			return err
		}
		if out.WrittenBlocks > 0 && !g.Quiet {
			fmt.Fprintf(m.Stderr, "ebs nbd: %d written blocks are kept in %s; 'ebs nbd --writable --commit now %s' makes them a child snapshot, 'rm %s %s' discards them\n",
				out.WrittenBlocks, o.overlay, out.SnapshotID, o.overlay, snapexport.MapPath(o.overlay))
		}
		return report()
	}
	// The server's context may be cancelled (SIGINT): the commit gets its
	// own, which a second SIGINT or SIGTERM cancels.
	cctx, stop := signal.NotifyContext(context.WithoutCancel(ctx), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if !g.Quiet {
		fmt.Fprintf(m.Stderr, "ebs nbd: committing the %d written blocks of %s into a child snapshot\n", out.WrittenBlocks, out.SnapshotID)
	}
	res, err := exp.Commit(cctx, snapexport.CommitOptions{Description: o.description, Wait: o.wait, OnStart: func(id string) {
		if !g.Quiet {
			fmt.Fprintf(m.Stderr, "snapshot %s started (parent %s)\n", id, out.SnapshotID)
		}
	}})
	switch {
	case errors.Is(err, snapexport.ErrNothingChanged):
		if !g.Quiet {
			fmt.Fprintf(m.Stderr, "ebs nbd: no block differs from %s: no snapshot made\n", out.SnapshotID)
		}
		if err := exp.Discard(); err != nil {
			return err
		}
		return report()
	case err != nil:
		exp.Close()
		return fmt.Errorf("%w; the writes are kept in %s: 'ebs nbd --writable --commit now %s' tries again", err, o.overlay, out.SnapshotID)
	}
	out.Child = res
	if err := exp.Discard(); err != nil {
		fmt.Fprintf(m.Stderr, "ebs nbd: could not delete the overlay %s: %v\n", o.overlay, err)
	}
	if !g.Quiet {
		fmt.Fprintf(m.Stderr, "ebs nbd: child snapshot %s of %s holds %d changed blocks (%s)\n", res.SnapshotID, out.SnapshotID, res.ChangedBlocks, res.Status)
	}
	if !g.JSON {
		fmt.Fprintln(m.Stdout, res.SnapshotID)
	}
	return report()
}

// nbdListen opens the listener: the socket systemd-style socket activation
// passed (LISTEN_FDS, as nbdinfo and nbdcopy do for a server given in
// [ ... ]), a Unix socket, or TCP; and returns the URI that names it.
func nbdListen(m *Main, o *nbdFlags) (net.Listener, string, error) {
	if pid, _ := strconv.Atoi(m.Getenv("LISTEN_PID")); pid == os.Getpid() && m.Getenv("LISTEN_FDS") != "" {
		ln, err := net.FileListener(os.NewFile(3, "LISTEN_FDS"))
		if err != nil {
			return nil, "", fmt.Errorf("socket activation: %w", err)
		}
		return ln, "nbd+unix:///?socket=" + ln.Addr().String(), nil
	}
	if o.socket != "" {
		if fi, err := os.Lstat(o.socket); err == nil && fi.Mode().Type() == fs.ModeSocket {
			// A socket left by a server that is gone; one still serving
			// answers a connection.
			if c, err := net.Dial("unix", o.socket); err == nil {
				c.Close()
				return nil, "", fmt.Errorf("%s: another server is listening there", o.socket)
			}
			os.Remove(o.socket)
		}
		ln, err := net.Listen("unix", o.socket)
		if err != nil {
			return nil, "", err
		}
		return ln, "nbd+unix:///?socket=" + url.QueryEscape(o.socket), nil
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return nil, "", err
	}
	return ln, "nbd://" + ln.Addr().String(), nil
}

// nbdBanner tells, on stderr, what is served and how to use it.
func (m *Main) nbdBanner(o *nbdFlags, snap string, exp *snapexport.Export, addr net.Addr, uri string) {
	mode := "read-only"
	if exp.Writable() {
		mode = fmt.Sprintf("writable, overlay %s", o.overlay)
		if n := exp.Written(); n > 0 {
			mode += fmt.Sprintf(" (%d blocks written by an earlier session)", n)
		}
		mode += ", commit " + o.commit
	}
	size := map[string]string{
		client.SizeFromFlag: "--size", client.SizeFromManifest: "the uploaded image's", client.SizeFromTag: "the uploaded image's, from the tag " + client.ImageSizeTag,
		client.SizeFromVolume: "the whole volume",
	}[exp.SizeSource()]
	fmt.Fprintf(m.Stderr, "ebs nbd: serving %s (%d bytes, %s; %s) at %s\n", snap, exp.Size(), size, mode, uri)
	fmt.Fprintf(m.Stderr, "  nbdinfo --map '%s'                       # holes and data\n", uri)
	fmt.Fprintf(m.Stderr, "  qemu-img convert -O raw '%s' disk.raw    # copy it (or nbdcopy '%s' disk.raw)\n", uri, uri)
	fmt.Fprintf(m.Stderr, "  sudo nbd-client -L -N '' %s /dev/nbd0  # a kernel block device to mount (modprobe nbd)\n", kernelTarget(addr))
	fmt.Fprintln(m.Stderr, "Stop with Ctrl-C.")
}

// kernelTarget is the address as nbd-client takes it.
func kernelTarget(addr net.Addr) string {
	if addr.Network() == "unix" {
		return "-unix " + addr.String()
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	return host + " " + port
}
