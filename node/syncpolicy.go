package node

import (
	"sync"

	"github.com/vigie-project/vigie/node/store"
	"github.com/vigie-project/vigie/node/syncengine"
	"github.com/vigie-project/vigie/protocol/record"
)

// BaselinePolicy is the federation's baseline sharing rule, which every
// node applies whatever its country's policy adds (the Cedar packs plug
// into the same syncengine.Policy interface):
//
//   - an assertion marked TLP:RED never leaves the node that holds it;
//   - its origin may share any other assertion with every member;
//   - a node relays a third party's assertion only with the originator's
//     general onward-transfer consent ("granted"), and never one marked
//     TLP:AMBER+STRICT (limited to the recipient organisation);
//   - retractions and sightings go wherever their peer may hold the
//     assertion, so they are never withheld; manifests travel with the
//     records they cover.
//
// Only members of the roster are destinations at all. With WithPolicy, the
// Cedar "share" decision must allow an assertion too (Node.MayShareWith).
type BaselinePolicy struct {
	self   record.Agency
	roster func() *record.Roster
	node   *Node // for the Cedar share decision (WithPolicy)

	mu      sync.Mutex
	version uint64
	byPeer  map[syncengine.PeerID]record.Agency
}

// SyncPolicy returns the node's baseline sharing policy.
func (n *Node) SyncPolicy() *BaselinePolicy {
	return &BaselinePolicy{self: n.agency, roster: n.Roster, node: n}
}

// AgencyOf returns the member agency of a peer ID under the current roster.
func (p *BaselinePolicy) AgencyOf(peer syncengine.PeerID) (record.Agency, bool) {
	r := p.roster()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byPeer == nil || p.version != r.Version {
		p.byPeer = make(map[syncengine.PeerID]record.Agency, len(r.Members))
		for _, m := range r.Members {
			p.byPeer[syncengine.PeerID(m.PeerID)] = m.Agency
		}
		p.version = r.Version
	}
	a, ok := p.byPeer[peer]
	return a, ok
}

// MayShare implements syncengine.Policy.
func (p *BaselinePolicy) MayShare(to syncengine.PeerID, rec *syncengine.Record) bool {
	agency, ok := p.AgencyOf(to)
	if !ok {
		return false
	}
	if rec.Ref.Kind == store.KindManifest {
		return true
	}
	f, ok := rec.Ref.Facts.(*RecordFacts)
	if !ok {
		return false // not a record the node extracted facts from: never guess
	}
	if p.node != nil {
		return p.node.MayShareWith(agency, rec.Ref.CID, f)
	}
	return MayHold(p.self, agency, f)
}

// MayAccept implements syncengine.Policy. Records on the wire carry only
// what the sender claims, so the engine's check is on kinds; the node
// re-checks the baseline with the verified facts (see MayHold) when it
// verifies the delivery, and counts a mismatch as a policy violation.
func (p *BaselinePolicy) MayAccept(from syncengine.PeerID, rec *syncengine.Record) bool {
	if _, ok := p.AgencyOf(from); !ok {
		return false
	}
	switch rec.Ref.Kind {
	case store.KindAssertion, store.KindRetraction, store.KindSighting, store.KindManifest:
		return true
	}
	return false
}

// MayHold reports whether the baseline lets holder send the record with
// facts f to the member to: the rule above, as a pure function of the
// facts, so that a sender, a receiver and a test oracle all apply the same
// one.
func MayHold(holder, to record.Agency, f *RecordFacts) bool {
	if to == holder {
		return false
	}
	if f.Kind != store.KindAssertion {
		return true
	}
	switch {
	case f.TLP == record.TLPRed:
		return false
	case f.Origin == holder:
		return true
	}
	return f.Onward == record.OnwardGranted && f.TLP != record.TLPAmberStrict
}
