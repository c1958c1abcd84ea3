// Package pgtest gives tests a fresh, empty PostgreSQL database on
// loopback: Start(t) returns its DSN.
//
// With EBSD_TEST_POSTGRES set (a DSN to an admin database of a server the
// tests may create databases on), each Start creates a database there.
// Otherwise the first Start of a test binary runs initdb in a temporary
// directory and starts a throwaway cluster from the PostgreSQL binaries
// installed here (/usr/lib/postgresql/N/bin, the newest N, or pg_config
// --bindir), as the postgres user when the tests run as root, with
// fsync=off (a test database need not survive a power cut; set
// EBSD_PGTEST_FSYNC=1 for a durable one, to benchmark), on a free
// loopback port and with its unix sockets in the temporary directory. The
// tests of the binary share it, each Start making a new database, and
// TestMain stops it:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// The server also gets SIGQUIT if the test binary dies without stopping it
// (a panic, a -timeout), so that no postgres outlives go test.
//
// When PostgreSQL is not installed, Start skips the test, or fails it when
// CI is set.
//
// NewCluster starts a private cluster that a test may stop and start again
// (to test a restart of the server).
package pgtest
