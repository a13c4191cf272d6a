package syncengine

import (
	"slices"
	"time"
)

// peer is everything the engine knows about one roster member. Each peer
// is both a destination (out: we push to it and serve its feed) and a
// source (in: we feed from its log).
type peer struct {
	id     PeerID
	origin string
	up     bool
	out    outbound
	in     inbound
	// known holds CIDs the peer sent us, so surely holds: never relayed
	// back to it. It outlives connections: a stored record stays stored.
	known   knownSet
	invalid uint64 // bundles from this peer the node found invalid
	head    uint64 // the peer's log head, from its latest Hello
}

// outbound is our side of the connection as the peer's sender. It is
// reset with every connection: whatever was queued is covered by the feed
// the peer asks for when it reconnects.
type outbound struct {
	high, normal lane // push queues; high holds bundles with retractions
	feed         *FeedRequest
	feedRetry    time.Time // after a Log error: when to read again
	// unconfirmed lists, in send order, whether each Send not yet
	// confirmed by SendDone carries data; inflight counts the data ones,
	// which alone are held to the send window.
	unconfirmed sendLog
	inflight    int
	// fedThrough is the highest Next served to the peer on this
	// connection. The peer's chain of feed requests starts at its own
	// cursor, so every entry up to fedThrough it may have is either held by
	// it or will be asked for again: pushing it would be a duplicate.
	fedThrough uint64
	// live: we served the peer a Done batch on this connection and dropped
	// nothing for it since, so pushes can carry a cursor claim (Through).
	live bool
	// dropped: a push was dropped for the peer (queue full, or a record we
	// could not relay); it has been told by Hello to catch up.
	dropped bool
	direct  []string // origins the peer receives directly (sorted)
}

// sendLog is a FIFO of flags, one per unconfirmed Send (data or not),
// reusing its array so that steady traffic allocates nothing.
type sendLog struct {
	flags []bool
	head  int
}

func (s *sendLog) empty() bool { return s.head == len(s.flags) }

func (s *sendLog) push(data bool) {
	s.flags, s.head = compact(s.flags, s.head)
	s.flags = append(s.flags, data)
}

func (s *sendLog) pop() bool {
	f := s.flags[s.head]
	s.head++
	return f
}

// compact drops the consumed head of a FIFO kept in a slice, once it is
// worth a copy, so that a queue that never empties does not grow forever.
func compact[T any](items []T, head int) ([]T, int) {
	switch {
	case head == len(items):
		clear(items)
		return items[:0], 0
	case head >= 32 && 2*head >= len(items):
		n := copy(items, items[head:])
		clear(items[n:])
		return items[:n], 0
	}
	return items, head
}

// listed reports whether origin is in the sorted list skip.
func listed(skip []string, origin string) bool {
	_, ok := slices.BinarySearch(skip, origin)
	return ok
}

// inbound is our side as the receiver of the peer's log. The cursor and
// the chain of unacknowledged claims survive reconnections: deliveries
// acknowledged after a disconnection still advance the cursor.
type inbound struct {
	cursor Cursor // the last cursor we asked the adapter to persist
	// epoch and pos are the chain: the position in the peer's log that the
	// messages received so far cover, acknowledged or not. pos ≥ cursor.
	epoch Epoch
	pos   uint64
	fifo  []*pending // messages whose deliveries await the node, in order
	// requested: a FeedRequest is out and unanswered; reserved is its
	// Limit, counted in Engine.reserved until the answer comes.
	requested bool
	reserved  int
	// live: the peer served us a Done batch that continued our chain, so
	// its pushes' cursor claims extend the chain.
	live bool
	// resetting: the peer's log changed epoch; we wait for Reconciled.
	resetting  bool
	resetEpoch Epoch
	// notBefore delays our next FeedRequest: after a connection comes
	// up (so that the request's Skip already lists the connections that
	// come up with it), or when the node is far behind.
	notBefore time.Time
}

// feedsPending counts FeedBatches still awaiting the node.
func (in *inbound) feedsPending() int {
	n := 0
	for _, p := range in.fifo {
		if p.feed {
			n++
		}
	}
	return n
}

// pending is one received message whose bundles the node has not all
// answered yet, and the cursor position it claims (0: none).
type pending struct {
	claim       uint64
	epoch       Epoch
	outstanding int
	feed        bool
	abandoned   bool // no longer in the chain: its answers advance nothing
}

// lane is a FIFO of bundles queued for one peer. Bundles are announced in
// log order, so the front bundle holds the lowest log index still unsent;
// a lane fed out of order stops vouching for anything until it empties.
type lane struct {
	items     []Bundle
	head      int
	records   int
	lastMax   uint64 // highest log index pushed into the lane
	unordered bool
}

func (l *lane) empty() bool { return l.head == len(l.items) }

func (l *lane) push(b Bundle) {
	l.items, l.head = compact(l.items, l.head)
	if lo := b.minIndex(); lo != 0 && lo <= l.lastMax {
		l.unordered = true
	}
	for i := range b.Records {
		l.lastMax = max(l.lastMax, b.Records[i].Ref.LogIndex)
	}
	l.items = append(l.items, b)
	l.records += len(b.Records)
}

// pop removes the front bundle, reusing the backing array once empty.
func (l *lane) pop() {
	l.records -= len(l.items[l.head].Records)
	l.items[l.head] = Bundle{}
	l.head++
	if l.empty() {
		l.items, l.head, l.unordered = l.items[:0], 0, false
	}
}

// frontMin is the lowest log index still queued in the lane, 0 if none.
func (l *lane) frontMin() uint64 {
	if l.empty() {
		return 0
	}
	return l.items[l.head].minIndex()
}

// take removes up to maxRecords records and about maxBytes bytes from the
// front, splitting the front bundle if it alone is over budget (each part
// keeps the manifest). Records at or below skipThrough (already fed to the
// peer) are dropped on the way out.
func (l *lane) take(maxRecords, maxBytes int, skipThrough uint64, out []Bundle) []Bundle {
	recs, size := 0, 0
	for !l.empty() {
		b := &l.items[l.head]
		if !l.trim(b, skipThrough) {
			l.pop()
			continue
		}
		n, sz := len(b.Records), b.size()
		if recs+n <= maxRecords && size+sz <= maxBytes {
			out = append(out, *b)
			recs, size = recs+n, size+sz
			l.pop()
			continue
		}
		if len(out) > 0 {
			break
		}
		k := splitPoint(b, maxRecords, maxBytes)
		out = append(out, Bundle{Manifest: b.Manifest, Records: b.Records[:k:k]})
		b.Records = b.Records[k:]
		l.records -= k
		break
	}
	return out
}

// trim drops from b the records with 0 < LogIndex ≤ through, and reports
// whether any record is left.
func (l *lane) trim(b *Bundle, through uint64) bool {
	if through == 0 {
		return len(b.Records) > 0
	}
	keep := 0
	for i := range b.Records {
		if x := b.Records[i].Ref.LogIndex; x == 0 || x > through {
			keep++
		}
	}
	if keep == len(b.Records) {
		return keep > 0
	}
	kept := make([]Record, 0, keep)
	for _, r := range b.Records {
		if x := r.Ref.LogIndex; x == 0 || x > through {
			kept = append(kept, r)
		}
	}
	l.records -= len(b.Records) - keep
	b.Records = kept
	return keep > 0
}

// splitPoint is how many of b's records fit one message: at least one, so
// that an oversized record still travels.
func splitPoint(b *Bundle, maxRecords, maxBytes int) int {
	size := 0
	if b.Manifest != nil {
		size = len(b.Manifest.Bytes)
	}
	k := 0
	for k < len(b.Records) && k < maxRecords {
		size += len(b.Records[k].Bytes) + len(b.Records[k].Proof)
		if size > maxBytes && k > 0 {
			break
		}
		k++
	}
	return max(k, 1)
}
