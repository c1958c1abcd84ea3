package server_test

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	ebscreds "github.com/ebsd/ebsd/internal/credentials"
	"github.com/ebsd/ebsd/internal/ebstest"
	"github.com/ebsd/ebsd/internal/server"
)

// TestShutdownBeforeServe: a Shutdown that comes before Serve has started
// (a SIGTERM during start-up; a test that stops at once) makes Serve
// return at once. It used to serve for ever, because Shutdown found no
// http.Server yet to shut down.
func TestShutdownBeforeServe(t *testing.T) {
	creds, err := ebscreds.New([]ebscreds.Credential{ebstest.Alice})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.Open(context.Background(), server.Options{DataDir: t.TempDir(), Credentials: creds,
		Region: "us-east-1", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln, "", "") }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve after Shutdown = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		ln.Close()
		t.Fatal("Serve after Shutdown still serving after 5 s")
	}
}
