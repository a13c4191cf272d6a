package simulations

import (
	"fmt"
	"time"

	"github.com/vigie-project/vigie/node/syncengine"
)

// Byzantine behaviours. A byzantine member runs the real engine (it
// holds what honest peers send it, and serves its own log) and, between
// its engine's messages on the same streams, injects these:
const (
	byzForge     = "forge"     // a record in another origin's name, "signed" without its key
	byzTamper    = "tamper"    // a stored record with altered bytes under its old CID
	byzSmuggle   = "smuggle"   // another origin's record under its own, valid, manifest
	byzReplay    = "replay"    // a stored bundle sent again (a duplicate, or a relay its policy forbids)
	byzRed       = "red"       // its own TLP:RED assertion, validly signed, sent to a peer
	byzRetract   = "retract"   // a retraction of another origin's assertion
	byzFlood     = "flood"     // a burst of junk bundles
	byzOversized = "oversized" // a message over the decoder's limit
	byzMalformed = "malformed" // undecodable bytes
	byzLie       = "lie"       // a push claiming a cursor far past its log, and stray resets
)

var byzBehaviours = []string{byzForge, byzTamper, byzSmuggle, byzReplay, byzRed, byzRetract, byzFlood, byzOversized, byzMalformed, byzLie}

type adversary struct {
	s        *sim
	n        *node
	next     int
	count    uint64
	withhold bool  // drops its engine's data messages (Push, FeedBatch)
	from     int64 // active in [from, until]
	until    int64
	every    [2]time.Duration
	injected int
}

// withholds reports whether the adversary drops its engine's message m.
func (a *adversary) withholds(m syncengine.Msg) bool {
	if !a.withhold {
		return false
	}
	switch m.(type) {
	case *syncengine.Push, *syncengine.FeedBatch:
		return true
	}
	return false
}

func (a *adversary) start() {
	a.s.at(a.from, a.act)
}

func (a *adversary) act() {
	s := a.s
	if s.now > a.until {
		return
	}
	if a.n.alive {
		if dst := a.pickPeer(); dst != nil {
			a.inject(byzBehaviours[a.next%len(byzBehaviours)], dst)
			a.next++
		}
	}
	d := a.every[0] + time.Duration(s.rng.Int64N(int64(a.every[1]-a.every[0])+1))
	s.after(d, a.act)
}

// pickPeer returns a random honest peer it is connected to.
func (a *adversary) pickPeer() *node {
	s := a.s
	k := s.rng.IntN(len(s.nodes))
	for i := range s.nodes {
		m := s.nodes[(k+i)%len(s.nodes)]
		if m == a.n || !m.honest() {
			continue
		}
		if l, _ := s.link(a.n.i, m.i); l.up {
			return m
		}
	}
	return nil
}

func (a *adversary) victim() *node {
	s := a.s
	k := s.rng.IntN(len(s.nodes))
	for i := range s.nodes {
		if m := s.nodes[(k+i)%len(s.nodes)]; m.honest() {
			return m
		}
	}
	return a.n
}

// stored returns a random record it holds of another origin, and its
// manifest.
func (a *adversary) stored() (syncengine.Record, *syncengine.Record, bool) {
	st := a.n.store
	if len(st.entries) == 0 {
		return syncengine.Record{}, nil, false
	}
	k := a.s.rng.IntN(len(st.entries))
	for i := range st.entries {
		e := &st.entries[(k+i)%len(st.entries)]
		if !e.Erased && e.Manifest != nil && e.Record.Ref.Origin != a.n.origin {
			return e.Record, e.Manifest, true
		}
	}
	return syncengine.Record{}, nil, false
}

func (a *adversary) send(dst *node, m syncengine.Msg) {
	a.injected++
	a.s.transmit(a.n, dst, wire{msg: m, size: msgSize(m)}, false)
}

func (a *adversary) push(dst *node, b syncengine.Bundle) {
	a.send(dst, &syncengine.Push{Bundles: []syncengine.Bundle{b}})
}

func (a *adversary) spec(tlp string) recordSpec {
	a.count++
	return recordSpec{kind: syncengine.KindAssertion, tlp: tlp, onward: onwardGranted, indicator: fmt.Sprintf("byz-%s-%d", a.n.origin, a.count)}
}

func (a *adversary) inject(kind string, dst *node) {
	s := a.s
	key := s.keys[a.n.origin]
	seq := 1<<40 + a.count
	switch kind {
	case byzForge:
		v := a.victim()
		a.push(dst, newBundle(key, v.origin, seq, []recordSpec{a.spec(tlpGreen)}))
	case byzTamper:
		r, man, ok := a.stored()
		if !ok {
			a.inject(byzForge, dst)
			return
		}
		b := append([]byte(nil), r.Bytes...)
		b[len(b)-1] ^= 1
		r.Bytes = b
		a.push(dst, syncengine.Bundle{Manifest: man, Records: []syncengine.Record{r}})
	case byzSmuggle:
		v := a.victim()
		rb := encodeRecord(v.origin, seq, a.spec(tlpGreen))
		f, _ := parseFacts(rb)
		recs := []syncengine.Record{{Ref: syncengine.RecordRef{CID: cidOf(rb), Kind: syncengine.KindAssertion, Origin: v.origin, Seq: seq, Facts: f}, Bytes: rb}}
		mb := encodeManifest(key, a.n.origin, recs)
		man := &syncengine.Record{Ref: syncengine.RecordRef{CID: cidOf(mb), Kind: syncengine.KindManifest, Origin: a.n.origin}, Bytes: mb}
		a.push(dst, syncengine.Bundle{Manifest: man, Records: recs})
	case byzReplay:
		r, man, ok := a.stored()
		if !ok {
			return
		}
		a.push(dst, syncengine.Bundle{Manifest: man, Records: []syncengine.Record{r}})
	case byzRed:
		a.push(dst, newBundle(key, a.n.origin, seq, []recordSpec{a.spec(tlpRed)}))
	case byzRetract:
		r, _, ok := a.stored()
		if !ok || r.Ref.Kind != syncengine.KindAssertion {
			return
		}
		a.count++
		a.push(dst, newBundle(key, a.n.origin, seq, []recordSpec{{kind: syncengine.KindRetraction, target: r.Ref.CID.String(), targetOrigin: r.Ref.Origin}}))
	case byzFlood:
		for range 20 {
			junk := fmt.Appendf(nil, "junk-%s-%d-%d", a.n.origin, a.count, s.rng.Uint64())
			a.count++
			rec := syncengine.Record{Ref: syncengine.RecordRef{CID: cidOf(junk[1:]), Kind: syncengine.KindAssertion, Origin: a.n.origin}, Bytes: junk[1:]}
			man := &syncengine.Record{Ref: syncengine.RecordRef{CID: cidOf(junk), Kind: syncengine.KindManifest, Origin: a.n.origin}, Bytes: junk}
			a.push(dst, syncengine.Bundle{Manifest: man, Records: []syncengine.Record{rec}})
		}
		a.send(dst, &syncengine.Push{Bundles: []syncengine.Bundle{{Records: []syncengine.Record{{Ref: syncengine.RecordRef{Kind: syncengine.KindAssertion}}}}}})
	case byzOversized:
		a.injected++
		s.transmit(a.n, dst, wire{msg: &syncengine.Push{}, size: decodeLimit + 1}, false)
	case byzMalformed:
		a.injected++
		s.transmit(a.n, dst, wire{size: 200, garbage: true}, false)
	case byzLie:
		r, man, ok := a.stored()
		p := &syncengine.Push{Epoch: a.n.store.epoch, Through: 1 << 40}
		if ok {
			p.Bundles = []syncengine.Bundle{{Manifest: man, Records: []syncengine.Record{r}}}
		}
		a.send(dst, p)
		a.send(dst, &syncengine.EpochReset{Epoch: s.newEpoch(), Next: 1 << 30})
		a.send(dst, &syncengine.Hello{Epoch: s.newEpoch(), Next: 1 << 30})
	}
}
