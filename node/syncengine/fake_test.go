package syncengine

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
)

// Test records are short text, so that the oracle can read what crosses
// the wire without trusting anything the engine or the fakes computed:
//
//	rec|kind|origin|seq|audience(hex bitmask of node numbers)|red|onward|note
//	man|origin|cid,cid,...

// facts is what the fake node extracts from a record when it stores it,
// and what fakePolicy decides on (through RecordRef.Facts).
type facts struct {
	kind     Kind
	origin   string
	seq      uint64
	audience uint64
	red      bool
	onward   bool
}

// recordSpec describes a record to create.
type recordSpec struct {
	kind     Kind
	audience uint64
	red      bool
	onward   bool
	note     string
}

func cidOf(b []byte) cid.Cid {
	mh, err := multihash.Sum(b, multihash.SHA2_256, -1)
	if err != nil {
		panic(err)
	}
	return cid.NewCidV1(cid.DagCBOR, mh)
}

func encodeRecord(origin string, seq uint64, s recordSpec) []byte {
	return fmt.Appendf(nil, "rec|%d|%s|%d|%x|%t|%t|%s", s.kind, origin, seq, s.audience, s.red, s.onward, s.note)
}

var errFake = errors.New("fake record")

// parseFacts is the fake node's decoder.
func parseFacts(b []byte) (*facts, error) {
	f := strings.Split(string(b), "|")
	if len(f) != 8 || f[0] != "rec" {
		return nil, errFake
	}
	k, err1 := strconv.ParseUint(f[1], 10, 8)
	seq, err2 := strconv.ParseUint(f[3], 10, 64)
	aud, err3 := strconv.ParseUint(f[4], 16, 64)
	red, err4 := strconv.ParseBool(f[5])
	on, err5 := strconv.ParseBool(f[6])
	if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
		return nil, err
	}
	return &facts{kind: Kind(k), origin: f[2], seq: seq, audience: aud, red: red, onward: on}, nil
}

func encodeManifest(origin string, recs []Record) []byte {
	cids := make([]string, len(recs))
	for i, r := range recs {
		cids[i] = r.Ref.CID.String()
	}
	return fmt.Appendf(nil, "man|%s|%s", origin, strings.Join(cids, ","))
}

// parseManifest returns a manifest's origin and the CIDs it covers.
func parseManifest(b []byte) (string, map[string]bool, error) {
	f := strings.Split(string(b), "|")
	if len(f) != 3 || f[0] != "man" {
		return "", nil, errFake
	}
	covers := map[string]bool{}
	for _, c := range strings.Split(f[2], ",") {
		covers[c] = true
	}
	return f[1], covers, nil
}

// newBundle signs (fakes) a batch of origin's records from seq on.
func newBundle(origin string, seq uint64, specs []recordSpec) Bundle {
	recs := make([]Record, len(specs))
	for i, s := range specs {
		b := encodeRecord(origin, seq+uint64(i), s)
		f, _ := parseFacts(b)
		recs[i] = Record{Ref: RecordRef{CID: cidOf(b), Kind: s.kind, Origin: origin, Seq: seq + uint64(i), Facts: f}, Bytes: b}
	}
	mb := encodeManifest(origin, recs)
	m := &Record{Ref: RecordRef{CID: cidOf(mb), Kind: KindManifest, Origin: origin}, Bytes: mb}
	return Bundle{Manifest: m, Records: recs}
}

// fakeStore is a node's durable store and local log, in memory. It
// survives an engine crash in the simulations, as Pebble would.
type fakeStore struct {
	epoch     Epoch
	entries   []Entry // entries[i] has Index i+1
	byCID     map[cid.Cid]uint64
	manifests map[cid.Cid]*Record
	failRange bool
}

func newFakeStore(epoch Epoch) *fakeStore {
	return &fakeStore{epoch: epoch, byCID: map[cid.Cid]uint64{}, manifests: map[cid.Cid]*Record{}}
}

func (s *fakeStore) Head() (Epoch, uint64) { return s.epoch, uint64(len(s.entries)) + 1 }

func (s *fakeStore) Range(after uint64, limit int) ([]Entry, error) {
	if s.failRange {
		return nil, errors.New("fake: range failed")
	}
	if after >= uint64(len(s.entries)) {
		return nil, nil
	}
	end := min(uint64(len(s.entries)), after+uint64(limit))
	return s.entries[after:end:end], nil
}

func (s *fakeStore) has(c cid.Cid) bool { _, ok := s.byCID[c]; return ok }

// put logs the records of b not yet held, then b's manifest if new (the
// order node.Ingest uses), and returns the refs of what it appended, with
// their local log indexes and facts.
func (s *fakeStore) put(b Bundle) []RecordRef {
	var stored []RecordRef
	man := s.manifests[b.Manifest.Ref.CID]
	newMan := man == nil
	if newMan {
		cp := *b.Manifest
		man = &cp
	}
	for _, r := range b.Records {
		if s.has(r.Ref.CID) {
			continue
		}
		f, _ := parseFacts(r.Bytes)
		r.Ref = RecordRef{CID: r.Ref.CID, Kind: f.kind, Origin: f.origin, Seq: f.seq, Facts: f}
		stored = append(stored, s.append(r, man))
	}
	if newMan && len(stored) > 0 {
		man.Ref = RecordRef{CID: man.Ref.CID, Kind: KindManifest, Origin: man.Ref.Origin}
		man.Ref.LogIndex = uint64(len(s.entries)) + 1
		s.manifests[man.Ref.CID] = man
		s.entries = append(s.entries, Entry{Index: man.Ref.LogIndex, Record: *man})
		s.byCID[man.Ref.CID] = man.Ref.LogIndex
		stored = append(stored, man.Ref)
	}
	return stored
}

func (s *fakeStore) append(r Record, man *Record) RecordRef {
	r.Ref.LogIndex = uint64(len(s.entries)) + 1
	s.entries = append(s.entries, Entry{Index: r.Ref.LogIndex, Record: r, Manifest: man})
	s.byCID[r.Ref.CID] = r.Ref.LogIndex
	return r.Ref
}

// erase turns c's log entry into a tombstone.
func (s *fakeStore) erase(c cid.Cid) {
	i, ok := s.byCID[c]
	if !ok {
		return
	}
	delete(s.byCID, c)
	s.entries[i-1] = Entry{Index: i, Erased: true}
}

// records returns the non-manifest CIDs held.
func (s *fakeStore) records() map[cid.Cid]bool {
	out := map[cid.Cid]bool{}
	for _, e := range s.entries {
		if !e.Erased && e.Record.Ref.Kind != KindManifest {
			out[e.Record.Ref.CID] = true
		}
	}
	return out
}

// commitOwn stores a new batch of the store's own origin and returns the
// LocalRecords event announcing it.
func (s *fakeStore) commitOwn(origin string, seq uint64, specs []recordSpec) LocalRecords {
	b := newBundle(origin, seq, specs)
	s.put(b)
	// Announce the stored copies, which carry the local indexes.
	out := Bundle{Manifest: s.manifests[b.Manifest.Ref.CID], Records: make([]Record, len(b.Records))}
	for i, r := range b.Records {
		out.Records[i] = s.entries[s.byCID[r.Ref.CID]-1].Record
	}
	return LocalRecords{Bundles: []Bundle{out}}
}

// verify is the fake node's check of a delivered bundle: the manifest and
// every record hash to their CIDs, the manifest covers every record, and
// every record is the manifest origin's.
func verify(b Bundle) error {
	if b.Manifest == nil || cidOf(b.Manifest.Bytes) != b.Manifest.Ref.CID {
		return errors.New("bad manifest")
	}
	origin, covers, err := parseManifest(b.Manifest.Bytes)
	if err != nil {
		return err
	}
	for _, r := range b.Records {
		if cidOf(r.Bytes) != r.Ref.CID || !covers[r.Ref.CID.String()] {
			return errors.New("record not covered")
		}
		f, err := parseFacts(r.Bytes)
		if err != nil || f.origin != origin {
			return errors.New("record of another origin")
		}
	}
	return nil
}

// fakePolicy is the federation baseline in miniature: a record goes to a
// node of its audience, never if it is RED, and a third party's record
// only with onward-transfer consent. Manifests carry no facts and may go
// wherever one of their records goes.
type fakePolicy struct {
	origin string
	index  map[PeerID]int // node number of each peer
	refuse map[string]bool
}

func (p *fakePolicy) MayShare(to PeerID, rec *Record) bool {
	if rec.Ref.Kind == KindManifest {
		return true
	}
	f, ok := rec.Ref.Facts.(*facts)
	i, known := p.index[to]
	if !ok || !known {
		return false
	}
	return !f.red && f.audience&(1<<i) != 0 && (f.origin == p.origin || f.onward)
}

func (p *fakePolicy) MayAccept(from PeerID, rec *Record) bool {
	return !p.refuse[rec.Ref.Origin]
}

// permitAll is a broken policy, for checking that the oracle notices.
type permitAll struct{}

func (permitAll) MayShare(PeerID, *Record) bool  { return true }
func (permitAll) MayAccept(PeerID, *Record) bool { return true }
