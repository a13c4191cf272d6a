package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/node/store"
	"github.com/vigie-project/vigie/policy"
	"github.com/vigie-project/vigie/protocol/record"
)

// ErrRejected means a received batch failed verification; nothing of it was
// stored. The message says why, so the sending peer can be held to account.
var ErrRejected = errors.New("node: received batch rejected")

// Ingest verifies a signed batch received from the federation and stores
// it durably: the origin must be a roster member signing with the key the
// roster names, the manifest signature must verify (one hybrid verification
// for the whole batch), every record must be in the Merkle tree it signs and
// must decode and validate in full. With WithPolicy, the Cedar "accept"
// decision must allow this agency to receive every assertion of a batch
// from another origin, as it must for a delivery by sync: a batch carried
// offline (vigie import) comes by no path the sender's "share" decision
// guarded. A refusal fails with an error wrapping ErrNotPermitted that
// names the record and the bars, is reported as a "policy_decision" audit
// event and is counted as a policy violation (SyncCounters). Either the
// whole batch is stored or none of it. Records already held are not stored
// twice.
func (n *Node) Ingest(ctx context.Context, b *record.Batch) ([]cid.Cid, error) {
	pub, err := n.Roster().SignerKey(b.Manifest.Origin, b.Manifest.KeyID)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRejected, err)
	}
	cids, err := record.VerifyBatch(&b.Manifest, b.Records, pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRejected, err)
	}
	entries := make([]store.Entry, 0, len(b.Records)+1)
	facts := make([]*RecordFacts, 0, cap(entries))
	for i, raw := range b.Records {
		e, f, err := decodeEntry(raw, cids[i])
		if err != nil {
			return nil, fmt.Errorf("%w: record %d (%s): %v", ErrRejected, i, cids[i], err)
		}
		entries, facts = append(entries, e), append(facts, f)
	}
	if err := n.policyAcceptBatch(ctx, b.Manifest.Origin, cids, facts); err != nil {
		return nil, err
	}
	manifest, err := b.Manifest.Encode()
	if err != nil {
		return nil, fmt.Errorf("%w: manifest: %v", ErrRejected, err)
	}
	mc := record.CIDOf(manifest)
	if err := placeBatch(entries, mc, b.Records); err != nil {
		return nil, err
	}
	entries, facts = append(entries, store.Entry{CID: mc, Bytes: manifest, Kind: store.KindManifest, Origin: b.Manifest.Origin.String()}), append(facts, nil)
	indexes, err := n.store.Append(ctx, entries)
	if err != nil {
		return nil, fmt.Errorf("node: storing received batch: %w", err)
	}
	n.collected(ctx, b.Manifest.Origin.String(), entries, facts, indexes)
	n.announce(bundlesOf(entries, facts, indexes))
	return cids, nil
}

// policyAcceptBatch asks the Cedar "accept" decision for this agency
// receiving, from the batch's origin, each assertion of the batch (CIDs
// cids, facts facts): a batch of this agency's own records is not
// re-checked, and without a bundle only the baseline applies. The first
// assertion not allowed (deny or indeterminate) refuses the batch; its
// decision is reported and counted. The decisions are not cached: a
// refusal must name its bars every time, and imports are rare.
func (n *Node) policyAcceptBatch(ctx context.Context, origin record.Agency, cids []cid.Cid, facts []*RecordFacts) error {
	if origin == n.agency {
		return nil
	}
	// The baseline binds with or without a bundle: an origin's TLP:RED
	// record may not reach another member by any path.
	for i, f := range facts {
		if !MayHold(origin, n.agency, f) {
			n.syncing.violations.Add(1)
			return fmt.Errorf("%w: %s may not hold record %s (%s of %s): the federation baseline keeps it with its origin (TLP:RED)",
				ErrNotPermitted, n.agency, cids[i], f.Kind, origin)
		}
	}
	b := n.Policy()
	if b == nil {
		return nil
	}
	now := n.now()
	for i, f := range facts {
		if f.Kind != store.KindAssertion {
			continue
		}
		req := n.policyRequest("accept", n.agency, origin.Country, n.agency.Country, f, now, "")
		d := b.Decide(req)
		if d.Decision == policy.Allow {
			continue
		}
		n.auditEvent(ctx, policyDecisionEvent(req, d, cids[i], origin, f))
		n.syncing.violations.Add(1)
		return fmt.Errorf("%w: %s may not accept record %s (%s of %s): %s", ErrNotPermitted, n.agency.Country, cids[i], f.Kind, origin, refusalDetail(d))
	}
	return nil
}

// entryFor decodes a record in full and extracts the store's index facts;
// own and received records go through the same path.
func entryFor(raw []byte, c cid.Cid) (store.Entry, error) {
	e, _, err := decodeEntry(raw, c)
	return e, err
}

// decodeEntry decodes a batchable record into its store entry and the facts
// the sync policy decides on.
func decodeEntry(raw []byte, c cid.Cid) (store.Entry, *RecordFacts, error) {
	rec, err := record.Decode(raw)
	if err != nil {
		return store.Entry{}, nil, err
	}
	e := store.Entry{CID: c, Bytes: raw}
	f := &RecordFacts{}
	switch r := rec.(type) {
	case *record.Assertion:
		e.Kind, e.Indicator, e.Origin, e.Seq, e.Expires = store.KindAssertion, r.Indicator, r.Origin.String(), r.Seq, int64(r.Expires)
		f.Origin, f.TLP, f.Onward, f.Categories = r.Origin, r.TLP, r.Onward, r.Categories
		f.PAP, f.LegalStatus, f.Expr, f.Handling, f.OrderRef, f.Expires, f.Flags = r.PAP, r.LegalStatus, r.Expr, r.Handling, r.OrderRef, r.Expires, r.Flags
	case *record.Retraction:
		e.Kind, e.Target, e.Origin, e.Seq = store.KindRetraction, r.Assertion, r.Origin.String(), r.Seq
		f.Origin = r.Origin
	case *record.Sighting:
		e.Kind, e.Indicator, e.Target, e.Origin, e.Seq = store.KindSighting, r.Indicator, r.Assertion, r.Origin.String(), r.Seq
		f.Origin = r.Origin
	default:
		return store.Entry{}, nil, fmt.Errorf("a %s cannot travel in a batch", rec.Type())
	}
	f.Kind = e.Kind
	return e, f, nil
}
