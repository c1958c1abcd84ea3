package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"

	ebscreds "github.com/ebsd/ebsd/internal/credentials"
	"github.com/ebsd/ebsd/internal/ebstest"
	"github.com/ebsd/ebsd/internal/server"
)

// startWithQuota runs a real server (Pebble metadata, pack files) whose
// accounts may each have maxPending pending snapshots, and returns a
// client of Alice's with the SDK's retries off.
func startWithQuota(t *testing.T, maxPending int) *ebs.Client {
	t.Helper()
	creds, err := ebscreds.New([]ebscreds.Credential{ebstest.Alice, ebstest.Bob})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.Open(context.Background(), server.Options{
		DataDir: t.TempDir(), Credentials: creds, Region: "us-east-1", PackSize: 8 << 20,
		MaxPendingSnapshots: maxPending, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
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
	return ebstest.NewClient(hs.URL, ebstest.Alice, &http.Client{Timeout: time.Minute})
}

// TestPendingQuotaUnderConcurrency starts 32 snapshots at once against a
// quota of 2 (review F4): exactly 2 may succeed, the others get
// ConcurrentLimitExceededException, and a retry of a started snapshot
// still replays its response while the quota is full.
func TestPendingQuotaUnderConcurrency(t *testing.T) {
	const quota, starts = 2, 32
	c := startWithQuota(t, quota)

	var (
		wg      sync.WaitGroup
		barrier = make(chan struct{})
		tokens  [starts]string
		ids     [starts]string
		errs    [starts]error
	)
	for i := range starts {
		tokens[i] = fmt.Sprintf("quota-%02d", i)
		wg.Go(func() {
			<-barrier
			out, err := c.StartSnapshot(ctx, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1), ClientToken: &tokens[i]})
			if err == nil {
				ids[i] = *out.SnapshotId
			}
			errs[i] = err
		})
	}
	close(barrier)
	wg.Wait()
	started := map[string]string{} // ClientToken -> SnapshotId
	refused := 0
	for i, err := range errs {
		if err == nil {
			started[tokens[i]] = ids[i]
			continue
		}
		checkError(t, err, 400, "ConcurrentLimitExceededException", "", "limit of 2 pending snapshots")
		refused++
	}
	if len(started) != quota || refused != starts-quota {
		t.Fatalf("quota %d, %d concurrent StartSnapshot: %d succeeded, %d refused; want %d and %d",
			quota, starts, len(started), refused, quota, starts-quota)
	}

	for token, id := range started {
		out, err := c.StartSnapshot(ctx, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1), ClientToken: aws.String(token)})
		if err != nil || *out.SnapshotId != id {
			t.Fatalf("retry of %s with the quota full: %v, %v; want a replay of %s", token, out, err, id)
		}
	}
	_, err := c.StartSnapshot(ctx, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1)})
	checkError(t, err, 400, "ConcurrentLimitExceededException", "", "limit of 2 pending snapshots")

	// Completing one frees a slot for exactly one more.
	for _, id := range started {
		complete(t, c, id, 0, "")
		break
	}
	startSnapshot(t, c, &ebs.StartSnapshotInput{})
	_, err = c.StartSnapshot(ctx, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1)})
	checkError(t, err, 400, "ConcurrentLimitExceededException", "", "limit of 2 pending snapshots")
}

// TestForeignKMSKey checks through the SDK that an account cannot encrypt
// with another account's key, here Alice's default key (review F13).
func TestForeignKMSKey(t *testing.T) {
	srv := ebstest.Start(t, ebstest.Options{})
	alice, bob := srv.Client(ebstest.Alice), srv.Client(ebstest.Bob)
	out, err := alice.StartSnapshot(ctx, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1), Encrypted: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.KmsKeyArn)
	_, err = bob.StartSnapshot(ctx, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1), KmsKeyArn: &arn})
	checkError(t, err, 403, "AccessDeniedException", "DEPENDENCY_ACCESS_DENIED", "not authorized to use the KMS key '"+arn+"'")
	if _, err := alice.StartSnapshot(ctx, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1), KmsKeyArn: &arn}); err != nil {
		t.Fatalf("Alice with her own default key: %v", err)
	}
}
