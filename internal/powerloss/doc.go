// Package powerloss proves that a 201 means durable, and that garbage
// collection never takes what a live snapshot reads: it runs the snapshot
// service and the collector on the embedded stores (pebblemeta and
// packblocks) over Pebble's crashable in-memory file system, cuts the
// power or kills the process at random instants, and checks a model of
// every snapshot's bytes against what the service reads back.
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
// recovery, compaction's included; some cuts land while it runs) and
// verifies everything (verify.go, Check included). Half the cycles then run
// a collection on its own, a third of which are cut mid-way, and verify
// again. Then the load runs: workers upload with a small content alphabet
// (full, incremental and encrypted snapshots; writes that overwrite and
// shadow), abandon snapshots that time out, delete pending and completed
// snapshots (parents of live children, copy sources and copies in
// progress included), make lineage and re-seal copies and read snapshots
// back; the sweeper runs; and collections run back to back, each followed
// by reading every readable snapshot back. The cut comes at a random
// instant, half the time aimed at a collection in progress. The last cycle
// deletes everything and checks that two collections leave no block.
//
// The ledger (the model) is frozen as the power is cut, so it holds exactly
// the operations that returned before the cut, and the writes in flight.
package powerloss
