package store

import "errors"

// Sentinel errors. Every error the store returns wraps at most one of these
// (test with errors.Is) together with what was wrong: a folder, a CID, a key.
// The store never sees URLs, so none can leak into an error.
var (
	// ErrNotFound: the record or index entry asked for is not stored.
	ErrNotFound = errors.New("store: not found")
	// ErrLocked: another process, or another Store in this process, has the
	// folder open.
	ErrLocked = errors.New("store: folder in use")
	// ErrCorrupt: the folder is not a Vigie store, or the store contradicts
	// itself. The node must not run on it; see doc.go for what to do.
	ErrCorrupt = errors.New("store: corrupt or not a Vigie store")
	// ErrNewerFormat: the store was written by a newer Vigie (or Pebble)
	// on-disk format than this build reads.
	ErrNewerFormat = errors.New("store: written in a newer format")
	// ErrClosed: the Store has been closed.
	ErrClosed = errors.New("store: closed")
	// ErrInvalid: the caller passed an entry or argument the store refuses
	// (a programming error in the caller, not a property of the data on disk).
	ErrInvalid = errors.New("store: invalid argument")
	// ErrConflict: a Put would give an origin sequence number that is already
	// held by a different record (an origin equivocating, or a caller bug).
	// Nothing of that Put was written.
	ErrConflict = errors.New("store: origin sequence already used by another record")
)
