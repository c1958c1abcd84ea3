// Package memstore keeps ebsd's state in memory: Meta is a store.MetaStore
// and Blocks a store.BlockStore. Nothing survives Close or the process.
//
// It is the reference implementation of the contract in package store: it
// favours being obviously correct over being fast (reads through a lineage
// cost the whole chain's writes), and it is what fast tests of the layers
// above run against.
package memstore
