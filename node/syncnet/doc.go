// Package syncnet is the production driver of node/syncengine over
// libp2p (DESIGN.md decisions 6 to 8): it feeds the sans-I/O engine its
// events, performs its actions, and carries its messages on the sync
// protocol, ProtocolID "/vigie/sync/1.0.0".
//
// # Streams
//
// One long-lived stream per peer and direction: when the host reports a
// peer up, each side opens one stream to write its messages, and reads
// the stream the other side opened. A message is one p2p frame (an
// unsigned-varint length, then the bytes) holding the binary encoding of
// wire.go, at most MaxMessageBytes; Decode enforces every limit and
// refuses anything non-canonical.
//
// A session is one period during which the engine counts a peer up. The
// engine needs one reliable, ordered stream per session, so a stream
// that fails, ends, or carries a malformed message (counted against the
// peer) is not repaired: the runner resets the session's streams, tells
// the engine the peer is down and, while the host still counts the peer
// up, starts a new session after a backoff (100 ms doubling per failure
// in a row, up to 30 s), which says Hello and feeds from the cursor. The
// peer sees its inbound stream reset, or a second inbound stream in one
// session, and does the same. Messages and SendDones of an ended session
// never reach the engine; its later sends are dropped and counted (the
// next session's feed covers them).
//
// Closing the peer's connections, so that the host reports it down and
// up, would look simpler but is not reliable: a connection that comes up
// before the host notices the old ones closed keeps the peer up, and no
// PeerDown ever comes.
//
// # Goroutines
//
// Run's goroutine alone owns the engine. The host's hooks, Announce,
// stream readers (the stream handler), one writer per session, the
// delivery worker and reconciliations post events to an unbounded queue
// and never block on it. What bounds memory is elsewhere: the engine's
// send window and queues, MaxDeliveries for deliveries, and the readers,
// which stop reading while inboundSlots of their messages wait for the
// loop, so that a fast peer is slowed by the muxer's flow control.
//
// The loop ticks the engine at every Schedule and every second. Deliver
// actions go to one worker that calls Store.Deliver in order, so that the
// engine hears each Accepted in the order its records were appended. The
// node must keep the same order for its own records: call Announce in
// log order (under the lock that serialises appends, Announce never
// blocks). A local append that slips between a Deliver and its Accepted
// only costs the engine a trip back to the feed (Stats.AnnounceGaps).
// Cursor writes are coalesced per peer; the last ones are saved at
// shutdown. Reconcile runs the Reconciler in a goroutine of its own; the
// default one, and any that fails, answers "nothing reconciled", and the
// engine feeds the peer's new epoch from its start.
//
// Run returns when its context ends, after closing every stream and
// waiting for every goroutine it started.
//
// Logs go through logrus with structured fields (peer, agency, event);
// record bytes and URLs are never logged.
package syncnet
