package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/node/store"
	"github.com/vigie-project/vigie/node/syncengine"
	"github.com/vigie-project/vigie/policy"
	"github.com/vigie-project/vigie/protocol/record"
)

// The node's side of anti-entropy (layer c of DESIGN.md decision 7): the
// set a node reconciles with a member, the bundles it serves for the ids a
// member found it lacks, and storing what it fetched in turn.

// MaxSyncBundleCIDs bounds one SyncBundles call.
const MaxSyncBundleCIDs = 1024

// syncSetPage is how many log entries SyncSet reads at a time.
const syncSetPage = 4096

// InSyncDomain reports whether a record with facts f belongs to the
// baseline reconciliation domain of the members a and b: the records the
// baseline lets both of them hold (sync-crypto-notes §4.1, D(A,B)). It is
// what a node without a Cedar bundle reconciles; Node.InSyncDomain narrows
// it by the bundle. It is symmetric, InSyncDomain(a, b, f) ==
// InSyncDomain(b, a, f), so that a record both members hold is in both
// sides' sets; it contains every record MayHold lets either send the
// other, and also each side's own records the other may hold but not send
// back (an origin's assertion without onward consent). Reconciling
// anything narrower, such as what each side may send, would leave those
// records as a permanent difference that every session pays for.
//
//   - retractions and sightings are in (the baseline never withholds them);
//   - a TLP:RED assertion is out (only its origin ever holds it);
//   - an assertion of a or b is in;
//   - a third party's assertion is in only with its origin's onward
//     consent and not TLP:AMBER+STRICT: otherwise neither could have it
//     by relay.
//
// Which records of the domain actually travel is still decided by MayHold,
// record by record, in SyncBundles.
func InSyncDomain(a, b record.Agency, f *RecordFacts) bool {
	if a == b {
		return false
	}
	switch f.Kind {
	case store.KindRetraction, store.KindSighting:
		return true
	case store.KindAssertion:
	default:
		return false
	}
	switch {
	case f.TLP == record.TLPRed:
		return false
	case f.Origin == a || f.Origin == b:
		return true
	}
	return f.Onward == record.OnwardGranted && f.TLP != record.TLPAmberStrict
}

// InSyncDomain reports whether the record c with facts f belongs to the
// reconciliation domain of the members a and b as this node computes it:
// the baseline domain (the package's InSyncDomain) and, when the node
// enforces a Cedar bundle (WithPolicy), for an assertion, what the bundle
// lets travel between them. With hop(s→r) meaning that the bundle allows
// s to share the record with r ("share", principal s, sender s, recipient
// r) and r to accept it from s ("accept", principal r), an assertion of
// the baseline domain is in:
//
//   - if its origin is a, iff hop(a→b); if b, iff hop(b→a): the origin is
//     the only one of the two that can have sent it to the other;
//   - if it is a third party's, iff hop(a→b) and hop(b→a);
//
// and retractions and sightings stay in, as in the baseline.
//
// Why symmetric: each member computes its set for the other alone, and a
// record both hold must be in both sets, or in neither, not to show as a
// difference in every session. So the node takes the other member's
// decisions too (its share, its accept), which it can because every member
// runs the same bundle (the one the roster names), and all decisions of
// one set on one date (SyncSet takes it once). Two members whose bundles
// or dates differ (during a roster change, or a session across midnight)
// may compute different domains: the records in only one of them show as
// differences, which cost bytes but leak nothing, as SyncBundles and the
// receiver's accept still decide every record that travels.
//
// Why both ways for a third party: the domain may not depend on which of
// the two holds the record, which neither knows before reconciling, and a
// record allowed one way only would be a permanent difference whenever the
// side that may not send it is the one holding it (its peer would ask for
// it in every session, and it would never be served). Such a record is
// outside the domain, but push and feed still carry it the way it is
// allowed: reconciliation, the backstop, just does not repair its loss.
// An origin's own assertion has one way to go, so one way suffices.
//
// An assertion of FR the bundle forbids FR to share with the US (an
// incitement-only referral, which the US may not receive under
// US-minimisation) is thus in neither FR's set for the US nor the US's set
// for FR, although the baseline domain holds it: otherwise FR's copy would
// be a difference in every session, which SyncBundles never serves.
//
// The decisions are cached with the enforcing paths' (policyFlow; not when
// c is undefined), but not reported to the audit sink: predicting a flow
// withholds nothing. An enforcing path that relies on a denial cached here
// reports it then.
func (n *Node) InSyncDomain(a, b record.Agency, c cid.Cid, f *RecordFacts) bool {
	return n.inSyncDomain(n.Policy(), a, b, c, f, dateOf(n.now()))
}

// inSyncDomain is InSyncDomain under the bundle p (nil: the baseline) on
// the date at.
func (n *Node) inSyncDomain(p *policy.Bundle, a, b record.Agency, c cid.Cid, f *RecordFacts, at decisionDate) bool {
	if !InSyncDomain(a, b, f) {
		return false
	}
	if p == nil || f.Kind != store.KindAssertion {
		return true
	}
	switch f.Origin {
	case a:
		return n.hop(p, a, b, c, f, at, false)
	case b:
		return n.hop(p, b, a, c, f, at, false)
	}
	return n.hop(p, a, b, c, f, at, false) && n.hop(p, b, a, c, f, at, false)
}

// hop reports whether the bundle p lets the member from send the
// assertion c to the member to, and to accept it, on the date at. With
// report, a refusal is reported (the caller withholds the record: see
// flowAllowed); without, the caller only predicts the flow.
func (n *Node) hop(p *policy.Bundle, from, to record.Agency, c cid.Cid, f *RecordFacts, at decisionDate, report bool) bool {
	return n.flowAllowed(p, "share", from, to, c, f, at, report) && n.flowAllowed(p, "accept", to, from, c, f, at, report)
}

// SyncSet returns the CIDs of the records (assertions, retractions and
// sightings; never manifests or rosters) the node holds in the
// reconciliation domain it shares with the member to (Node.InSyncDomain,
// all on the date SyncSet starts), in local-log order. It reads the whole
// log, decoding each record once, and skips erased entries; records
// appended meanwhile may or may not be included. The CIDs are distinct
// (the log holds each record once).
func (n *Node) SyncSet(ctx context.Context, to record.Agency) ([]cid.Cid, error) {
	p, at := n.Policy(), dateOf(n.now())
	var out []cid.Cid
	var after uint64
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		page, err := n.store.LogRange(after+1, syncSetPage)
		if err != nil {
			return nil, fmt.Errorf("node: reading the log for a sync set: %w", err)
		}
		if len(page) == 0 {
			return out, nil
		}
		for _, le := range page {
			after = le.Index
			if le.Erased || !travelling(le.Kind) {
				continue
			}
			_, f, ok, err := n.storedEntry(le.CID)
			if err != nil {
				return nil, err
			}
			if ok && n.inSyncDomain(p, n.agency, to, le.CID, f, at) {
				out = append(out, le.CID)
			}
		}
	}
}

// SyncBundles returns, for the records named by cids that the node holds
// and may send to the member to (MayShareWith: the baseline and, with
// WithPolicy, the Cedar "share" decision), bundles as the engine moves
// them: each record with its placement as proof, grouped under its
// manifest, bundles in order of their first record in cids.
// Records the node does not hold, may not send, or cannot send alone (no
// placement, manifest gone) are skipped silently, as are manifests,
// rosters and repeated CIDs. At most MaxSyncBundleCIDs CIDs per call.
func (n *Node) SyncBundles(to record.Agency, cids []cid.Cid) ([]syncengine.Bundle, error) {
	if len(cids) > MaxSyncBundleCIDs {
		return nil, fmt.Errorf("node: %d CIDs asked at once, at most %d", len(cids), MaxSyncBundleCIDs)
	}
	var out []syncengine.Bundle
	byManifest := make(map[cid.Cid]int)
	seen := make(map[cid.Cid]struct{}, len(cids))
	for _, c := range cids {
		if _, dup := seen[c]; dup {
			continue
		}
		seen[c] = struct{}{}
		e, f, ok, err := n.storedEntry(c)
		if err != nil {
			return nil, err
		}
		if !ok || !travelling(e.Kind) || !n.MayShareWith(to, c, f) {
			continue
		}
		if e.Placement, err = n.store.Placement(c); errors.Is(err, store.ErrNotFound) {
			continue // erased meanwhile
		} else if err != nil {
			return nil, err
		}
		man, err := n.manifestOf(e.Placement)
		if errors.Is(err, errNoPlacement) || errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("node: record %s: %w", c, err)
		}
		k, ok := byManifest[man.Ref.CID]
		if !ok {
			k = len(out)
			byManifest[man.Ref.CID] = k
			out = append(out, syncengine.Bundle{Manifest: man})
		}
		out[k].Records = append(out[k].Records, syncRecord(&e, f, 0))
	}
	return out, nil
}

// StoreFetched verifies and stores a bundle fetched from the member from
// outside the engine's deliveries (by anti-entropy), exactly as
// DeliverBundle does, and then announces the entries it appended to the
// log (SetAnnouncer), as the engine asks of every entry: so that they are
// relayed like a delivery's, and so that live peers' cursor claims are not
// sent back to the feed by a gap in the announced indexes. The
// announcement may reach the engine out of log order with a concurrent
// delivery's Accepted; the engine then only sends its live peers back to
// the feed, which is slower but loses nothing.
func (n *Node) StoreFetched(ctx context.Context, from record.Agency, b syncengine.Bundle) ([]syncengine.RecordRef, error) {
	refs, err := n.DeliverBundle(ctx, from, b)
	if err != nil || len(refs) == 0 {
		return refs, err
	}
	mc := record.CIDOf(b.Manifest.Bytes)
	m, _, err := n.loadManifest(mc) // verified and cached by DeliverBundle
	if err != nil {
		return refs, fmt.Errorf("node: manifest %s just stored: %w", mc, err)
	}
	n.announce([]syncengine.Bundle{announcementOf(b, mc, m.Origin.String(), refs)})
	return refs, nil
}

// announcementOf is the bundle that announces the entries stored refs
// (ours: log index and facts) of the verified bundle b, whose manifest
// mc is origin's: b's manifest and the stored records, matched by the
// CIDs of their bytes (what the sender claimed in its refs is not
// trusted). A stored ref matching none of them (it
// cannot happen: DeliverBundle stores only b's records) is announced by
// its log index alone, which the engine never sends anywhere.
func announcementOf(b syncengine.Bundle, mc cid.Cid, origin string, refs []syncengine.RecordRef) syncengine.Bundle {
	byCID := make(map[cid.Cid]int, len(b.Records))
	for i := range b.Records {
		byCID[record.CIDOf(b.Records[i].Bytes)] = i
	}
	var out syncengine.Bundle
	man := syncengine.Record{
		Ref:   syncengine.RecordRef{CID: mc, Kind: store.KindManifest, Origin: origin},
		Bytes: b.Manifest.Bytes,
	}
	out.Manifest = &man
	for _, ref := range refs {
		if ref.CID == mc {
			man.Ref = ref
			continue
		}
		i, ok := byCID[ref.CID]
		if !ok {
			out.Records = append(out.Records, syncengine.Record{Ref: syncengine.RecordRef{LogIndex: ref.LogIndex}})
			continue
		}
		out.Records = append(out.Records, syncengine.Record{Ref: ref, Bytes: b.Records[i].Bytes, Proof: b.Records[i].Proof})
	}
	return out
}

// storedEntry reads and decodes the record c: ok is false when it is not
// stored (never, or erased), or is a manifest or roster (the entry is then
// zero). A record that does not decode is store corruption.
func (n *Node) storedEntry(c cid.Cid) (store.Entry, *RecordFacts, bool, error) {
	raw, kind, err := n.store.Get(c)
	if errors.Is(err, store.ErrNotFound) {
		return store.Entry{}, nil, false, nil
	}
	if err != nil {
		return store.Entry{}, nil, false, err
	}
	if !travelling(kind) {
		return store.Entry{Kind: kind}, nil, false, nil
	}
	e, f, err := decodeEntry(raw, c)
	if err != nil {
		return store.Entry{}, nil, false, fmt.Errorf("%w: record %s: %v", store.ErrCorrupt, c, err)
	}
	return e, f, true, nil
}

// travelling reports whether records of kind k are reconciled and fetched
// one by one: assertions, retractions and sightings. Manifests travel with
// them; rosters by their own amendment protocol.
func travelling(k store.Kind) bool {
	return k == store.KindAssertion || k == store.KindRetraction || k == store.KindSighting
}
