package node

import (
	"context"
	"fmt"
	"slices"

	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/node/store"
	"github.com/vigie-project/vigie/protocol/record"
)

// ownRecord is a record this agency originates: an assertion or a
// retraction, still without its sequence number.
type ownRecord struct {
	assertion  *record.Assertion
	retraction *record.Retraction
	draft      *draft   // for assertions: where to report the CID
	cid        *cid.Cid // for retractions: where to report the CID
}

func (r ownRecord) setSeq(s uint64) {
	if r.assertion != nil {
		r.assertion.Seq = s
		return
	}
	r.retraction.Seq = s
}

func (r ownRecord) encode() ([]byte, error) {
	if r.assertion != nil {
		return r.assertion.Encode()
	}
	return r.retraction.Encode()
}

func (r ownRecord) setCID(c cid.Cid) {
	if r.draft != nil {
		r.draft.cid = c
	}
	if r.cid != nil {
		*r.cid = c
	}
}

// commitOwn numbers, encodes, signs and durably stores records of this
// agency. The caller holds seqMu. Records and their manifests go to the
// store in one synced batch: either all are acknowledged or none.
func (n *Node) commitOwn(ctx context.Context, recs []ownRecord) error {
	if len(recs) == 0 {
		return nil
	}
	head, err := n.store.OriginHead(n.agency.String())
	if err != nil {
		return err
	}
	entries := make([]store.Entry, 0, len(recs)+len(recs)/record.MaxBatchRecords+1)
	facts := make([]*RecordFacts, 0, cap(entries))
	for chunk := range slices.Chunk(recs, record.MaxBatchRecords) {
		encoded := make([][]byte, len(chunk))
		first := len(entries)
		for i, rec := range chunk {
			head++
			rec.setSeq(head)
			if encoded[i], err = rec.encode(); err != nil {
				return fmt.Errorf("node: encoding record %d: %w", head, err)
			}
			c := record.CIDOf(encoded[i])
			rec.setCID(c)
			e, f, err := decodeEntry(encoded[i], c)
			if err != nil {
				return err
			}
			entries, facts = append(entries, e), append(facts, f)
		}
		manifest, err := n.signBatch(encoded)
		if err != nil {
			return err
		}
		if err := placeBatch(entries[first:], manifest.CID, encoded); err != nil {
			return err
		}
		entries, facts = append(entries, manifest), append(facts, nil)
	}
	indexes, err := n.store.Append(ctx, entries)
	if err != nil {
		return fmt.Errorf("node: storing: %w", err)
	}
	n.collected(ctx, "local", entries, facts, indexes)
	n.announce(bundlesOf(entries, facts, indexes))
	return nil
}

// placeBatch gives every record of a batch the placement that lets it
// travel without its batch-mates.
func placeBatch(entries []store.Entry, manifest cid.Cid, encoded [][]byte) error {
	for i, p := range record.BatchPlacements(manifest, encoded) {
		b, err := p.MarshalBinary()
		if err != nil {
			return fmt.Errorf("node: placement of record %d: %w", i, err)
		}
		entries[i].Placement = b
	}
	return nil
}

func (n *Node) signBatch(encoded [][]byte) (store.Entry, error) {
	m, err := record.SignBatch(n.signer, n.agency, encoded, uint64(n.now().Unix()))
	if err != nil {
		return store.Entry{}, fmt.Errorf("node: signing batch: %w", err)
	}
	b, err := m.Encode()
	if err != nil {
		return store.Entry{}, err
	}
	return store.Entry{CID: record.CIDOf(b), Bytes: b, Kind: store.KindManifest, Origin: n.agency.String()}, nil
}
