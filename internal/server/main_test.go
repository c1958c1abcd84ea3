package server_test

import (
	"os"
	"testing"

	"github.com/ebsd/ebsd/internal/pgdb/pgtest"
	"github.com/ebsd/ebsd/internal/s3test"
)

// TestMain stops the PostgreSQL cluster and the MinIO server that the
// distributed-mode tests start, once every test has run.
func TestMain(m *testing.M) { os.Exit(pgtest.Finish(s3test.Run(m))) }
