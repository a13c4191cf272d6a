package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ipfs/go-cid"
)

// Get returns a copy of the record's encoded bytes and its kind, or an
// error wrapping ErrNotFound.
func (s *Store) Get(c cid.Cid) ([]byte, Kind, error) {
	if err := s.acquire(); err != nil {
		return nil, 0, err
	}
	defer s.release()
	if !c.Defined() {
		return nil, 0, fmt.Errorf("%w: Get of an undefined CID", ErrInvalid)
	}
	v, closer, err := s.db.Get(recordKey(c))
	if err != nil {
		return nil, 0, readError("record", c, err)
	}
	defer closer.Close()
	h, body, err := decodeRecordValue(v)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: record %s: %w", ErrCorrupt, c, err)
	}
	return bytes.Clone(body), h.kind, nil
}

// Has reports whether the record is stored.
func (s *Store) Has(c cid.Cid) (bool, error) {
	if err := s.acquire(); err != nil {
		return false, err
	}
	defer s.release()
	if !c.Defined() {
		return false, fmt.Errorf("%w: Has of an undefined CID", ErrInvalid)
	}
	it, err := s.newMissIter()
	if err != nil {
		return false, err
	}
	defer it.Close()
	return hasKey(it, recordKey(c))
}

// newMissIter opens an iterator for look-ups that expect to find nothing:
// it consults the bloom filters on every level. Pebble skips them on the
// bottom level (most of the data) unless asked, and DB.Get never asks, so
// a miss there would cost a data-block read per look-up.
func (s *Store) newMissIter() (*pebble.Iterator, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{UseL6Filters: true})
	if err != nil {
		return nil, fmt.Errorf("store: opening an iterator: %w", err)
	}
	return it, nil
}

// hasKey reports whether key is stored. key must be its own bloom-filter
// prefix (a record key), so the prefix seek lands on it or on nothing.
func hasKey(it *pebble.Iterator, key []byte) (bool, error) {
	if !it.SeekPrefixGE(key) {
		if err := it.Error(); err != nil {
			return false, fmt.Errorf("store: reading key %x: %w", key, err)
		}
		return false, nil
	}
	return bytes.Equal(it.Key(), key), nil
}

// readError wraps a failed point read, mapping Pebble's not-found.
func readError(what string, c cid.Cid, err error) error {
	if errors.Is(err, pebble.ErrNotFound) {
		return fmt.Errorf("%w: %s %s", ErrNotFound, what, c)
	}
	return fmt.Errorf("store: reading %s %s: %w", what, c, err)
}

// AssertionsOf lists the CIDs of every stored assertion of the indicator
// (one per asserting agency, possibly several per agency), in CID byte order.
func (s *Store) AssertionsOf(indicator cid.Cid) ([]cid.Cid, error) {
	return s.listPairs(prefixIndicator, indicator)
}

// SightingsOf lists the CIDs of every stored sighting of the indicator.
func (s *Store) SightingsOf(indicator cid.Cid) ([]cid.Cid, error) {
	return s.listPairs(prefixSighting, indicator)
}

// RetractionsOf lists the CIDs of every stored retraction withdrawing the
// assertion. Retractions are indexed even when the assertion itself is not
// (yet, or any more) stored: retractions travel ahead of everything else.
func (s *Store) RetractionsOf(assertion cid.Cid) ([]cid.Cid, error) {
	return s.listPairs(prefixRetraction, assertion)
}

func (s *Store) listPairs(prefix byte, first cid.Cid) ([]cid.Cid, error) {
	got, err := s.lookupPairs(prefix, []cid.Cid{first})
	if err != nil {
		return nil, err
	}
	return got[first], nil
}

// LookupIndicators returns, for each of the indicators that has any, the
// CIDs of its assertions; indicators with none are absent from the map. It
// is the local half of a URL look-up (up to 30 expressions at once): one
// Pebble iterator serves every indicator through prefix seeks, which the
// prefix bloom filters answer without a disk read for indicators nobody
// asserted.
func (s *Store) LookupIndicators(indicators []cid.Cid) (map[cid.Cid][]cid.Cid, error) {
	return s.lookupPairs(prefixIndicator, indicators)
}

func (s *Store) lookupPairs(prefix byte, firsts []cid.Cid) (map[cid.Cid][]cid.Cid, error) {
	if err := s.acquire(); err != nil {
		return nil, err
	}
	defer s.release()
	for _, c := range firsts {
		if !c.Defined() {
			return nil, fmt.Errorf("%w: look-up of an undefined CID", ErrInvalid)
		}
	}
	// Seeking in ascending key order lets Pebble continue from its current
	// position instead of seeking from scratch.
	sorted := slices.Clone(firsts)
	slices.SortFunc(sorted, func(a, b cid.Cid) int { return strings.Compare(a.KeyString(), b.KeyString()) })
	it, err := s.newMissIter()
	if err != nil {
		return nil, err
	}
	defer it.Close()
	out := map[cid.Cid][]cid.Cid{}
	key := make([]byte, 0, 80)
	for _, c := range slices.Compact(sorted) {
		key = appendCID(append(key[:0], prefix), c)
		if err := collectPairs(it, key, c, out); err != nil {
			return nil, err
		}
	}
	return out, it.Error()
}

// collectPairs adds the second CIDs of every key under seek (prefix ‖ c).
func collectPairs(it *pebble.Iterator, seek []byte, c cid.Cid, out map[cid.Cid][]cid.Cid) error {
	for valid := it.SeekPrefixGE(seek); valid; valid = it.Next() {
		k := it.Key()
		if !bytes.HasPrefix(k, seek) {
			break
		}
		second, err := cid.Cast(k[len(seek):])
		if err != nil {
			return fmt.Errorf("%w: index key %x: %w", ErrCorrupt, k, err)
		}
		out[c] = append(out[c], second)
	}
	return it.Error()
}

// OriginHead returns the highest sequence number ever stored for origin, 0
// if none. Erasing a record does not lower it, so sync never asks peers
// again for records this node deliberately erased.
func (s *Store) OriginHead(origin string) (uint64, error) {
	if err := s.acquire(); err != nil {
		return 0, err
	}
	defer s.release()
	v, err := s.getU64(originHeadKey(origin))
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("%w: origin %q head: %w", ErrCorrupt, origin, err)
	}
	return v, nil
}

// ByOriginSeq returns the CID of the stored record with that origin and
// sequence number, or an error wrapping ErrNotFound.
func (s *Store) ByOriginSeq(origin string, seq uint64) (cid.Cid, error) {
	if err := s.acquire(); err != nil {
		return cid.Undef, err
	}
	defer s.release()
	v, err := s.getRaw(originSeqKey(origin, seq))
	if errors.Is(err, pebble.ErrNotFound) {
		return cid.Undef, fmt.Errorf("%w: origin %q sequence %d", ErrNotFound, origin, seq)
	}
	if err != nil {
		return cid.Undef, fmt.Errorf("store: reading origin %q sequence %d: %w", origin, seq, err)
	}
	c, err := cid.Cast(v)
	if err != nil {
		return cid.Undef, fmt.Errorf("%w: origin %q sequence %d: %w", ErrCorrupt, origin, seq, err)
	}
	return c, nil
}

// LogHead returns the local log's epoch, drawn at random when the store was
// created, and the index the next new record will get. Log indexes start at
// 1. A feed cursor is only meaningful with the epoch it was taken under: a
// different epoch means a different (for example rebuilt) store. The head
// counts acknowledged (fsynced) writes only.
func (s *Store) LogHead() (epoch [16]byte, next uint64, err error) {
	if err := s.acquire(); err != nil {
		return epoch, 0, err
	}
	defer s.release()
	return s.epoch, s.ackedNext.Load(), nil
}

// LogRange returns up to limit local-log entries with from ≤ Index <
// LogHead's next, in order, tombstones included (so a reader's cursor moves
// past them). Entries of a Put still waiting for its fsync are not
// returned, although Pebble already shows them to other reads: a crash
// could give their indexes to other records.
func (s *Store) LogRange(from uint64, limit int) ([]LogEntry, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("%w: log range limit %d must be positive", ErrInvalid, limit)
	}
	if err := s.acquire(); err != nil {
		return nil, err
	}
	defer s.release()
	lower, upper := max(from, firstLogIndex), s.ackedNext.Load()
	if lower >= upper {
		return nil, nil
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: logKey(lower), UpperBound: logKey(upper)})
	if err != nil {
		return nil, fmt.Errorf("store: opening a log iterator: %w", err)
	}
	defer it.Close()
	var out []LogEntry
	for valid := it.First(); valid && len(out) < limit; valid = it.Next() {
		e, err := logEntryAt(it)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, it.Error()
}

// logEntryAt decodes the log entry under the iterator.
func logEntryAt(it *pebble.Iterator) (LogEntry, error) {
	k := it.Key()
	if len(k) != 9 {
		return LogEntry{}, fmt.Errorf("%w: log key %x has the wrong length", ErrCorrupt, k)
	}
	v, err := it.ValueAndErr()
	if err != nil {
		return LogEntry{}, fmt.Errorf("store: reading log key %x: %w", k, err)
	}
	e, err := decodeLogValue(v)
	if err != nil {
		return LogEntry{}, fmt.Errorf("%w: log key %x: %w", ErrCorrupt, k, err)
	}
	e.Index = binary.BigEndian.Uint64(k[1:])
	return e, nil
}

// ExpiredBefore returns up to limit CIDs of records whose Expires is set
// and ≤ now (unix seconds), soonest-expired first. Only assertions carry an
// expiry today, but any record stored with one is listed.
func (s *Store) ExpiredBefore(now int64, limit int) ([]cid.Cid, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("%w: expiry listing limit %d must be positive", ErrInvalid, limit)
	}
	if now <= 0 {
		return nil, nil
	}
	if err := s.acquire(); err != nil {
		return nil, err
	}
	defer s.release()
	upper := binary.BigEndian.AppendUint64([]byte{prefixExpiry}, uint64(now)+1)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixExpiry}, UpperBound: upper})
	if err != nil {
		return nil, fmt.Errorf("store: opening an expiry iterator: %w", err)
	}
	defer it.Close()
	var out []cid.Cid
	for valid := it.First(); valid && len(out) < limit; valid = it.Next() {
		k := it.Key()
		if len(k) < 9 {
			return nil, fmt.Errorf("%w: expiry key %x is too short", ErrCorrupt, k)
		}
		c, err := cid.Cast(k[9:])
		if err != nil {
			return nil, fmt.Errorf("%w: expiry key %x: %w", ErrCorrupt, k, err)
		}
		out = append(out, c)
	}
	return out, it.Error()
}

// Stats returns record counts per kind, the local log's length and the
// disk space Pebble uses.
func (s *Store) Stats() (Stats, error) {
	if err := s.acquire(); err != nil {
		return Stats{}, err
	}
	defer s.release()
	s.writeMu.Lock() // consistent counters; waits for a write in flight
	st := Stats{Records: map[Kind]uint64{}, LogLength: s.logNext - firstLogIndex, Erased: s.erased}
	for k := KindAssertion; k < kindLimit; k++ {
		st.Records[k] = s.counts[k]
	}
	s.writeMu.Unlock()
	st.DiskBytes = s.db.Metrics().DiskSpaceUsage()
	return st, nil
}
