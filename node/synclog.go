package node

import (
	"errors"
	"fmt"

	"github.com/vigie-project/vigie/node/store"
	"github.com/vigie-project/vigie/node/syncengine"
	"github.com/vigie-project/vigie/protocol/record"
)

// SyncLog returns the node's local log as the sync engine reads it: every
// entry with its record, the record's placement as proof, its manifest and
// the facts the policy needs.
func (n *Node) SyncLog() syncengine.Log { return syncLog{n: n} }

type syncLog struct{ n *Node }

// Head reports the log's epoch and next index. A store that cannot answer
// (closing) reports an empty log: the engine then serves nothing new.
func (l syncLog) Head() (syncengine.Epoch, uint64) {
	epoch, next, err := l.n.store.LogHead()
	if err != nil {
		return syncengine.Epoch(epoch), 1
	}
	return syncengine.Epoch(epoch), next
}

// Range returns up to limit entries after index after.
func (l syncLog) Range(after uint64, limit int) ([]syncengine.Entry, error) {
	log, err := l.n.store.LogRange(after+1, limit)
	if err != nil {
		return nil, err
	}
	out := make([]syncengine.Entry, 0, len(log))
	for _, le := range log {
		en, err := l.n.logEntry(le)
		if err != nil {
			return nil, err
		}
		out = append(out, en)
	}
	return out, nil
}

// logEntry reads one log entry's record for the feed. Records that cannot
// travel (erased, or stored without a placement by an older build) are
// reported as erased: no peer is offered them, and the cursor moves past.
func (n *Node) logEntry(le store.LogEntry) (syncengine.Entry, error) {
	en := syncengine.Entry{Index: le.Index, Erased: le.Erased}
	if le.Erased {
		return en, nil
	}
	if le.Kind == store.KindManifest || le.Kind == store.KindRoster {
		en.Record.Ref = syncengine.RecordRef{CID: le.CID, Kind: le.Kind, LogIndex: le.Index}
		return en, nil
	}
	raw, _, err := n.store.Get(le.CID)
	if errors.Is(err, store.ErrNotFound) {
		en.Erased = true // erased since LogRange read the entry
		return en, nil
	}
	if err != nil {
		return en, err
	}
	e, f, err := decodeEntry(raw, le.CID)
	if err != nil {
		return en, fmt.Errorf("%w: log entry %d (%s): %v", store.ErrCorrupt, le.Index, le.CID, err)
	}
	if e.Placement, err = n.store.Placement(le.CID); err != nil {
		return en, err
	}
	man, err := n.manifestOf(e.Placement)
	if errors.Is(err, errNoPlacement) || errors.Is(err, store.ErrNotFound) {
		en.Erased = true
		return en, nil
	}
	if err != nil {
		return en, fmt.Errorf("log entry %d (%s): %w", le.Index, le.CID, err)
	}
	en.Record = syncRecord(&e, f, le.Index)
	en.Manifest = man
	return en, nil
}

// manifestOf returns the manifest a placement names, as the engine moves it.
func (n *Node) manifestOf(placement []byte) (*syncengine.Record, error) {
	if len(placement) == 0 {
		return nil, errNoPlacement
	}
	var p record.Placement
	if err := p.UnmarshalBinary(placement); err != nil {
		return nil, fmt.Errorf("%w: %v", store.ErrCorrupt, err)
	}
	m, b, err := n.loadManifest(p.Manifest)
	if err != nil {
		return nil, err
	}
	return &syncengine.Record{
		Ref:   syncengine.RecordRef{CID: p.Manifest, Kind: store.KindManifest, Origin: m.Origin.String()},
		Bytes: b,
	}, nil
}
