package syncengine

import "time"

// Action is an output of Engine.Step, for the adapter to perform.
type Action interface{ isAction() }

// Send asks the adapter to write Msg to peer To's stream. Sends to one
// peer must be written in the order they are returned.
type Send struct {
	To       PeerID
	Msg      Msg
	Priority Priority
}

// Deliver hands the node a bundle received from From to verify (manifest
// signature, inclusion, roster membership of the origin, retraction only
// by the assertion's origin, its own accept policy) and store. The node
// answers each Deliver with one Accepted or Rejected for its Delivery, in
// any order relative to other deliveries, or not at all if it crashes. The
// engine repeats a Deliver, with the same ID, after a local failure or
// when no answer came within the timeout; the first final answer counts,
// later ones are ignored (storing twice is harmless: the store
// deduplicates).
type Deliver struct {
	Delivery DeliveryID
	From     PeerID
	Bundle   Bundle
}

// PersistCursor asks the adapter to store Peer's cursor durably, replacing
// the previous one, so that the next Engine starts from it (Config.Cursors).
// The engine emits it only once the node has acknowledged every delivery
// the cursor covers: losing a PersistCursor refetches, never skips.
type PersistCursor struct {
	Peer   PeerID
	Cursor Cursor
}

// Schedule asks for a Tick at or after At. A later Schedule replaces the
// earlier one; the engine re-emits one whenever its next deadline changes.
type Schedule struct {
	At time.Time
}

// Reconcile is the extension point for layer (c), anti-entropy: Peer's log
// can no longer be fed from our cursor (its epoch changed), so the
// anti-entropy layer must reconcile our set with Peer's set (a rateless
// IBLT session, protocol/riblt) and report Reconciled. Epoch and Next are
// Peer's current log epoch and head. Until Reconciled arrives the engine
// does not feed from Peer; pushes still flow.
type Reconcile struct {
	Peer   PeerID
	Epoch  Epoch
	Next   uint64
	Reason string
}

// Level grades a Note.
type Level uint8

// Note levels.
const (
	LevelDebug Level = iota
	LevelInfo
	LevelWarn
)

// String names the level for logs.
func (l Level) String() string {
	switch l {
	case LevelInfo:
		return "info"
	case LevelWarn:
		return "warn"
	}
	return "debug"
}

// Note is a log hint: something an operator may want to see (a peer
// misbehaving, pushes dropped, an epoch reset). Counters are in Stats.
type Note struct {
	Level  Level
	Peer   PeerID
	Event  string // a stable, snake_case event name
	Detail string
}

func (*Send) isAction()          {}
func (*Deliver) isAction()       {}
func (*PersistCursor) isAction() {}
func (*Schedule) isAction()      {}
func (*Reconcile) isAction()     {}
func (*Note) isAction()          {}
