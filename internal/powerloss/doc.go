// Package powerloss proves that a 201 means durable: it runs the snapshot
// service on the embedded stores (pebblemeta and packblocks) over Pebble's
// crashable in-memory file system, cuts the power at random instants, and
// checks that everything acknowledged before the cut survives.
//
// A test that kills the process cannot see a missing fsync: the page cache
// survives the process. vfs.MemFS.CrashClone keeps only what was synced —
// file data after SyncData/Sync, directory entries after the directory was
// synced — plus a random share of what was not, at 4 KiB granularity, so a
// missing fdatasync or directory fsync loses acknowledged data here and the
// check fails.
//
// One scenario is a fresh file system and a sequence of cycles. Each cycle
// opens the stores on the file system left by the previous crash (running
// recovery), verifies every acknowledgement so far, runs concurrent
// uploads, completions, abandoned snapshots that time out, and the
// sweeper, and cuts the power at a random instant. Some cuts land while
// recovery itself runs. The ledger of acknowledgements is frozen before
// each cut, so it holds exactly the operations that returned before it.
package powerloss
