package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/node/store"
	"github.com/vigie-project/vigie/node/syncengine"
	"github.com/vigie-project/vigie/protocol/record"
)

// ErrPolicyViolation marks a bundle the sender's own baseline policy should
// have withheld from us (a TLP:RED assertion, or a relay without onward
// consent), or, with WithPolicy, one holding an assertion the Cedar
// "accept" decision does not allow (deny or indeterminate). It also wraps
// ErrRejected.
var ErrPolicyViolation = errors.New("node: peer sent a record the baseline policy withholds")

// DeliverBundle verifies a bundle received from the member agency from and
// stores what is new. It checks, before storing anything: that the
// manifest is a manifest of a roster member, signed by the key the roster
// names; that every record is placed in that manifest by its proof (so it
// is the origin's, at its sequence number); that the baseline policy lets
// the sender hold it for us; and that a retraction withdraws only an
// assertion of its own origin. Any failure rejects the whole bundle with an
// error wrapping ErrRejected: nothing of it is stored. It returns the
// entries appended to the log, in log order, for the engine's Accepted.
func (n *Node) DeliverBundle(ctx context.Context, from record.Agency, b syncengine.Bundle) ([]syncengine.RecordRef, error) {
	entries, facts, err := n.verifyBundle(from, b)
	if err != nil {
		n.syncing.rejected.Add(1)
		if errors.Is(err, ErrPolicyViolation) {
			n.syncing.violations.Add(1)
		}
		return nil, err
	}
	indexes, err := n.store.Append(ctx, entries)
	if err != nil {
		return nil, fmt.Errorf("node: storing a bundle from %s: %w", from, err)
	}
	n.collected(ctx, from.String(), entries, facts, indexes)
	refs := make([]syncengine.RecordRef, 0, len(entries))
	for i := range entries {
		if indexes[i] == 0 {
			continue
		}
		rec := syncRecord(&entries[i], facts[i], indexes[i])
		refs = append(refs, rec.Ref)
		if entries[i].Kind != store.KindManifest {
			n.syncing.accepted.Add(1)
		}
	}
	return refs, nil
}

// verifyBundle checks b and returns its store entries (records, then the
// manifest) and their facts.
func (n *Node) verifyBundle(from record.Agency, b syncengine.Bundle) ([]store.Entry, []*RecordFacts, error) {
	if b.Manifest == nil || len(b.Records) == 0 {
		return nil, nil, fmt.Errorf("%w: a bundle needs a manifest and at least one record", ErrRejected)
	}
	mc, m, err := n.verifiedManifest(b.Manifest.Bytes)
	if err != nil {
		return nil, nil, err
	}
	entries := make([]store.Entry, 0, len(b.Records)+1)
	facts := make([]*RecordFacts, 0, len(b.Records)+1)
	for i := range b.Records {
		e, f, err := n.verifyPlaced(m, mc, &b.Records[i])
		if err != nil {
			return nil, nil, fmt.Errorf("%w: record %d of manifest %s from %s: %w", ErrRejected, i, mc, from, err)
		}
		if !MayHold(from, n.agency, f) {
			return nil, nil, fmt.Errorf("%w: %w: record %s (%s of %s) relayed by %s", ErrRejected, ErrPolicyViolation, e.CID, f.Kind, f.Origin, from)
		}
		if !n.policyFlow("accept", from, e.CID, f) {
			return nil, nil, fmt.Errorf("%w: %w: the policy does not let us accept record %s (%s of %s) from %s", ErrRejected, ErrPolicyViolation, e.CID, f.Kind, f.Origin, from)
		}
		entries, facts = append(entries, e), append(facts, f)
	}
	entries = append(entries, store.Entry{CID: mc, Bytes: b.Manifest.Bytes, Kind: store.KindManifest, Origin: m.Origin.String()})
	return entries, append(facts, nil), nil
}

// verifiedManifest decodes a manifest and checks its signature against the
// roster, once per manifest: a manifest already stored or cached was
// checked when it arrived.
func (n *Node) verifiedManifest(raw []byte) (cid.Cid, *record.Manifest, error) {
	if len(raw) > record.MaxRecordSize {
		return cid.Undef, nil, fmt.Errorf("%w: manifest of %d bytes", ErrRejected, len(raw))
	}
	mc := record.CIDOf(raw)
	if m, _, err := n.loadManifest(mc); err == nil {
		return mc, m, nil
	}
	m, err := record.DecodeAs[*record.Manifest](raw)
	if err != nil {
		return cid.Undef, nil, fmt.Errorf("%w: manifest: %v", ErrRejected, err)
	}
	pub, err := n.Roster().SignerKey(m.Origin, m.KeyID)
	if err != nil {
		return cid.Undef, nil, fmt.Errorf("%w: manifest %s: %v", ErrRejected, mc, err)
	}
	if err := m.VerifySignature(pub); err != nil {
		return cid.Undef, nil, fmt.Errorf("%w: manifest %s of %s: %v", ErrRejected, mc, m.Origin, err)
	}
	n.syncing.manifests.put(mc, m, raw)
	return mc, m, nil
}

// verifyPlaced checks one record against its manifest and returns its
// store entry, placement included so that this node can serve it alone
// in turn.
func (n *Node) verifyPlaced(m *record.Manifest, mc cid.Cid, r *syncengine.Record) (store.Entry, *RecordFacts, error) {
	var p record.Placement
	if err := p.UnmarshalBinary(r.Proof); err != nil {
		return store.Entry{}, nil, err
	}
	c, err := m.Places(mc, r.Bytes, &p)
	if err != nil {
		return store.Entry{}, nil, err
	}
	e, f, err := decodeEntry(r.Bytes, c)
	if err != nil {
		return store.Entry{}, nil, err
	}
	if e.Kind == store.KindRetraction {
		if err := n.checkRetractionOrigin(e.Target, f.Origin); err != nil {
			return store.Entry{}, nil, err
		}
	}
	e.Placement = r.Proof
	return e, f, nil
}

// checkRetractionOrigin refuses a retraction of an assertion we hold from
// another origin. A retraction whose assertion we do not hold yet is
// stored (retractions travel first); look-ups only ever honour a
// retraction by the assertion's own origin, so one from anyone else
// never withdraws anything.
func (n *Node) checkRetractionOrigin(target cid.Cid, origin record.Agency) error {
	raw, _, err := n.store.Get(target)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	a, err := record.DecodeAs[*record.Assertion](raw)
	if err != nil {
		return fmt.Errorf("retraction target %s is not an assertion", target)
	}
	if a.Origin != origin {
		return fmt.Errorf("%w: %s may not retract assertion %s of %s", ErrNotOrigin, origin, target, a.Origin)
	}
	return nil
}
