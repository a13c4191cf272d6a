package simulations

import "github.com/vigie-project/vigie/node/syncengine"

// mayHold is the federation's baseline sharing rule (node.MayHold) over
// the simulated facts: may holder send the record to the member to?
//
//   - never to itself;
//   - retractions (and sightings) go everywhere: never withheld;
//   - a TLP:RED assertion never leaves its origin;
//   - its origin shares any other assertion with every member;
//   - a relay needs the originator's onward-transfer consent ("granted")
//     and never passes on TLP:AMBER+STRICT.
//
// broken, a test hook, lets TLP:RED through, so that the tests can show
// that the oracle (which has its own copy of the rule) catches it.
func mayHold(holder, to string, f *facts, broken bool) bool {
	if to == holder {
		return false
	}
	if f.kind != syncengine.KindAssertion {
		return true
	}
	switch {
	case f.tlp == tlpRed && !broken:
		return false
	case f.origin == holder:
		return true
	}
	return f.onward == onwardGranted && f.tlp != tlpAmberStrict
}

// policy is a simulated node's syncengine.Policy: the baseline rule, for
// roster members only.
type policy struct {
	self   string
	agency map[syncengine.PeerID]string // the roster: peer → agency
	broken bool
	cedar  *cedarLayer // nil unless Options.Cedar
}

// MayShare implements syncengine.Policy.
func (p *policy) MayShare(to syncengine.PeerID, rec *syncengine.Record) bool {
	agency, ok := p.agency[to]
	if !ok {
		return false
	}
	if rec.Ref.Kind == syncengine.KindManifest {
		return true
	}
	f, ok := rec.Ref.Facts.(*facts)
	if !ok {
		return false
	}
	return mayHold(p.self, agency, f, p.broken) && p.cedar.mayShare(p.self, agency, f)
}

// MayAccept implements syncengine.Policy: records on the wire carry only
// what the sender claims, so the engine checks kinds; the node re-checks
// the rule with the facts it verified.
func (p *policy) MayAccept(from syncengine.PeerID, rec *syncengine.Record) bool {
	if _, ok := p.agency[from]; !ok {
		return false
	}
	switch rec.Ref.Kind {
	case syncengine.KindAssertion, syncengine.KindRetraction, syncengine.KindSighting, syncengine.KindManifest:
		return true
	}
	return false
}
