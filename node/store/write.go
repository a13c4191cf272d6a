package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ipfs/go-cid"
)

// Put stores entries in one atomic Pebble batch and returns once that batch
// is fsynced: when Put returns nil, every entry is durable (see doc.go).
// added[i] reports whether entries[i] was new; a record already stored
// (same CID), or repeated earlier in entries, is neither re-written nor
// re-logged. Each new record gets the next local-log index, in entries order.
//
// Put is all or nothing: an invalid entry (ErrInvalid) or an origin
// sequence held by another record (ErrConflict) fails the whole call and
// writes nothing. Cancelling ctx stops Put before its commit, never during.
func (s *Store) Put(ctx context.Context, entries []Entry) ([]bool, error) {
	indexes, err := s.put(ctx, entries, pebble.Sync)
	if err != nil {
		return nil, err
	}
	added := make([]bool, len(indexes))
	for i, ix := range indexes {
		added[i] = ix != 0
	}
	return added, nil
}

// Append is Put returning, for each entry, the local-log index it got, or 0
// if it was already stored: what a node needs to announce its new records
// to the sync engine in log order.
func (s *Store) Append(ctx context.Context, entries []Entry) ([]uint64, error) {
	return s.put(ctx, entries, pebble.Sync)
}

// put is Put with a choice of sync; only benchmark setup and tests pass
// NoSync, to build large stores quickly.
func (s *Store) put(ctx context.Context, entries []Entry, sync *pebble.WriteOptions) ([]uint64, error) {
	for i := range entries {
		if err := entries[i].validate(); err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
	}
	err := s.acquire()
	if err != nil {
		return nil, err
	}
	defer s.release()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()

	w := s.newWriteBatch()
	defer w.close()
	if w.it, err = s.newMissIter(); err != nil {
		return nil, err
	}
	added := make([]uint64, len(entries))
	for i := range entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		index := w.logNext
		ok, err := w.add(&entries[i])
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		if ok {
			added[i] = index
		}
	}
	if w.logNext == s.logNext {
		// Nothing new. Everything visible was committed with Sync by an
		// earlier writer holding writeMu, so it is already durable.
		return added, nil
	}
	if err := w.finish(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := w.batch.Commit(sync); err != nil {
		return nil, fmt.Errorf("store: committing %d records: %w", w.logNext-s.logNext, err)
	}
	s.apply(w)
	return added, nil
}

// writeBatch accumulates one writer's changes and the in-memory state they
// will produce, applied to the Store only after a successful commit.
type writeBatch struct {
	s       *Store
	batch   *pebble.Batch
	it      *pebble.Iterator // duplicate checks (Put only); sees the DB as of the batch's start
	logNext uint64
	counts  [kindLimit]uint64
	erased  uint64
	seen    map[string]bool   // record keys touched by this batch
	seqs    map[string]string // origin-sequence key → record key, this batch
	heads   map[string]uint64 // origin → highest sequence in this batch
}

func (s *Store) newWriteBatch() *writeBatch {
	return &writeBatch{
		s: s, batch: s.db.NewBatch(),
		logNext: s.logNext, counts: s.counts, erased: s.erased,
		seen: map[string]bool{}, seqs: map[string]string{}, heads: map[string]uint64{},
	}
}

func (w *writeBatch) close() {
	if w.it != nil {
		_ = w.it.Close()
	}
	_ = w.batch.Close()
}

// add stages one new record with its log entry and index entries; it
// returns false for a record that is already stored.
func (w *writeBatch) add(e *Entry) (bool, error) {
	rk := recordKey(e.CID)
	if w.seen[string(rk)] {
		return false, nil
	}
	w.seen[string(rk)] = true
	stored, err := hasKey(w.it, rk)
	if err != nil || stored {
		return false, err
	}
	if err := w.claimSeq(e, rk); err != nil {
		return false, err
	}
	index := w.logNext
	w.logNext++
	w.counts[e.Kind]++
	b := w.batch
	_ = b.Set(rk, encodeRecordValue(e, index), nil)
	_ = b.Set(logKey(index), encodeLogValue(e.Kind, e.CID), nil)
	for _, k := range indexKeys(e.Kind, e.Expires, e.Indicator, e.Target, e.CID) {
		_ = b.Set(k, nil, nil)
	}
	if len(e.Placement) > 0 {
		_ = b.Set(placementKey(e.CID), e.Placement, nil)
	}
	if e.Seq != 0 {
		_ = b.Set(originSeqKey(e.Origin, e.Seq), cidBytes(e.CID), nil)
		w.heads[e.Origin] = max(w.heads[e.Origin], e.Seq)
	}
	return true, nil
}

// claimSeq refuses a second record for an (origin, sequence) pair, whether
// the first is stored or earlier in this batch.
func (w *writeBatch) claimSeq(e *Entry, rk []byte) error {
	if e.Seq == 0 {
		return nil
	}
	ok := originSeqKey(e.Origin, e.Seq)
	if prev, dup := w.seqs[string(ok)]; dup && prev != string(rk) {
		return fmt.Errorf("%w: origin %q sequence %d is used twice in one Put (record %s)", ErrConflict, e.Origin, e.Seq, e.CID)
	}
	w.seqs[string(ok)] = string(rk)
	head, err := w.s.cachedHead(e.Origin)
	if err != nil || e.Seq > head {
		return err // no stored record can hold a sequence above the head
	}
	held, err := w.s.getRaw(ok)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: reading origin %q sequence %d: %w", e.Origin, e.Seq, err)
	}
	other, _ := cid.Cast(held)
	return fmt.Errorf("%w: origin %q sequence %d is held by record %s; refusing record %s", ErrConflict, e.Origin, e.Seq, other, e.CID)
}

// indexKeys lists the value-less index keys of a record: the indicator,
// sighting, retraction and expiry indexes. Put and Erase both use it, so
// what one writes the other removes.
func indexKeys(kind Kind, expires int64, indicator, target, self cid.Cid) [][]byte {
	var keys [][]byte
	switch kind {
	case KindAssertion:
		keys = append(keys, pairKey(prefixIndicator, indicator, self))
	case KindSighting:
		keys = append(keys, pairKey(prefixSighting, indicator, self))
	case KindRetraction:
		keys = append(keys, pairKey(prefixRetraction, target, self))
	}
	if expires != 0 {
		keys = append(keys, expiryKey(expires, self))
	}
	return keys
}

// finish stages the meta keys: log head, counters and origin heads. Origin
// heads only ever rise (see OriginHead).
func (w *writeBatch) finish() error {
	b := w.batch
	_ = b.Set(metaKey(metaLogNextName), encodeU64(w.logNext), nil)
	_ = b.Set(metaKey(metaErasedName), encodeU64(w.erased), nil)
	for k := KindAssertion; k < kindLimit; k++ {
		if w.counts[k] != w.s.counts[k] {
			_ = b.Set(countKey(k), encodeU64(w.counts[k]), nil)
		}
	}
	for origin, seq := range w.heads {
		stored, err := w.s.cachedHead(origin)
		if err != nil {
			return err
		}
		if seq > stored {
			_ = b.Set(originHeadKey(origin), encodeU64(seq), nil)
		} else {
			delete(w.heads, origin) // apply must not lower the cache
		}
	}
	return nil
}

// cachedHead returns the origin's stored head, reading it once. The caller
// holds writeMu.
func (s *Store) cachedHead(origin string) (uint64, error) {
	if h, ok := s.heads[origin]; ok {
		return h, nil
	}
	h, err := s.getU64(originHeadKey(origin))
	if errors.Is(err, pebble.ErrNotFound) {
		h, err = 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("%w: origin %q head: %w", ErrCorrupt, origin, err)
	}
	s.heads[origin] = h
	return h, nil
}

// apply publishes a committed batch's in-memory state.
func (s *Store) apply(w *writeBatch) {
	s.logNext, s.counts, s.erased = w.logNext, w.counts, w.erased
	s.ackedNext.Store(w.logNext)
	for origin, seq := range w.heads {
		s.heads[origin] = seq
	}
}

// Erase removes the records with the given CIDs and every index entry that
// leads to them, in one batch fsynced before Erase returns. Each erased
// record's local-log entry is replaced by a tombstone that keeps its index
// and kind but drops the CID, so feed cursors stay valid and log indexes are
// never reused. CIDs not stored are ignored, which makes Erase idempotent.
//
// Retraction index entries keyed by an erased assertion are kept: they lead
// to retractions, which are still stored, and a retraction must still be
// found if the assertion ever arrives again.
func (s *Store) Erase(ctx context.Context, cids []cid.Cid) error {
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()
	s.writeMu.Lock()
	defer s.writeMu.Unlock()

	w := s.newWriteBatch()
	defer w.close()
	for _, c := range cids {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := w.erase(c); err != nil {
			return err
		}
	}
	if w.erased == s.erased {
		return nil
	}
	if err := w.finish(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := w.batch.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("store: committing erasure of %d records: %w", w.erased-s.erased, err)
	}
	s.apply(w)
	return nil
}

// erase stages the removal of one record.
func (w *writeBatch) erase(c cid.Cid) error {
	if !c.Defined() {
		return fmt.Errorf("%w: cannot erase an undefined CID", ErrInvalid)
	}
	rk := recordKey(c)
	if w.seen[string(rk)] {
		return nil
	}
	w.seen[string(rk)] = true
	v, err := w.s.getRaw(rk)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: reading record %s: %w", c, err)
	}
	h, _, err := decodeRecordValue(v)
	if err != nil {
		return fmt.Errorf("%w: record %s: %w", ErrCorrupt, c, err)
	}
	indicator, target, err := h.facts()
	if err != nil {
		return fmt.Errorf("%w: record %s: %w", ErrCorrupt, c, err)
	}
	if w.counts[h.kind] == 0 {
		return fmt.Errorf("%w: record %s is stored but the %s counter is zero", ErrCorrupt, c, h.kind)
	}
	b := w.batch
	_ = b.Delete(rk, nil)
	_ = b.Delete(placementKey(c), nil)
	_ = b.Set(logKey(h.logIndex), encodeLogTombstone(h.kind), nil)
	for _, k := range indexKeys(h.kind, h.expires, indicator, target, c) {
		_ = b.Delete(k, nil)
	}
	if h.seq != 0 {
		_ = b.Delete(originSeqKey(string(h.origin), h.seq), nil)
	}
	w.counts[h.kind]--
	w.erased++
	return nil
}
