package syncengine

import (
	"container/heap"
	"fmt"
	"time"
)

// delivery is a Deliver awaiting the node's answer. The engine keeps its
// bundle until the node has answered for good, so that a local failure or
// a silent node is retried from memory, never from the network: the
// peer's chain just waits.
type delivery struct {
	id     DeliveryID
	from   *peer
	entry  *pending // the message it belongs to
	bundle Bundle
	// due is the next deadline: the answer's (waiting) or the retry's.
	due      time.Time
	waiting  bool
	attempts int
	slot     int // index in the timer heap
}

// maxBackoff caps the doubling of timeouts and retry delays.
const maxBackoff = 6

func backoff(base time.Duration, attempts int) time.Duration {
	return base << min(attempts, maxBackoff)
}

func (e *Engine) deliver(p *peer, entry *pending, b Bundle) {
	id := e.nextID
	e.nextID++
	d := &delivery{id: id, from: p, entry: entry, bundle: b, waiting: true, due: e.now.Add(e.cfg.DeliveryTimeout)}
	e.deliveries[id] = d
	heap.Push(&e.timers, d)
	entry.outstanding++
	e.stats.Delivered++
	e.stats.DeliveredRecords += uint64(len(b.Records))
	e.emitDeliver(d)
}

func (e *Engine) emitDeliver(d *delivery) {
	a := e.slab.deliver()
	a.Delivery, a.From, a.Bundle = d.id, d.from.id, d.bundle
	e.out = append(e.out, a)
}

// finish forgets d, answered for good.
func (e *Engine) finish(d *delivery) {
	delete(e.deliveries, d.id)
	heap.Remove(&e.timers, d.slot)
}

func (e *Engine) onAccepted(ev Accepted) {
	d := e.deliveries[ev.Delivery]
	if d != nil {
		e.finish(d)
		e.stats.Accepted++
	}
	if len(ev.Stored) > 0 {
		e.relayStored(d, ev.Stored)
	}
	if d != nil {
		e.answered(d)
	}
}

func (e *Engine) onRejected(ev Rejected) {
	d := e.deliveries[ev.Delivery]
	if d == nil || !d.waiting {
		return
	}
	p := d.from
	if ev.Invalid {
		// The sender vouched for something false: count it against it and
		// move on, since no retry can make it valid.
		e.finish(d)
		e.stats.RejectedInvalid++
		p.invalid++
		e.note(LevelWarn, p.id, "invalid_bundle", ev.Reason)
		e.answered(d)
		return
	}
	// A local failure (a store error): try the same bundle again later.
	e.stats.RejectedLocal++
	e.note(LevelWarn, p.id, "store_failed", ev.Reason)
	d.attempts++
	d.waiting, d.due = false, e.now.Add(backoff(e.cfg.RetryDelay, d.attempts-1))
	heap.Fix(&e.timers, d.slot)
}

// answered lets d's message move on in its peer's chain.
func (e *Engine) answered(d *delivery) {
	d.entry.outstanding--
	if !d.entry.abandoned {
		e.complete(d.from)
	}
	e.maybeRequest(d.from)
}

// fireDeliveryTimers re-delivers what is due: bundles whose store failed,
// after their retry delay, and bundles the node has not answered in time
// (it is slow, or lost them), with a doubled timeout each time so that a
// slow node is not buried under copies.
func (e *Engine) fireDeliveryTimers() {
	for len(e.timers) > 0 && !e.timers[0].due.After(e.now) {
		d := e.timers[0]
		if d.waiting {
			e.stats.DeliveryTimeouts++
			d.attempts++
			e.note(LevelWarn, d.from.id, "delivery_timeout", fmt.Sprintf("delivery %d unanswered, sent again", d.id))
		}
		e.stats.Redelivered++
		d.waiting, d.due = true, e.now.Add(backoff(e.cfg.DeliveryTimeout, d.attempts))
		heap.Fix(&e.timers, 0)
		e.emitDeliver(d)
	}
}

// deliveryHeap orders deliveries by deadline, then ID, so that timers fire
// in a deterministic order.
type deliveryHeap []*delivery

func (h deliveryHeap) Len() int { return len(h) }
func (h deliveryHeap) Less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].id < h[j].id
}
func (h deliveryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].slot, h[j].slot = i, j
}
func (h *deliveryHeap) Push(x any) {
	d := x.(*delivery)
	d.slot = len(*h)
	*h = append(*h, d)
}
func (h *deliveryHeap) Pop() any {
	old := *h
	d := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return d
}

// relayStored announces the entries a delivery appended to our log, so
// that they are relayed like our own records (never back to the peer they
// came from). Without the delivery (an answer for an unknown ID) the bytes
// are gone: the entries cannot be pushed, so peers go back to the feed.
func (e *Engine) relayStored(d *delivery, stored []RecordRef) {
	if d == nil {
		e.announce([]Bundle{{Records: refsOnly(stored)}}, nil)
		e.markUnannounced("stored_unknown_delivery")
		return
	}
	b := Bundle{Records: make([]Record, 0, len(stored))}
	if m := d.bundle.Manifest; m != nil {
		cp := *m
		cp.Ref.LogIndex = 0 // already held, unless Stored says otherwise
		b.Manifest = &cp
	}
	unmatched := false
	for _, s := range stored {
		if b.Manifest != nil && s.CID == b.Manifest.Ref.CID {
			b.Manifest.Ref = s
			continue
		}
		r, ok := findRecord(d.bundle.Records, s)
		if !ok {
			unmatched = true
			continue
		}
		b.Records = append(b.Records, r)
	}
	if unmatched {
		// Entries we hold no bytes for: their indexes are still announced,
		// so that live peers are sent back to the feed for them.
		b.Records = append(b.Records, refsOnly(unmatchedRefs(d.bundle, stored))...)
	}
	e.announce([]Bundle{b}, d.from)
	if unmatched {
		e.markUnannounced("stored_unknown_record")
	}
}

// findRecord returns the record of recs with ref's CID, carrying ref (our
// log index and the node's facts) instead of the sender's.
func findRecord(recs []Record, ref RecordRef) (Record, bool) {
	for _, r := range recs {
		if r.Ref.CID == ref.CID {
			r.Ref = ref
			return r, true
		}
	}
	return Record{}, false
}

// unmatchedRefs lists the stored refs that are neither b's manifest nor
// one of its records.
func unmatchedRefs(b Bundle, stored []RecordRef) []RecordRef {
	var out []RecordRef
	for _, s := range stored {
		if b.Manifest != nil && s.CID == b.Manifest.Ref.CID {
			continue
		}
		if _, ok := findRecord(b.Records, s); !ok {
			out = append(out, s)
		}
	}
	return out
}

// refsOnly wraps refs as records that carry only a log index: without a
// CID, mayOffer never lets them out; they only feed noteAnnounced.
func refsOnly(refs []RecordRef) []Record {
	out := make([]Record, len(refs))
	for i, r := range refs {
		out[i] = Record{Ref: RecordRef{LogIndex: r.LogIndex}}
	}
	return out
}
