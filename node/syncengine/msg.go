package syncengine

// Msg is a message between two engines. The adapter encodes and decodes
// them (the wire format belongs to protocol/, not to the engine) and must
// deliver the messages of one peer in the order they were sent, on one
// reliable stream: cursor claims rely on that order (see doc.go). Limits on
// sizes and counts are the decoder's to enforce; the engine tolerates any
// values but acts only on consistent ones.
type Msg interface{ isMsg() }

// Hello greets a peer when a connection comes up, and tells a connected
// peer to catch up after the sender had to drop pushes to it. Next is the
// sender's log head (the index its next entry will get).
type Hello struct {
	Epoch Epoch
	Next  uint64
}

// Direct lists, sorted, the origins (agencies) whose records the sender
// receives directly from them, because it is connected to them. The
// receiver does not relay those origins' records to the sender, by push or
// by feed: the origin's own push and feed cover them, and relaying would
// multiply every record by the number of peers.
type Direct struct {
	Origins []string
}

// Push carries new records as soon as they are in the sender's log. When
// Through is not 0, the sender vouches that, counting everything it sent on
// this connection since it last served the receiver a complete feed (Done),
// the receiver has been sent every entry of the sender's log (Epoch) up to
// Through that it may have; the receiver may then advance its cursor to
// Through once it has stored what it was sent.
type Push struct {
	Epoch   Epoch
	Through uint64
	Bundles []Bundle
}

// FeedRequest asks for the entries of the receiver's log after After, in
// Epoch (zero: from the start of whatever epoch the sender has). Limit
// caps the records in the answer (0: the sender's default); the sender may
// send fewer. Skip lists the origins the requester receives directly: the
// answer leaves their records out, as Direct does for pushes.
type FeedRequest struct {
	Epoch Epoch
	After uint64
	Limit int
	Skip  []string
}

// FeedBatch answers a FeedRequest: every entry in (After, Next] of the
// sender's log, in Epoch, that the receiver may have, except records of
// the origins in the request's Skip. Retractions come first. Done means
// Next was the sender's last entry when it answered.
type FeedBatch struct {
	Epoch   Epoch
	After   uint64
	Next    uint64
	Done    bool
	Bundles []Bundle
}

// EpochReset answers a FeedRequest whose epoch or cursor the sender's log
// does not have: the cursor is meaningless, and the receiver must
// reconcile (layer c) instead of feeding.
type EpochReset struct {
	Epoch Epoch
	Next  uint64
}

func (*Hello) isMsg()       {}
func (*Direct) isMsg()      {}
func (*Push) isMsg()        {}
func (*FeedRequest) isMsg() {}
func (*FeedBatch) isMsg()   {}
func (*EpochReset) isMsg()  {}
