package syncengine

import "time"

// Event is an input to Engine.Step.
type Event interface{ isEvent() }

// PeerUp reports a connection to a roster member, bound by the roster to
// the agency Origin. A PeerUp for a peer already up is a reconnection.
type PeerUp struct {
	Peer   PeerID
	Origin string
}

// PeerDown reports that the connection to Peer is gone. Messages still in
// flight on it are lost; the adapter must not report them as Received.
type PeerDown struct {
	Peer PeerID
}

// Received is a message that arrived from a connected peer.
type Received struct {
	From PeerID
	Msg  Msg
}

// Tick tells the engine the time. The engine has no clock: deadlines are
// measured from the latest Tick, so the adapter ticks at every Schedule
// and may tick more often.
type Tick struct {
	Now time.Time
}

// LocalRecords announces entries just appended to the local log by the
// node itself (records it originated, or imported), once their Put has
// returned: durable, and visible to Log.Range. Every Record and Manifest
// carries its local LogIndex. See doc.go for the ordering the adapter must
// keep between LocalRecords and Accepted.
type LocalRecords struct {
	Bundles []Bundle
}

// Accepted is the node's answer to a Deliver whose bundle it has finished
// with: every record in it is now durably stored, either just now or
// before. Stored lists the refs of entries this delivery appended to the
// local log (records and, if new, the manifest), with their new local
// LogIndex and their Facts, in log order; it announces them like
// LocalRecords, and the engine relays them where policy permits.
type Accepted struct {
	Delivery DeliveryID
	Stored   []RecordRef
}

// Rejected is the node's answer to a Deliver it did not store. Invalid
// means the bundle failed verification and never will pass (bad signature,
// origin not in the roster, retraction by another origin...): it is
// counted against the sending peer and skipped. Otherwise the failure was
// local (a store error): the engine delivers the same bundle again after
// RetryDelay (doubling each time), and the cursor waits, so nothing is
// skipped.
type Rejected struct {
	Delivery DeliveryID
	Invalid  bool
	Reason   string
}

// SendDone reports that one Send to Peer has been written to its stream.
// The adapter reports exactly one per Send, in order, except that after
// PeerDown it reports none for that connection. It is the engine's flow
// control: at most Config.SendWindow data messages are in flight per
// peer, and the rest wait in the engine's queues, where retractions can
// still overtake.
type SendDone struct {
	Peer PeerID
}

// Reconciled ends a Reconcile: the anti-entropy layer has made sure the
// node holds every record of Peer's log, in Epoch, up to Through, that it
// may hold. The engine then feeds from there. Through 0 means "nothing
// was reconciled, feed from the start of Epoch".
type Reconciled struct {
	Peer    PeerID
	Epoch   Epoch
	Through uint64
}

func (PeerUp) isEvent()       {}
func (PeerDown) isEvent()     {}
func (Received) isEvent()     {}
func (Tick) isEvent()         {}
func (LocalRecords) isEvent() {}
func (Accepted) isEvent()     {}
func (Rejected) isEvent()     {}
func (SendDone) isEvent()     {}
func (Reconciled) isEvent()   {}
