package server_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/ebsd/ebsd/internal/pgdb/pgtest"
	"github.com/ebsd/ebsd/internal/s3test"
)

// TestMain stops the PostgreSQL cluster and the MinIO server that the
// distributed-mode tests start, once every test has run.
func TestMain(m *testing.M) {
	code := s3test.Run(m)
	if err := pgtest.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}
