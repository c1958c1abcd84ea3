// Package storetest is the conformance suite of the storage interfaces:
// RunMetaStoreTests and RunBlockStoreTests check, case by case, the
// sentences of the contracts in package store, and every backend runs them
// from a short test file with a harness that opens a fresh store per case.
// RunMetaStoreBenchmarks and RunBlockStoreBenchmarks measure the same
// operations on every backend.
package storetest
