package store

import "errors"

// These errors can be returned by any MetaStore or BlockStore method.
var (
	// ErrNotFound means the snapshot, record or block does not exist.
	ErrNotFound = errors.New("store: not found")

	// ErrExists means a create found the record already there.
	ErrExists = errors.New("store: already exists")

	// ErrLimit means CreateSnapshot found the owner at its limit of
	// pending snapshots.
	ErrLimit = errors.New("store: limit of pending snapshots reached")

	// ErrNotWritable means PutBlock found the snapshot not in StatePending
	// or StateCopying, UpdateSnapshot was asked to move a snapshot out of
	// StateDeleted, or PurgeSnapshot found a snapshot it may not purge.
	ErrNotWritable = errors.New("store: snapshot does not accept writes")

	// ErrCorrupt means stored data failed its integrity check.
	ErrCorrupt = errors.New("store: data is corrupt")

	// ErrClosed means the store was used after Close.
	ErrClosed = errors.New("store: closed")

	// ErrUnavailable means a backend that lives in another process
	// (PostgreSQL, an object store) could not be reached or went away
	// mid-call: the call may succeed if retried later. Backends wrap it
	// around the cause.
	ErrUnavailable = errors.New("store: backend unavailable")
)
