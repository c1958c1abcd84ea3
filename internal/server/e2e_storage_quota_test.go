package server_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"

	ebscreds "github.com/ebsd/ebsd/internal/credentials"
	ebsd "github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/ebstest"
	"github.com/ebsd/ebsd/internal/server"
	"github.com/ebsd/ebsd/internal/snapshot"
)

// TestStorageQuotaEndToEnd fills Alice's storage quota of 3 blocks through
// the Go SDK: the fourth block gets 402 ServiceQuotaExceededException,
// typed as such by the SDK, with a message that names the quota and says
// what to do; Bob, with a quota of his own in the credentials, is not
// held to Alice's. Once Alice deletes a snapshot and a collection purges
// it, her writes are accepted again.
func TestStorageQuotaEndToEnd(t *testing.T) {
	bob := ebstest.Bob
	bobQuota := int64(0) // none, overriding the server's default
	bob.StorageQuota = &bobQuota
	creds, err := ebscreds.New([]ebscreds.Credential{ebstest.Alice, bob})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.Open(context.Background(), server.Options{
		DataDir: t.TempDir(), Credentials: creds, Region: "us-east-1", PackSize: 8 << 20,
		StorageQuota: 3 * ebsd.BlockSize, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		if err := srv.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	alice := ebstest.NewClient(hs.URL, ebstest.Alice, &http.Client{Timeout: time.Minute})
	block := func(s string) []byte { return bytes.Repeat([]byte(s), ebsd.BlockSize/len(s)) }

	old := startSnapshot(t, alice, &ebs.StartSnapshotInput{})
	mustPut(t, alice, old, map[int32][]byte{0: block("old0"), 1: block("old1")})
	if st := complete(t, alice, old, 2, ""); st != types.StatusCompleted {
		t.Fatalf("complete: %s", st)
	}
	id := startSnapshot(t, alice, &ebs.StartSnapshotInput{})
	mustPut(t, alice, id, map[int32][]byte{0: block("new0")})

	err = putBlock(alice, id, 1, block("new1"))
	checkError(t, err, http.StatusPaymentRequired, "ServiceQuotaExceededException", "",
		"has reached its storage quota: its snapshots have written 1572864 bytes (1.50 MiB) of the 1572864 bytes (1.50 MiB) it may store")
	var sq *types.ServiceQuotaExceededException
	if !errors.As(err, &sq) {
		t.Errorf("the SDK did not type the error as ServiceQuotaExceededException: %T", err)
	}
	checkError(t, err, http.StatusPaymentRequired, "ServiceQuotaExceededException", "", "Delete snapshots")
	if err := putBlock(alice, id, 1, make([]byte, ebsd.BlockSize)); err != nil {
		t.Errorf("a zero block at the quota: %v", err)
	}

	bobClient := ebstest.NewClient(hs.URL, bob, &http.Client{Timeout: time.Minute})
	theirs := startSnapshot(t, bobClient, &ebs.StartSnapshotInput{})
	mustPut(t, bobClient, theirs, map[int32][]byte{0: block("b0"), 1: block("b1"), 2: block("b2"), 3: block("b3")})

	if err := srv.Service().DeleteSnapshot(ctx, snapshot.DeleteInput{AccountID: ebstest.Alice.AccountID, SnapshotID: &old}); err != nil {
		t.Fatal(err)
	}
	checkError(t, putBlock(alice, id, 1, block("new1")), http.StatusPaymentRequired, "ServiceQuotaExceededException", "", "storage quota")
	if _, err := srv.Collect(ctx); err != nil {
		t.Fatal(err)
	}
	if err := putBlock(alice, id, 1, block("new1")); err != nil {
		t.Errorf("after the delete and a collection: %v", err)
	}
}
