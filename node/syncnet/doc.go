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
// A session is one up period of a peer. The engine needs one reliable,
// ordered stream per session, so a stream that fails, ends, or carries a
// malformed message (counted against the peer) is not repaired: the
// runner resets the session's streams and closes every connection to the
// peer. Both hosts then report the peer down and reconnect with their
// backoff, and the next session starts over from the persisted cursors.
// Sends the engine makes in between are dropped and counted; the next
// session's feed covers them. Messages of a session that has ended are
// never reported to the engine, nor its SendDones.
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
