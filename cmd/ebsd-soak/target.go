package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ebsd/ebsd/internal/benchserver"
)

// target is the server under soak.
type target struct {
	endpoint      string
	keyID, secret string
	pid           int    // 0 = unknown
	dataDir       string // "" = unknown (a server we did not start)
	stop          func()
}

// openTarget starts an ebsd, or returns the one o.endpoint names.
func openTarget(ctx context.Context, o options) (*target, error) {
	if o.endpoint != "" {
		return &target{endpoint: o.endpoint, keyID: o.keyID, secret: o.secret, pid: o.pid, stop: func() {}}, nil
	}
	dir, cleanup := o.dir, func() {}
	if dir == "" {
		tmp, err := os.MkdirTemp("", "ebsd-soak-")
		if err != nil {
			return nil, err
		}
		dir, cleanup = tmp, func() { os.RemoveAll(tmp) }
	}
	dataDir := filepath.Join(dir, "server")
	srv, err := benchserver.Start(ctx, o.ebsd, dataDir)
	if err != nil {
		cleanup()
		return nil, fmt.Errorf("start ebsd: %w", err)
	}
	return &target{
		endpoint: srv.Endpoint, keyID: benchserver.KeyID, secret: benchserver.Secret,
		pid: srv.Pid(), dataDir: dataDir,
		stop: func() { srv.Stop(); cleanup() },
	}, nil
}

// packs counts the pack files of a server we started, or returns -1.
func (t *target) packs() int {
	if t.dataDir == "" {
		return -1
	}
	m, err := filepath.Glob(filepath.Join(t.dataDir, "blocks", "packs", "*.pack"))
	if err != nil {
		return -1
	}
	return len(m)
}
