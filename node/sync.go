package node

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/node/store"
	"github.com/vigie-project/vigie/node/syncengine"
	"github.com/vigie-project/vigie/protocol/record"
)

// RecordFacts is what the sync policy decides on, extracted once when a
// record is stored or read from the log, so that a decision per
// destination costs no decoding. It travels in syncengine.RecordRef.Facts
// and never leaves the node.
type RecordFacts struct {
	Kind       store.Kind
	Origin     record.Agency
	TLP        record.TLP           // assertions only
	Onward     record.OnwardConsent // assertions only
	Categories []record.Category    // assertions only

	// The rest is what the Cedar policy (WithPolicy) decides on, for
	// assertions only.
	PAP         record.PAP
	LegalStatus record.LegalStatus
	Expr        record.ExprKind
	Handling    record.Handling
	OrderRef    string
	Expires     uint64 // Unix seconds, 0 if none
	Flags       []record.Flag
}

// Announcer receives the bundles a node appended to its local log (its own
// records, and imported batches), in log order, after they are durable:
// the sync engine's LocalRecords.
type Announcer func([]syncengine.Bundle)

// syncState is the node's side of federation sync.
type syncState struct {
	announcer  atomic.Pointer[Announcer]
	accepted   atomic.Uint64 // records stored from peers
	rejected   atomic.Uint64 // bundles refused as invalid
	violations atomic.Uint64 // bundles a sender should never have sent us (accept re-check)
	manifests  manifestCache
}

// SyncCounters are the node's sync totals since Open.
type SyncCounters struct {
	RecordsAccepted  uint64
	BundlesRejected  uint64
	PolicyViolations uint64 // a peer sent, or an import carried, what policy should have withheld
}

// SetAnnouncer sets where the node announces records it appends to its
// log (nil: nowhere). The libp2p sync adapter sets it when it starts.
func (n *Node) SetAnnouncer(a Announcer) {
	if a == nil {
		n.syncing.announcer.Store(nil)
		return
	}
	n.syncing.announcer.Store(&a)
}

// SyncCounters returns the node's sync totals since Open.
func (n *Node) SyncCounters() SyncCounters {
	return SyncCounters{
		RecordsAccepted:  n.syncing.accepted.Load(),
		BundlesRejected:  n.syncing.rejected.Load(),
		PolicyViolations: n.syncing.violations.Load(),
	}
}

func (n *Node) announce(b []syncengine.Bundle) {
	if a := n.syncing.announcer.Load(); a != nil && len(b) > 0 {
		(*a)(b)
	}
}

// bundlesOf turns what one Append stored into announcement bundles: each
// manifest with the records before it (a batch is its records followed by
// its manifest), keeping only records that were new. facts[i] belongs to
// entries[i] (nil for manifests); indexes[i] is the log index, 0 if the
// entry was already stored.
func bundlesOf(entries []store.Entry, facts []*RecordFacts, indexes []uint64) []syncengine.Bundle {
	var out []syncengine.Bundle
	start := 0
	for i := range entries {
		if entries[i].Kind != store.KindManifest {
			continue
		}
		var recs []syncengine.Record
		for j := start; j < i; j++ {
			if indexes[j] != 0 {
				recs = append(recs, syncRecord(&entries[j], facts[j], indexes[j]))
			}
		}
		if len(recs) > 0 {
			m := syncRecord(&entries[i], nil, indexes[i])
			out = append(out, syncengine.Bundle{Manifest: &m, Records: recs})
		}
		start = i + 1
	}
	return out
}

// syncRecord is a stored entry as the sync engine moves it.
func syncRecord(e *store.Entry, f *RecordFacts, index uint64) syncengine.Record {
	ref := syncengine.RecordRef{CID: e.CID, Kind: e.Kind, Origin: e.Origin, Seq: e.Seq, LogIndex: index}
	if f != nil {
		ref.Facts = f
	}
	return syncengine.Record{Ref: ref, Bytes: e.Bytes, Proof: e.Placement}
}

// manifestCache keeps recently read or verified manifests by CID: a feed
// serves many records of one batch in a row, and a receiver gets many
// bundles of one batch.
type manifestCache struct {
	mu sync.Mutex
	m  map[cid.Cid]*record.Manifest
	b  map[cid.Cid][]byte
}

const manifestCacheSize = 1024

func (c *manifestCache) get(id cid.Cid) (*record.Manifest, []byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.m[id]
	return m, c.b[id], ok
}

func (c *manifestCache) put(id cid.Cid, m *record.Manifest, b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= manifestCacheSize {
		// Dropping everything is crude but bounded, and batches arrive in
		// runs: the next few look-ups refill what matters.
		c.m, c.b = make(map[cid.Cid]*record.Manifest), make(map[cid.Cid][]byte)
	}
	c.m[id], c.b[id] = m, b
}

// SyncCursors returns the persisted feed cursors, for syncengine.Config.
func (n *Node) SyncCursors() ([]syncengine.PeerCursor, error) {
	raw, err := n.store.Cursors()
	if err != nil {
		return nil, err
	}
	out := make([]syncengine.PeerCursor, 0, len(raw))
	for peer, v := range raw {
		if len(v) != 16+8 {
			n.log.WithField("peer", peer).Warn("ignoring a malformed sync cursor; the feed from that peer restarts")
			continue
		}
		var c syncengine.Cursor
		copy(c.Epoch[:], v)
		c.After = binary.BigEndian.Uint64(v[16:])
		out = append(out, syncengine.PeerCursor{Peer: syncengine.PeerID(peer), Cursor: c})
	}
	return out, nil
}

// SaveSyncCursor persists one feed cursor.
func (n *Node) SaveSyncCursor(ctx context.Context, pc syncengine.PeerCursor) error {
	v := binary.BigEndian.AppendUint64(append([]byte(nil), pc.Cursor.Epoch[:]...), pc.Cursor.After)
	return n.store.SetCursor(ctx, string(pc.Peer), v)
}

// errNoPlacement marks a stored record that cannot travel alone.
var errNoPlacement = errors.New("record has no placement")

// loadManifest returns the manifest with CID id, from the cache or the store.
func (n *Node) loadManifest(id cid.Cid) (*record.Manifest, []byte, error) {
	if m, b, ok := n.syncing.manifests.get(id); ok {
		return m, b, nil
	}
	b, kind, err := n.store.Get(id)
	if err != nil {
		return nil, nil, err
	}
	if kind != store.KindManifest {
		return nil, nil, fmt.Errorf("%w: %s is a %s, not a manifest", store.ErrCorrupt, id, kind)
	}
	m, err := record.DecodeAs[*record.Manifest](b)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: manifest %s: %v", store.ErrCorrupt, id, err)
	}
	n.syncing.manifests.put(id, m, b)
	return m, b, nil
}
