package syncengine

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ipfs/go-cid"
)

// announce offers newly logged bundles to every connected peer except
// from (the peer a relayed bundle came from), then sends what the send
// windows allow. Retractions go to the high lane, so they leave first.
func (e *Engine) announce(bundles []Bundle, from *peer) {
	for i := range bundles {
		b := &bundles[i]
		if len(b.Records) == 0 {
			continue
		}
		for _, p := range e.sorted {
			if p.up && p != from {
				e.offer(p, b)
			}
		}
	}
	// Only now that every bundle sits in the lanes may pushes vouch for
	// the new indexes (see through).
	e.noteAnnounced(bundles)
	for _, p := range e.sorted {
		if p.up {
			e.flush(p)
		}
	}
}

// offer queues for p the part of b that p may receive.
func (e *Engine) offer(p *peer, b *Bundle) {
	fb, ok := e.filterFor(p, b, p.out.fedThrough)
	if !ok {
		return
	}
	l := &p.out.normal
	if fb.hasRetraction() {
		l = &p.out.high
	}
	if l.records+len(fb.Records) > e.cfg.QueueRecords {
		e.dropFor(p, len(fb.Records), "push_queue_full")
		return
	}
	l.push(fb)
	for i := range fb.Records {
		if fb.Records[i].Ref.Origin != e.cfg.Origin {
			e.stats.Relayed++
		}
	}
}

// dropFor gives up pushing something to p. Nothing is lost: p stops being
// live, so no push vouches past the gap, and Hello tells it to catch up by
// feed, whose Done answer reaches past whatever was dropped.
func (e *Engine) dropFor(p *peer, records int, why string) {
	e.stats.PushRecordsDropped += uint64(records)
	p.out.live = false
	if p.out.dropped {
		return
	}
	p.out.dropped = true
	e.note(LevelInfo, p.id, why, "peer told to catch up by feed")
	_, next := e.cfg.Log.Head()
	e.sendControl(p, &Hello{Epoch: e.epoch, Next: next})
}

// filterFor returns the part of b that p may receive: the records that
// pass mayOffer, with their manifest if policy lets it go too. It returns b
// itself, without copying, when everything passes.
func (e *Engine) filterFor(p *peer, b *Bundle, skipThrough uint64) (Bundle, bool) {
	keep := e.scratch.keep[:0]
	n := 0
	for i := range b.Records {
		r := &b.Records[i]
		ok := (r.Ref.LogIndex == 0 || r.Ref.LogIndex > skipThrough) && e.mayOffer(p, r, p.out.direct)
		keep = append(keep, ok)
		if ok {
			n++
		}
	}
	e.scratch.keep = keep
	if n == 0 {
		return Bundle{}, false
	}
	if b.Manifest != nil && !e.cfg.Policy.MayShare(p.id, b.Manifest) {
		// Records must not travel without the manifest that lets the
		// receiver verify them: withhold them all.
		e.stats.Withheld += uint64(n)
		return Bundle{}, false
	}
	if n == len(b.Records) {
		return *b, true
	}
	recs := make([]Record, 0, n)
	for i, ok := range keep {
		if ok {
			recs = append(recs, b.Records[i])
		}
	}
	return Bundle{Manifest: b.Manifest, Records: recs}, true
}

// mayOffer decides whether one record may go to p, leaving out what p
// holds already, what it gets from the record's origin directly (skip:
// origins it named), and what policy forbids. The cheap structural checks
// come first so that policy is only asked about real candidates.
func (e *Engine) mayOffer(p *peer, r *Record, skip []string) bool {
	ref := &r.Ref
	switch {
	case !ref.CID.Defined() || ref.Kind == KindManifest:
		return false // manifests travel with their records, never alone
	case p.origin != "" && ref.Origin == p.origin:
		return false // its own record: it has it
	case ref.Origin != e.cfg.Origin && listed(skip, ref.Origin):
		return false // a third party's record it gets from that party
	case p.known.has(ref.CID):
		return false // it sent us this record
	case !e.cfg.Policy.MayShare(p.id, r):
		e.stats.Withheld++
		return false
	}
	return true
}

// noteAnnounced advances announced over the log indexes of bundles. A
// gap means entries reached the log without being offered to peers, so
// no push may vouch past them: every live peer is sent back to the feed.
func (e *Engine) noteAnnounced(bundles []Bundle) {
	idx := e.scratch.indexes[:0]
	for i := range bundles {
		b := &bundles[i]
		if b.Manifest != nil && b.Manifest.Ref.LogIndex != 0 {
			idx = append(idx, b.Manifest.Ref.LogIndex)
		}
		for j := range b.Records {
			if x := b.Records[j].Ref.LogIndex; x != 0 {
				idx = append(idx, x)
			}
		}
	}
	slices.Sort(idx)
	e.scratch.indexes = idx
	gap := false
	for _, x := range idx {
		if x <= e.announced {
			continue
		}
		if x != e.announced+1 {
			gap = true
		}
		e.announced = x
	}
	if gap {
		e.markUnannounced("announce_gap")
	}
}

// markUnannounced sends every connected peer back to the feed because
// some log entries were not offered to it.
func (e *Engine) markUnannounced(why string) {
	e.stats.AnnounceGaps++
	for _, p := range e.sorted {
		if p.up {
			e.dropFor(p, 0, why)
		}
	}
}

// flush sends to p what its send window allows: retractions first, then a
// pending feed answer, then other pushes.
func (e *Engine) flush(p *peer) {
	for p.up && p.out.inflight < e.cfg.SendWindow {
		if e.sendPush(p, &p.out.high, PriorityHigh) {
			continue
		}
		if p.out.feed != nil && p.out.feedRetry.IsZero() && e.serveFeed(p) {
			continue
		}
		if e.sendPush(p, &p.out.normal, PriorityNormal) {
			continue
		}
		return
	}
}

// sendPush sends one Push from lane l, if it holds anything still needed.
func (e *Engine) sendPush(p *peer, l *lane, prio Priority) bool {
	bs := l.take(e.cfg.PushRecords, e.cfg.MessageBytes, p.out.fedThrough, e.scratch.bundles[:0])
	if len(bs) == 0 {
		return false
	}
	m := e.slab.push()
	m.Epoch, m.Bundles = e.epoch, e.slab.bundleCopy(bs)
	clear(bs)
	e.scratch.bundles = bs[:0]
	m.Through = e.through(p)
	e.stats.PushesSent++
	for i := range m.Bundles {
		e.stats.PushRecordsSent += uint64(len(m.Bundles[i].Records))
	}
	e.sendData(p, m, prio)
	return true
}

// through is the cursor claim a push to p may carry now: every entry of
// our log up to it that p may have has been sent to p on this connection.
// That holds up to fedThrough (the feed's Done covered it) and, beyond, up
// to the lowest index still queued, within what was announced: announced
// entries are either queued, sent or not for p. 0 when p is not live.
func (e *Engine) through(p *peer) uint64 {
	if !p.out.live {
		return 0
	}
	t := e.announced
	for _, l := range []*lane{&p.out.high, &p.out.normal} {
		if l.empty() {
			continue
		}
		if l.unordered {
			return p.out.fedThrough
		}
		if m := l.frontMin(); m != 0 && m-1 < t {
			t = m - 1
		}
	}
	return max(t, p.out.fedThrough)
}

func (e *Engine) onFeedRequest(p *peer, m *FeedRequest) {
	// A request means p's chain is not complete: our claims would be
	// ignored until we serve it a Done batch again.
	req := *m
	req.Skip = slices.Compact(slices.Sorted(slices.Values(m.Skip)))
	p.out.feed, p.out.live, p.out.feedRetry = &req, false, time.Time{}
	e.flush(p)
}

// serveFeed answers p's pending FeedRequest. It reports false when the
// log could not be read; the request stays and is retried after a delay.
func (e *Engine) serveFeed(p *peer) bool {
	req := p.out.feed
	epoch, next := e.cfg.Log.Head()
	if !feedable(req, epoch, next) {
		p.out.feed = nil
		e.stats.EpochResetsSent++
		e.sendControl(p, &EpochReset{Epoch: epoch, Next: next})
		return true
	}
	limit := req.Limit
	if limit <= 0 || limit > e.cfg.FeedRecords {
		limit = e.cfg.FeedRecords
	}
	bundles, last, err := e.readFeed(p, req, limit, next)
	if err != nil {
		p.out.feedRetry = e.now.Add(e.cfg.RetryDelay)
		e.note(LevelWarn, p.id, "log_read_failed", err.Error())
		return false
	}
	m := &FeedBatch{Epoch: epoch, After: req.After, Next: last, Done: last+1 >= next, Bundles: bundles}
	p.out.feed = nil
	p.out.fedThrough = max(p.out.fedThrough, last)
	if m.Done && epoch == e.epoch {
		p.out.live, p.out.dropped = true, false
	}
	prio := PriorityNormal
	if len(bundles) > 0 && bundles[0].hasRetraction() {
		prio = PriorityHigh
	}
	e.stats.FeedBatchesServed++
	for i := range bundles {
		e.stats.FeedRecordsServed += uint64(len(bundles[i].Records))
	}
	e.sendData(p, m, prio)
	return true
}

// feedable reports whether req names a position our log can answer: the
// zero epoch from the start, or our epoch below our head.
func feedable(req *FeedRequest, epoch Epoch, next uint64) bool {
	if req.Epoch.IsZero() {
		return req.After == 0
	}
	return req.Epoch == epoch && req.After < max(next, 1)
}

var errLogOrder = errors.New("syncengine: Log.Range returned entries out of order")

// readFeed collects, from the entries after after, up to limit records p
// may have, grouped into bundles by manifest, retraction bundles first. It
// returns the index of the last entry it consumed: everything up to it was
// either taken or is not for p.
func (e *Engine) readFeed(p *peer, req *FeedRequest, limit int, next uint64) ([]Bundle, uint64, error) {
	f := feedReader{e: e, p: p, limit: limit, next: next, last: req.After, skip: req.Skip}
	f.start()
	for !f.full() && f.last+1 < next {
		entries, err := e.cfg.Log.Range(f.last, min(e.cfg.FeedScan-f.scanned, 2*limit))
		if err != nil {
			return nil, 0, err
		}
		if len(entries) == 0 {
			break
		}
		if err := f.consume(entries); err != nil {
			return nil, 0, err
		}
		if f.stopped {
			break
		}
	}
	return f.finish(), f.last, nil
}

// feedReader is the state of one readFeed.
type feedReader struct {
	e       *Engine
	p       *peer
	limit   int
	next    uint64
	last    uint64
	scanned int
	records int
	size    int
	stopped bool
	skip    []string // origins the requester receives directly
	bundles []Bundle
	byMan   map[cid.Cid]int // manifest CID (Undef: none) → bundle
	verdict map[cid.Cid]bool
}

func (f *feedReader) start() {
	if f.e.scratch.manifests == nil {
		f.e.scratch.manifests = make(map[cid.Cid]int)
		f.e.scratch.verdicts = make(map[cid.Cid]bool)
	}
	f.byMan, f.verdict = f.e.scratch.manifests, f.e.scratch.verdicts
	clear(f.byMan)
	clear(f.verdict)
	f.bundles = f.e.scratch.bundles[:0]
}

func (f *feedReader) full() bool {
	return f.stopped || f.records >= f.limit || f.scanned >= f.e.cfg.FeedScan
}

// consume takes entries in order until the batch is full.
func (f *feedReader) consume(entries []Entry) error {
	for i := range entries {
		en := &entries[i]
		if en.Index <= f.last {
			return fmt.Errorf("%w: %d after %d", errLogOrder, en.Index, f.last)
		}
		if en.Index >= f.next || f.full() {
			f.stopped = true
			return nil
		}
		if f.wanted(en) && !f.add(en) {
			f.stopped = true // over the byte budget: leave it for the next batch
			return nil
		}
		f.last = en.Index
		f.scanned++
	}
	return nil
}

// wanted reports whether en's record goes to the peer.
func (f *feedReader) wanted(en *Entry) bool {
	if en.Erased || !f.e.mayOffer(f.p, &en.Record, f.skip) {
		return false
	}
	if en.Manifest == nil {
		return true
	}
	c := en.Manifest.Ref.CID
	ok, seen := f.verdict[c]
	if !seen {
		ok = c.Defined() && f.e.cfg.Policy.MayShare(f.p.id, en.Manifest)
		f.verdict[c] = ok
	}
	if !ok {
		f.e.stats.Withheld++
	}
	return ok
}

// add puts en's record in the bundle of its manifest, unless that would
// exceed the byte budget of a batch that already holds something.
func (f *feedReader) add(en *Entry) bool {
	key := cid.Undef
	if en.Manifest != nil {
		key = en.Manifest.Ref.CID
	}
	k, ok := f.byMan[key]
	grow := len(en.Record.Bytes) + len(en.Record.Proof)
	if !ok && en.Manifest != nil {
		grow += len(en.Manifest.Bytes)
	}
	if f.records > 0 && f.size+grow > f.e.cfg.MessageBytes {
		return false
	}
	if !ok {
		k = len(f.bundles)
		f.byMan[key] = k
		f.bundles = append(f.bundles, Bundle{Manifest: en.Manifest})
	}
	f.bundles[k].Records = append(f.bundles[k].Records, en.Record)
	f.records++
	f.size += grow
	return true
}

// finish returns the bundles in fresh memory, retraction bundles first
// (keeping log order otherwise), and releases the scratch buffer.
func (f *feedReader) finish() []Bundle {
	if len(f.bundles) == 0 {
		return nil
	}
	out := make([]Bundle, 0, len(f.bundles))
	for _, b := range f.bundles {
		if b.hasRetraction() {
			out = append(out, b)
		}
	}
	for _, b := range f.bundles {
		if !b.hasRetraction() {
			out = append(out, b)
		}
	}
	clear(f.bundles)
	f.e.scratch.bundles = f.bundles[:0]
	return out
}
