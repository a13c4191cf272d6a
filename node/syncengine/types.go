package syncengine

import (
	"encoding/hex"

	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/node/store"
)

// PeerID names a federation peer as the adapter knows it (for libp2p, the
// peer ID's string form). The engine only compares and sorts peer IDs.
type PeerID string

// Epoch identifies one incarnation of a node's local log. A log that is
// rebuilt (a store restored from an old backup, or recreated) gets a new
// epoch, and cursors into the old one mean nothing. The zero Epoch means
// "no epoch yet": a peer that has never fed from us.
type Epoch [16]byte

// IsZero reports whether e is the zero epoch.
func (e Epoch) IsZero() bool { return e == Epoch{} }

// String is a short hex form for logs and traces.
func (e Epoch) String() string { return hex.EncodeToString(e[:4]) }

// Kind is the type of a record: the store's kinds, so the node passes them
// through unchanged.
type Kind = store.Kind

// Record kinds.
const (
	KindAssertion  = store.KindAssertion
	KindRetraction = store.KindRetraction
	KindSighting   = store.KindSighting
	KindManifest   = store.KindManifest
	KindRoster     = store.KindRoster
)

// RecordRef is what the engine knows about a record without decoding it.
// The node fills it in from facts it has already checked (for local and
// stored records) or from what a peer claimed (for records on the wire,
// which the node re-derives when it verifies them).
type RecordRef struct {
	CID    cid.Cid
	Kind   Kind
	Origin string // the agency that issued the record
	Seq    uint64 // the record's per-origin sequence number; 0 if none
	// LogIndex is the record's position in the local log of the node that
	// holds this ref: ours for records we announce or read from our Log,
	// the sender's for records received (useful only for tracing there).
	// 0 means "not in a log" (a manifest already held, for instance).
	LogIndex uint64
	// Facts is whatever the node's Policy needs to decide about the record
	// (TLP, onward-transfer consent, ...), extracted once when the node
	// stored it, so that a decision per destination costs no decoding. The
	// engine never reads it and never sends it; records received from the
	// wire carry nil Facts until the node has verified them.
	Facts any
}

// Record is a record as the engine moves it: its ref and its encoded
// bytes, which the engine never decodes.
type Record struct {
	Ref   RecordRef
	Bytes []byte
	// Proof is opaque evidence the node attaches so that a receiver can
	// verify the record without the rest of its signed batch (an inclusion
	// proof against the manifest's Merkle root). Per-destination filtering
	// and message size limits split batches, so a record may arrive without
	// its batch-mates.
	Proof []byte
}

// Bundle is the unit the engine sends and delivers: a signed batch
// manifest with (some of) the records it covers, in the order given. A
// record never travels without the manifest that covers it, so that the
// receiver can verify it; a manifest never travels without at least one
// record, so that it reveals nothing about records the destination may not
// have. Manifest is nil for records that are not batch-signed (a roster).
//
// Bundles, their records and their byte slices are shared, never copied,
// between the events that bring them in and the actions that carry them
// out: neither the engine nor its caller may modify them once handed over.
type Bundle struct {
	Manifest *Record
	Records  []Record
}

// hasRetraction reports whether b must travel with retraction priority.
func (b *Bundle) hasRetraction() bool {
	for i := range b.Records {
		if b.Records[i].Ref.Kind == KindRetraction {
			return true
		}
	}
	return false
}

// size is the payload size of b in bytes, used for message budgets.
func (b *Bundle) size() int {
	n := 0
	if b.Manifest != nil {
		n += len(b.Manifest.Bytes)
	}
	for i := range b.Records {
		n += len(b.Records[i].Bytes) + len(b.Records[i].Proof)
	}
	return n
}

// minIndex is the lowest local log index in b, 0 if none; it is how the
// sender knows which part of its log a queued bundle still holds back.
func (b *Bundle) minIndex() uint64 {
	var m uint64
	take := func(i uint64) {
		if i != 0 && (m == 0 || i < m) {
			m = i
		}
	}
	if b.Manifest != nil {
		take(b.Manifest.Ref.LogIndex)
	}
	for i := range b.Records {
		take(b.Records[i].Ref.LogIndex)
	}
	return m
}

// Cursor is a receiver's position in one peer's local log: every entry up
// to and including After, in that epoch, that the receiver may hold has
// been stored by the receiver (or was deliberately skipped, see doc.go).
type Cursor struct {
	Epoch Epoch
	After uint64
}

// PeerCursor is a persisted cursor as the adapter hands it back to New.
type PeerCursor struct {
	Peer   PeerID
	Cursor Cursor
}

// DeliveryID names one Deliver action so that the node's answer (Accepted
// or Rejected) can be matched to it. IDs increase within one Engine.
type DeliveryID uint64

// Priority orders sends to one peer. The engine already sends in priority
// order; the adapter may use it to pick a stream or a QoS class.
type Priority uint8

// Priorities.
const (
	PriorityNormal Priority = iota
	PriorityHigh            // carries a retraction
)

// String names the priority for traces.
func (p Priority) String() string {
	if p == PriorityHigh {
		return "high"
	}
	return "normal"
}
