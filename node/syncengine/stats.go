package syncengine

// Stats are the engine's counters since New, for the adapter to export as
// metrics. Records count records, not manifests.
type Stats struct {
	PushesSent         uint64 // Push messages sent
	PushRecordsSent    uint64 // records in them
	PushRecordsDropped uint64 // records not pushed because a queue was full
	FeedBatchesServed  uint64 // FeedBatch messages sent
	FeedRecordsServed  uint64 // records in them
	EpochResetsSent    uint64 // FeedRequests answered with EpochReset
	// Withheld counts record sends that policy refused (MayShare), once
	// per record and destination; Refused counts records received that
	// policy refused (MayAccept).
	Withheld uint64
	Refused  uint64
	// Relayed counts third-party records queued for a peer.
	Relayed uint64

	FeedBatchesReceived uint64
	PushesReceived      uint64
	Delivered           uint64 // bundles handed to the node
	DeliveredRecords    uint64
	Accepted            uint64 // deliveries the node stored
	RejectedInvalid     uint64 // deliveries the node found invalid
	RejectedLocal       uint64 // deliveries the node failed to store (retried)
	DeliveryTimeouts    uint64 // deliveries unanswered in time (sent again)
	Redelivered         uint64 // Deliver actions repeated for either reason
	DeliveriesOverflow  uint64 // messages not delivered: too many awaiting the node
	CursorsPersisted    uint64
	Reconciles          uint64 // Reconcile actions (epoch resets seen)
	OutOfChain          uint64 // feed batches that did not continue our chain
	AnnounceGaps        uint64 // announcements that skipped log indexes
}

// PeerStats is the engine's view of one peer.
type PeerStats struct {
	Connected    bool
	Origin       string
	QueuedHigh   int // records queued with retraction priority
	QueuedNormal int
	InFlight     int  // sends not yet confirmed
	Live         bool // pushes to it carry cursor claims
	FeedLive     bool // its pushes to us advance our cursor
	Cursor       Cursor
	Pending      int    // its messages whose deliveries await the node
	Resetting    bool   // waiting for a reconciliation
	Invalid      uint64 // bundles from it the node found invalid
	Known        int    // CIDs remembered as held by it
}

// Stats returns the counters.
func (e *Engine) Stats() Stats { return e.stats }

// Peer returns the engine's view of one peer, and whether it knows it.
func (e *Engine) Peer(id PeerID) (PeerStats, bool) {
	p, ok := e.peers[id]
	if !ok {
		return PeerStats{}, false
	}
	return PeerStats{
		Connected:    p.up,
		Origin:       p.origin,
		QueuedHigh:   p.out.high.records,
		QueuedNormal: p.out.normal.records,
		InFlight:     p.out.inflight,
		Live:         p.out.live,
		FeedLive:     p.in.live,
		Cursor:       p.in.cursor,
		Pending:      len(p.in.fifo),
		Resetting:    p.in.resetting,
		Invalid:      p.invalid,
		Known:        p.known.len(),
	}, true
}

// Peers lists the peers the engine knows, sorted.
func (e *Engine) Peers() []PeerID {
	out := make([]PeerID, len(e.sorted))
	for i, p := range e.sorted {
		out[i] = p.id
	}
	return out
}
