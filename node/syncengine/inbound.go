package syncengine

import "fmt"

// maybeRequest asks p for the next part of its log when we are not caught
// up with it and nothing stands in the way.
func (e *Engine) maybeRequest(p *peer) {
	in := &p.in
	switch {
	case !p.up, in.requested, in.live, in.resetting:
		return
	case !in.notBefore.IsZero() && e.now.Before(in.notBefore):
		return // just connected, or the node is far behind: not yet
	case in.feedsPending() >= e.cfg.FeedWindow:
		return // the node is behind: wait for its answers
	}
	// Ask for no more than the node can be handed: an honest answer then
	// always fits, and a batch never has to be refused whole.
	limit := min(e.cfg.FeedRecords, e.cfg.MaxDeliveries-len(e.deliveries)-e.reserved)
	if limit <= 0 {
		in.notBefore = e.now.Add(e.cfg.RetryDelay) // far behind: look again later
		return
	}
	in.requested, in.reserved = true, limit
	e.reserved += limit
	e.sendControl(p, &FeedRequest{Epoch: in.epoch, After: in.pos, Limit: limit, Skip: e.skipFor(p)})
}

// skipFor lists the origins we receive directly, other than p's: p need
// not send us their records.
func (e *Engine) skipFor(p *peer) []string {
	var skip []string
	for _, o := range e.directSet() {
		if o != p.origin {
			skip = append(skip, o)
		}
	}
	return skip
}

// answeredRequest notes that p's FeedRequest got its answer (or never
// will), releasing the deliveries reserved for it.
func (e *Engine) answeredRequest(p *peer) {
	e.reserved -= p.in.reserved
	p.in.requested, p.in.reserved = false, 0
}

// onHello: a greeting, or the peer had to drop pushes to us. Either way
// our chain may have a gap now: catch up by feed.
func (e *Engine) onHello(p *peer, m *Hello) {
	p.head = m.Next
	p.in.live = false
	e.maybeRequest(p)
}

func (e *Engine) onFeedBatch(p *peer, m *FeedBatch) {
	in := &p.in
	e.answeredRequest(p)
	e.stats.FeedBatchesReceived++
	claim := uint64(0)
	if e.continuesChain(in, m) {
		if in.epoch.IsZero() {
			in.epoch = m.Epoch // our first feed from p: adopt its epoch
		}
		claim, in.pos = m.Next, m.Next
		in.live = m.Done
	} else {
		// Deliver it anyway (records are records), but it vouches for
		// nothing: a stale answer, or one from a confused peer.
		e.stats.OutOfChain++
		e.note(LevelDebug, p.id, "feed_batch_out_of_chain", fmt.Sprintf("after %d next %d, chain at %d", m.After, m.Next, in.pos))
	}
	e.receive(p, m.Bundles, claim, true)
	e.maybeRequest(p)
}

// continuesChain reports whether batch m extends our chain with p.
func (e *Engine) continuesChain(in *inbound, m *FeedBatch) bool {
	if in.resetting || m.Epoch.IsZero() || m.After != in.pos || m.Next < m.After {
		return false
	}
	return m.Epoch == in.epoch || (in.epoch.IsZero() && m.After == 0)
}

func (e *Engine) onPush(p *peer, m *Push) {
	in := &p.in
	e.stats.PushesReceived++
	claim := uint64(0)
	if in.live && !in.resetting && m.Through > in.pos && m.Epoch == in.epoch {
		claim, in.pos = m.Through, m.Through
	}
	e.receive(p, m.Bundles, claim, false)
}

// onEpochReset: our cursor means nothing to p's log any more. Abandon the
// chain and hand over to anti-entropy; the old cursor stays persisted until
// Reconciled, so a crash in between only reconciles again.
func (e *Engine) onEpochReset(p *peer, m *EpochReset) {
	in := &p.in
	e.answeredRequest(p)
	if in.resetting {
		return
	}
	e.abandon(p)
	in.resetting, in.resetEpoch = true, m.Epoch
	e.stats.Reconciles++
	e.note(LevelWarn, p.id, "epoch_reset", fmt.Sprintf("cursor %s/%d, peer log %s next %d: reconciling", in.cursor.Epoch, in.cursor.After, m.Epoch, m.Next))
	e.out = append(e.out, &Reconcile{Peer: p.id, Epoch: m.Epoch, Next: m.Next, Reason: "epoch_reset"})
}

func (e *Engine) onReconciled(ev Reconciled) {
	p, ok := e.peers[ev.Peer]
	if !ok || !p.in.resetting || ev.Epoch != p.in.resetEpoch || ev.Epoch.IsZero() {
		e.note(LevelDebug, ev.Peer, "reconciled_ignored", "no reconciliation under way for that epoch")
		return
	}
	in := &p.in
	in.resetting = false
	in.epoch, in.pos = ev.Epoch, ev.Through
	e.persist(p, Cursor{Epoch: ev.Epoch, After: ev.Through})
	e.maybeRequest(p)
}

// receive hands the node what p sent and may be accepted, and queues the
// message's cursor claim behind its deliveries.
func (e *Engine) receive(p *peer, bundles []Bundle, claim uint64, feed bool) {
	accepted := e.scratch.bundles[:0]
	for i := range bundles {
		if b, ok := e.acceptable(p, &bundles[i]); ok {
			accepted = append(accepted, b)
		}
	}
	defer func() {
		clear(accepted)
		e.scratch.bundles = accepted[:0]
	}()
	if len(e.deliveries)+len(accepted) > e.cfg.MaxDeliveries {
		// Too much awaits the node: deliver nothing of this message and
		// refetch later, so that its claim cannot outrun what is stored.
		e.stats.DeliveriesOverflow++
		e.note(LevelWarn, p.id, "deliveries_overflow", "node is behind; refetching later")
		e.retryLater(p)
		return
	}
	if claim == 0 && len(accepted) == 0 {
		return
	}
	if n := len(p.in.fifo); len(accepted) == 0 && n > 0 && p.in.fifo[n-1].epoch == p.in.epoch {
		// A bare claim waits for exactly what the last message waits for:
		// fold it in rather than queue it, so that claims alone (all
		// records refused, or none sent) cannot grow the queue.
		p.in.fifo[n-1].claim = max(p.in.fifo[n-1].claim, claim)
		return
	}
	entry := &pending{claim: claim, epoch: p.in.epoch, feed: feed}
	p.in.fifo = append(p.in.fifo, entry)
	for _, b := range accepted {
		e.deliver(p, entry, b)
	}
	e.complete(p)
}

// acceptable filters a received bundle through MayAccept, remembering
// that p holds every record it sent.
func (e *Engine) acceptable(p *peer, b *Bundle) (Bundle, bool) {
	if b.Manifest != nil && (!b.Manifest.Ref.CID.Defined() || !e.cfg.Policy.MayAccept(p.id, b.Manifest)) {
		e.stats.Refused += uint64(len(b.Records))
		return Bundle{}, false
	}
	keep := e.scratch.keep[:0]
	n := 0
	for i := range b.Records {
		r := &b.Records[i]
		p.known.add(r.Ref.CID)
		ok := r.Ref.CID.Defined() && r.Ref.Kind != KindManifest && e.cfg.Policy.MayAccept(p.id, r)
		keep = append(keep, ok)
		if ok {
			n++
		}
	}
	e.scratch.keep = keep
	e.stats.Refused += uint64(len(b.Records) - n)
	if n == len(b.Records) {
		return *b, n > 0
	}
	if n == 0 {
		return Bundle{}, false
	}
	recs := make([]Record, 0, n)
	for i, ok := range keep {
		if ok {
			recs = append(recs, b.Records[i])
		}
	}
	return Bundle{Manifest: b.Manifest, Records: recs}, true
}

// complete pops the answered messages at the front of p's chain and
// persists the furthest claim among them: a cursor never passes a message
// whose deliveries the node has not answered.
func (e *Engine) complete(p *peer) {
	in := &p.in
	var last *pending
	n := 0
	for n < len(in.fifo) && in.fifo[n].outstanding == 0 {
		if in.fifo[n].claim != 0 {
			last = in.fifo[n]
		}
		n++
	}
	if n == 0 {
		return
	}
	clear(in.fifo[:n])
	in.fifo = in.fifo[n:]
	if len(in.fifo) == 0 {
		in.fifo = nil
	}
	if last != nil && (last.epoch != in.cursor.Epoch || last.claim > in.cursor.After) {
		e.persist(p, Cursor{Epoch: last.epoch, After: last.claim})
	}
}

// abandon gives up p's chain of unanswered messages: their claims are
// dropped and the chain restarts from the persisted cursor. Deliveries
// still at the node complete on their own and what they store is still
// relayed; they just no longer move the cursor.
func (e *Engine) abandon(p *peer) {
	in := &p.in
	for _, m := range in.fifo {
		m.abandoned = true
	}
	in.fifo = nil
	in.epoch, in.pos = in.cursor.Epoch, in.cursor.After
	in.live = false
}

// retryLater abandons p's chain and refetches after a pause, when the node
// cannot take what p sent.
func (e *Engine) retryLater(p *peer) {
	e.abandon(p)
	p.in.notBefore = e.now.Add(e.cfg.RetryDelay)
}
