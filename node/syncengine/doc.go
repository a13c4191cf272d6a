// Package syncengine is the federation sync engine of a Vigie node: a
// deterministic, sans-I/O state machine in the manner of etcd-io/raft
// (DESIGN.md decisions 7 and 8). Events go in, actions come out; the
// clock, the transport, the store and the node's verification are outside.
// The libp2p adapter drives it in production and the simulator drives the
// same code in simulations/, reproducibly from a seed.
//
// It implements layers (a) push and (b) catch-up feed of decision 7, each
// filtered per destination by a Policy. Layer (c), anti-entropy by rateless
// IBLT reconciliation (protocol/riblt), plugs in through the Reconcile
// action and the Reconciled event described below.
//
// # Contract
//
//	e, err := syncengine.New(cfg)       // cfg.Log, cfg.Policy, cfg.Origin, persisted cursors
//	for ev := range events {            // one goroutine: the engine is not safe for concurrent use
//		for _, a := range e.Step(ev) {  // perform the actions in order
//			...
//		}
//	}
//
// Step applies one event and returns the actions it calls for. The slice
// is reused by the next Step (the actions are not). The same sequence of
// events on an engine built from the same state yields the same actions:
// the engine has no clock (time comes from Tick), no randomness, and never
// lets map order reach its output (peers are kept sorted).
//
// Events: PeerUp, PeerDown, Received (a Msg from a peer), Tick,
// LocalRecords (entries the node appended to its log), Accepted and
// Rejected (the node's answers to deliveries), SendDone (flow control),
// Reconciled (end of an anti-entropy session).
//
// Actions: Send (a Msg to a peer, with a Priority), Deliver (a bundle for
// the node to verify and store), PersistCursor, Schedule (wake me with a
// Tick), Reconcile (extension point for layer c) and Note (log hints).
// Counters are read with Stats and Peer.
//
// # What travels
//
// Records are opaque bytes with a RecordRef (CID, kind, origin, sequence,
// log index, and node-private policy Facts that never leave the node). The
// unit that travels is a Bundle: a signed batch manifest with some of the
// records it covers. A record never travels without its manifest (the
// receiver could not verify it); a manifest never travels without at least
// one record (it would reveal records the destination may not have).
// Per-destination filtering and message size limits split batches, so each
// record may carry an opaque inclusion Proof supplied by the node.
//
// Messages: Hello (greeting, and "catch up" after dropped pushes), Direct
// (origins the sender receives directly), Push (new records, with an
// optional cursor claim), FeedRequest / FeedBatch (catch-up), EpochReset.
// The adapter encodes them; the engine assumes one reliable, ordered
// stream per peer.
//
// # Push (layer a)
//
// Records announced by LocalRecords (our own) or by Accepted (records we
// just stored from a peer) are offered at once to every connected peer
// that may have them. Each peer has two bounded queues: bundles holding a
// retraction go to the high one, which is always drained first, so a
// retraction is never queued behind an assertion to the same peer. At most
// SendWindow data messages are in flight per peer (SendDone frees a
// place); the rest waits in the queues, where retractions can still
// overtake. A full queue drops the push for that peer: the peer stops being
// live (below), and a Hello tells it to catch up by feed, which covers
// what was dropped. Nothing is lost, only delayed.
//
// # Catch-up feed (layer b)
//
// Each node keeps, per peer, a cursor into that peer's local log: an epoch
// and the last index covered. DirectDelay after PeerUp it asks
// FeedRequest{epoch, after, limit, skip}; the peer answers
// FeedBatch{(after, next], done} from its Log, policy-filtered, tombstones
// skipped, retraction bundles first, within FeedRecords records, FeedScan
// log entries and MessageBytes bytes. The receiver asks for the next batch
// while the node still stores the previous one (at most FeedWindow
// batches awaiting the node), and never asks for more records than it can
// hand the node (MaxDeliveries).
//
// A request in an epoch the sender's log no longer has (its store was
// rebuilt), or past its head, is answered EpochReset. The receiver then
// abandons its chain, emits Reconcile for the anti-entropy layer, and
// stops feeding from that peer until Reconciled{epoch, through} sets its
// cursor in the new epoch (through 0: feed the new epoch from its start).
// The old cursor stays persisted until then: a crash just reconciles again.
//
// The cursor only moves when the node has answered every delivery it
// covers: a message's claim waits in a FIFO behind its own deliveries and
// every earlier message's, and PersistCursor is emitted only when the FIFO
// head is fully answered. A crash loses at most unpersisted progress: the
// feed refetches, it never skips.
//
// # Cursor claims and live peers
//
// Once the sender has served a peer a Done batch on a connection, and has
// dropped nothing for it since, the peer is live: each Push carries
// Through, the highest index such that every entry of the sender's log up
// to it that the peer may have has been sent to it on this connection. The
// sender knows this because announcements arrive in log order and its
// queues are FIFO: Through stops just below the lowest index still queued,
// and never passes what was announced. A receiver whose own chain reached
// Done accepts the claim, behind the push's deliveries like any other, so
// that after a catch-up its cursor follows the live stream and the next
// reconnection feeds only what was missed: sync costs O(difference).
// An announcement that skips log indexes (entries the node did not
// announce) sends every peer back to the feed.
//
// # Relaying
//
// Third-party records we stored are relayed like our own, where policy
// permits, except to: the peer they came from; a peer that sent us the
// same CID (a bounded per-peer memory, KnownPerPeer); the record's origin
// itself; and a peer that is connected to the record's origin, which
// pushes to it directly. A node says which origins it receives directly
// in Direct messages (for pushes; a change reaches every peer after
// DirectDelay, one message each) and in each FeedRequest's Skip (for the
// feed; the first request waits DirectDelay after PeerUp so that
// connections coming up together know of each other). Without that rule
// every record would cross the federation once per pair of nodes, and a
// node back from an outage would get each missed record from every peer;
// with it, from its origin, once. A cursor thus covers "everything the
// peer may have, except its own records, records it sent us, and records
// of origins it was receiving directly". Two consequences, left to
// anti-entropy: a node whose store lost its own records does not get them
// back by feed, and a record whose origin goes away for good before a
// peer fed from it reaches that peer only by reconciliation. A policy
// under which a relay may reach a node the origin itself would not share
// with would also lose records to this rule; the federation baseline,
// where onward transfer stays within the origin's audience, never does.
//
// # Deliveries
//
// Deliver hands the node one bundle; it answers exactly once. Accepted
// lists the entries it appended to the log (with their new local index
// and Facts), which the engine then relays. Rejected{Invalid} counts a
// bad bundle against the sender and moves on (the cursor passes it:
// fetching it again cannot make it valid). A local failure
// (Rejected{Invalid: false}) is retried from memory after RetryDelay,
// doubling, and an unanswered delivery is sent again after
// DeliveryTimeout, doubling: the peer's chain waits, the peer is not asked
// again.
//
// # Invariants
//
// These hold for every sequence of events, and are what the tests check
// (an independent policy oracle on the wire, a store-based cursor check
// in the simulator, and FuzzEngine):
//
//  1. A record leaves for a peer only if Policy.MayShare allows it for
//     that peer, together with its manifest, which policy also allows.
//  2. A delivery holds only records Policy.MayAccept allows from the
//     sender, never a bare manifest.
//  3. A retraction is never queued behind an assertion to the same peer.
//  4. A persisted cursor never covers a delivery the node has not answered;
//     within an epoch it never moves back.
//  5. A push's cursor claim is true (see above); no claim before the
//     peer's feed chain reached Done on this connection.
//  6. Nothing is sent to a peer that is down; at most SendWindow data
//     messages are in flight per peer.
//  7. Same events, same actions.
//  8. Memory is bounded: QueueRecords per queue, KnownPerPeer, one
//     pending FeedRequest per peer, MaxDeliveries bundles held for the node.
//
// # What the adapter must do
//
//   - Feed events one at a time; perform actions in order; write Sends to
//     one peer in order on one reliable stream, and report one SendDone per
//     Send, in order.
//   - Report PeerUp with the roster's agency for the peer, PeerDown when
//     the connection goes, and no Received from a connection after its
//     PeerDown.
//   - Tick at (or after) every Schedule, and now and then; the first Tick
//     before anything time-dependent.
//   - Store PersistCursor durably (it may coalesce writes: losing one only
//     refetches) and pass the cursors back in Config.Cursors.
//   - Run Reconcile through the anti-entropy layer and report Reconciled.
//   - Enforce message size limits when decoding.
//
// # What the node must do
//
//   - Announce every entry it appends to the local log, in log order, once
//     its Put has returned: its own records with LocalRecords, records it
//     stored from a delivery with that delivery's Accepted; manifests
//     included (their LogIndex in Bundle.Manifest or Stored).
//   - Verify every delivered bundle (manifest signature or inclusion
//     proof, roster membership of the origin, retraction only by the
//     assertion's origin, its own accept policy) before storing, and
//     answer each Deliver once: Accepted, Rejected{Invalid}, or
//     Rejected{Invalid: false} for a local failure.
//   - Accept a retraction whose assertion it does not hold yet (a
//     retraction may overtake it), checking the origin when the assertion
//     arrives.
//   - Serve Log.Head and Log.Range only up to acknowledged entries; a
//     rebuilt log gets a new epoch, and a new Engine.
//   - Give records Facts enough for its Policy to decide without decoding.
package syncengine
