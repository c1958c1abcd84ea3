// Package store declares the two storage interfaces of ebsd and their
// contract: MetaStore keeps snapshot records, block mappings and small
// server state; BlockStore keeps block contents by a 32-byte key.
//
// Backends store and retrieve; they never validate API input. Every rule of
// the EBS direct APIs (which status accepts writes, lineage, checksums,
// tokens) lives above these interfaces, in package snapshot, except where a
// rule must hold under concurrency: then the contract makes it part of one
// atomic operation (CreateSnapshot's limit of pending snapshots, PutBlock
// refusing a snapshot that left StatePending, UpdateSnapshot giving fn the
// last activity), because a check in one call and an act in another would
// let concurrent requests, or other nodes, slip in between. What a backend
// must guarantee is written on each method below, and the conformance suite
// in storetest checks exactly those sentences, so that every backend
// (embedded Pebble and pack files today, PostgreSQL and S3 later) behaves
// the same.
//
// Errors: backends return the sentinels of this package, wrapped with %w,
// and translate their native errors (Pebble, pgx, S3) into them.
//
// Durability: a method that changes state returns only after the change is
// durable: a crash (kill -9, power loss) after it returns loses nothing.
package store
