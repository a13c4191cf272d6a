package simulations

import (
	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/node/syncengine"
)

// store is a simulated node's durable store and local log, in memory. It
// survives a crash of its node (only the engine and the work in progress
// are lost), as Pebble with fsync on acknowledged writes would: a put is
// durable when it returns, which is when the node acknowledges.
type store struct {
	epoch     syncengine.Epoch
	entries   []syncengine.Entry // entries[i] has Index i+1
	byCID     map[cid.Cid]uint64
	manifests map[cid.Cid]*syncengine.Record
	own       []uint64 // log indexes of the node's own records, ascending
}

func newStore(epoch syncengine.Epoch) *store {
	return &store{epoch: epoch, byCID: map[cid.Cid]uint64{}, manifests: map[cid.Cid]*syncengine.Record{}}
}

// Head implements syncengine.Log.
func (s *store) Head() (syncengine.Epoch, uint64) { return s.epoch, uint64(len(s.entries)) + 1 }

// Range implements syncengine.Log.
func (s *store) Range(after uint64, limit int) ([]syncengine.Entry, error) {
	if after >= uint64(len(s.entries)) || limit <= 0 {
		return nil, nil
	}
	end := min(uint64(len(s.entries)), after+uint64(limit))
	return s.entries[after:end:end], nil
}

func (s *store) has(c cid.Cid) bool { _, ok := s.byCID[c]; return ok }

// get returns the record stored under c.
func (s *store) get(c cid.Cid) (*syncengine.Entry, bool) {
	i, ok := s.byCID[c]
	if !ok {
		return nil, false
	}
	return &s.entries[i-1], true
}

// put logs the records of b not yet held (with the facts the node
// extracted), then b's manifest if new, the order node.Ingest uses, and
// returns the refs of what it appended with their local log indexes.
func (s *store) put(b syncengine.Bundle, fs []*facts) []syncengine.RecordRef {
	var stored []syncengine.RecordRef
	man := s.manifests[b.Manifest.Ref.CID]
	newMan := man == nil
	if newMan {
		cp := *b.Manifest
		man = &cp
	}
	for i, r := range b.Records {
		if s.has(r.Ref.CID) {
			continue
		}
		f := fs[i]
		r.Proof = nil
		r.Ref = syncengine.RecordRef{CID: r.Ref.CID, Kind: f.kind, Origin: f.origin, Seq: f.seq, Facts: f}
		r.Ref.LogIndex = uint64(len(s.entries)) + 1
		s.entries = append(s.entries, syncengine.Entry{Index: r.Ref.LogIndex, Record: r, Manifest: man})
		s.byCID[r.Ref.CID] = r.Ref.LogIndex
		stored = append(stored, r.Ref)
	}
	if newMan && len(stored) > 0 {
		man.Ref = syncengine.RecordRef{CID: man.Ref.CID, Kind: syncengine.KindManifest, Origin: man.Ref.Origin}
		man.Ref.LogIndex = uint64(len(s.entries)) + 1
		s.manifests[man.Ref.CID] = man
		s.entries = append(s.entries, syncengine.Entry{Index: man.Ref.LogIndex, Record: *man})
		s.byCID[man.Ref.CID] = man.Ref.LogIndex
		stored = append(stored, man.Ref)
	}
	return stored
}

// commitOwn stores a new signed batch of the node's own and returns the
// LocalRecords event announcing the stored copies, which carry the local
// log indexes.
func (s *store) commitOwn(b syncengine.Bundle) syncengine.LocalRecords {
	fs := make([]*facts, len(b.Records))
	for i, r := range b.Records {
		fs[i] = r.Ref.Facts.(*facts)
	}
	s.put(b, fs)
	out := syncengine.Bundle{Manifest: s.manifests[b.Manifest.Ref.CID], Records: make([]syncengine.Record, len(b.Records))}
	for i, r := range b.Records {
		idx := s.byCID[r.Ref.CID]
		out.Records[i] = s.entries[idx-1].Record
		s.own = append(s.own, idx)
	}
	return syncengine.LocalRecords{Bundles: []syncengine.Bundle{out}}
}
