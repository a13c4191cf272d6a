package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ipfs/go-cid"
)

// Placement returns the placement stored with record c (Entry.Placement),
// nil if it was stored without one. It wraps ErrNotFound if c is not
// stored.
func (s *Store) Placement(c cid.Cid) ([]byte, error) {
	if err := s.acquire(); err != nil {
		return nil, err
	}
	defer s.release()
	v, err := s.getRaw(placementKey(c))
	if errors.Is(err, pebble.ErrNotFound) {
		if ok, herr := s.has(c); herr != nil || !ok {
			return nil, errors.Join(herr, fmt.Errorf("%w: record %s", ErrNotFound, c))
		}
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: reading the placement of %s: %w", c, err)
	}
	return v, nil
}

// has reports whether c is stored; the caller holds the store.
func (s *Store) has(c cid.Cid) (bool, error) {
	_, err := s.getRaw(recordKey(c))
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// MaxCursor bounds a cursor value.
const MaxCursor = 256

// SetCursor records the sync cursor of a peer. It is not fsynced on its
// own (the next synced write carries it): losing the latest cursor on a
// crash only makes the feed send again what the node already stores.
func (s *Store) SetCursor(ctx context.Context, peer string, value []byte) error {
	if peer == "" || len(peer) > maxFieldLen || len(value) > MaxCursor {
		return fmt.Errorf("%w: cursor for peer %q (%d bytes)", ErrInvalid, peer, len(value))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()
	if err := s.db.Set(cursorKey(peer), value, pebble.NoSync); err != nil {
		return fmt.Errorf("store: writing the cursor of %s: %w", peer, err)
	}
	return nil
}

// Cursors returns every stored sync cursor, by peer.
func (s *Store) Cursors() (map[string][]byte, error) {
	if err := s.acquire(); err != nil {
		return nil, err
	}
	defer s.release()
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixCursor}, UpperBound: prefixEnd(prefixCursor)})
	if err != nil {
		return nil, fmt.Errorf("store: opening a cursor iterator: %w", err)
	}
	defer it.Close()
	out := make(map[string][]byte)
	for valid := it.First(); valid; valid = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, fmt.Errorf("store: reading a cursor: %w", err)
		}
		out[string(it.Key()[1:])] = append([]byte(nil), v...)
	}
	return out, it.Error()
}
