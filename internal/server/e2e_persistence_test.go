package server_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/aws-sdk-go-v2/service/ebs/types"

	"github.com/ebsd/ebsd/internal/ebstest"
)

func TestRestartPersistence(t *testing.T) {
	srv := ebstest.Start(t, ebstest.Options{})
	c := srv.Client(ebstest.Alice)
	done := startSnapshot(t, c, &ebs.StartSnapshotInput{ClientToken: aws.String("tok")})
	blocks := map[int32][]byte{1: ebstest.Random(1), 2: ebstest.Random(2), 3: ebstest.Random(1)}
	mustPut(t, c, done, blocks)
	complete(t, c, done, 3, "")
	toks := listAll(t, c, done, 100)
	pending := startSnapshot(t, c, &ebs.StartSnapshotInput{})
	mustPut(t, c, pending, map[int32][]byte{0: ebstest.Random(7)})

	srv.Restart()
	c = srv.Client(ebstest.Alice)
	sameBlocks(t, readAll(t, c, done), blocks)
	// Tokens survive restarts: their key is stored, not made per process.
	getBlock(t, c, done, 2, toks[2])
	// The pending snapshot still takes writes and completes.
	mustPut(t, c, pending, map[int32][]byte{1: ebstest.Random(8)})
	if got := complete(t, c, pending, 2, ebstest.Linear(ebstest.Random(7), ebstest.Random(8))); got != types.StatusCompleted {
		t.Fatalf("status = %s", got)
	}
	// Idempotency records survive too.
	again := startSnapshot(t, c, &ebs.StartSnapshotInput{ClientToken: aws.String("tok")})
	if again != done {
		t.Fatalf("replay after restart = %s, want %s", again, done)
	}
}
