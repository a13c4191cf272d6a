package store

import (
	"fmt"

	"github.com/ipfs/go-cid"
)

// Kind is the type of a stored record. Its numeric values are written to
// disk (store format 1): never renumber them.
type Kind uint8

// Record kinds.
const (
	KindAssertion  Kind = 1
	KindRetraction Kind = 2
	KindSighting   Kind = 3
	KindManifest   Kind = 4
	KindRoster     Kind = 5

	kindLimit = KindRoster + 1 // one past the highest kind; sizes per-kind arrays
)

func (k Kind) valid() bool { return k >= KindAssertion && k < kindLimit }

// String names the kind for logs and errors.
func (k Kind) String() string {
	switch k {
	case KindAssertion:
		return "assertion"
	case KindRetraction:
		return "retraction"
	case KindSighting:
		return "sighting"
	case KindManifest:
		return "manifest"
	case KindRoster:
		return "roster"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Entry is one record handed to Put: its encoded bytes and the index facts
// the node layer extracted from it. The store never decodes Bytes; it only
// checks that CID is the dag-cbor CID of Bytes.
type Entry struct {
	CID   cid.Cid // record CID: CIDv1, dag-cbor codec, multihash of Bytes
	Bytes []byte  // the encoded record
	Kind  Kind
	// Indicator is the indicator CID (raw codec) for assertions and
	// sightings; cid.Undef for every other kind.
	Indicator cid.Cid
	// Origin is the agency that issued the record ("" when not applicable).
	// At most 255 bytes.
	Origin string
	// Seq is the record's per-origin sequence number, 0 if none. All records
	// of one origin that carry a Seq share one sequence space: two different
	// records with the same (Origin, Seq) are refused with ErrConflict.
	Seq uint64
	// Expires is when the record stops being valid, in unix seconds; 0 means
	// never. Records with Expires set are listed by ExpiredBefore.
	Expires int64
	// Target is, for a retraction, the assertion it withdraws (required);
	// for a sighting, optionally the assertion it was matched against;
	// cid.Undef for every other kind.
	Target cid.Cid
	// Placement is opaque evidence the node keeps with the record so that
	// it can serve it alone later (for a batch-signed record: its
	// manifest's CID, its position and Merkle audit path). At most
	// MaxPlacement bytes; stored with the record, erased with it.
	Placement []byte
}

// MaxPlacement bounds Entry.Placement.
const MaxPlacement = 4096

// LogEntry is one position of the node's local log.
type LogEntry struct {
	Index uint64
	// CID is the record logged at Index; cid.Undef if it has been erased.
	CID  cid.Cid
	Kind Kind
	// Erased reports a tombstone: the record was erased and its CID dropped.
	// Feed readers skip it but still advance their cursor past it.
	Erased bool
}

// Stats summarises the store's contents.
type Stats struct {
	Records   map[Kind]uint64 // live records per kind
	LogLength uint64          // entries in the local log, tombstones included
	Erased    uint64          // log tombstones (records erased)
	DiskBytes uint64          // bytes Pebble uses on disk
}
