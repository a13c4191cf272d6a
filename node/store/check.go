package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ipfs/go-cid"
)

// maxReported bounds how many problems Check spells out.
const maxReported = 20

// selfCheck is the cheap check Open runs: the log head agrees with the
// counters and with the last log entry, which must point at its record.
// Pebble has already verified its manifest and replayed its WAL with
// checksums by then.
func (s *Store) selfCheck() error {
	if s.logNext < firstLogIndex {
		return fmt.Errorf("%w: %s: log head %d is below the first index", ErrCorrupt, s.dir, s.logNext)
	}
	var live uint64
	for k := KindAssertion; k < kindLimit; k++ {
		live += s.counts[k]
	}
	if live+s.erased != s.logNext-firstLogIndex {
		return fmt.Errorf("%w: %s: %d live records and %d tombstones do not add up to the log length %d",
			ErrCorrupt, s.dir, live, s.erased, s.logNext-firstLogIndex)
	}
	last, found, err := s.lastLogEntry()
	if err != nil {
		return err
	}
	if !found {
		if s.logNext != firstLogIndex {
			return fmt.Errorf("%w: %s: log head is %d but the log is empty", ErrCorrupt, s.dir, s.logNext)
		}
		return nil
	}
	if last.Index != s.logNext-1 {
		return fmt.Errorf("%w: %s: log head is %d but the last log entry is %d", ErrCorrupt, s.dir, s.logNext, last.Index)
	}
	if last.Erased {
		return nil
	}
	problem, err := logTargetProblem(s.db, last)
	if err == nil && problem != "" {
		err = fmt.Errorf("%w: %s: %s", ErrCorrupt, s.dir, problem)
	}
	return err
}

func (s *Store) lastLogEntry() (LogEntry, bool, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixLog}, UpperBound: prefixEnd(prefixLog)})
	if err != nil {
		return LogEntry{}, false, fmt.Errorf("store: opening a log iterator: %w", err)
	}
	defer it.Close()
	if !it.Last() {
		return LogEntry{}, false, it.Error()
	}
	e, err := logEntryAt(it)
	return e, err == nil, err
}

// reader is what checks read from: the live DB or a snapshot.
type reader interface {
	Get(key []byte) ([]byte, io.Closer, error)
}

// logTargetProblem describes what is wrong with a live log entry's record
// ("" if nothing): it must be stored, of the logged kind, and record that
// log index. The error reports only a failed read.
func logTargetProblem(r reader, e LogEntry) (string, error) {
	h, ok, err := readHeader(r, e.CID)
	if errors.Is(err, ErrCorrupt) {
		return err.Error(), nil
	}
	if err != nil {
		return "", err
	}
	switch {
	case !ok:
		return fmt.Sprintf("log entry %d names record %s, which is not stored", e.Index, e.CID), nil
	case h.kind != e.Kind:
		return fmt.Sprintf("log entry %d says %s but record %s is a %s", e.Index, e.Kind, e.CID, h.kind), nil
	case h.logIndex != e.Index:
		return fmt.Sprintf("log entry %d names record %s, which records log index %d", e.Index, e.CID, h.logIndex), nil
	}
	return "", nil
}

// readHeader reads and decodes a record's header; ok is false if the record
// is not stored.
func readHeader(r reader, c cid.Cid) (recordHeader, bool, error) {
	v, closer, err := r.Get(recordKey(c))
	if errors.Is(err, pebble.ErrNotFound) {
		return recordHeader{}, false, nil
	}
	if err != nil {
		return recordHeader{}, false, fmt.Errorf("store: reading record %s: %w", c, err)
	}
	defer closer.Close()
	h, _, err := decodeRecordValue(v)
	if err != nil {
		return recordHeader{}, false, fmt.Errorf("%w: record %s: %w", ErrCorrupt, c, err)
	}
	// The header's slices alias Pebble's buffer, released by closer.
	h.origin, h.indicator, h.target = bytes.Clone(h.origin), bytes.Clone(h.indicator), bytes.Clone(h.target)
	return h, true, nil
}

// Check scans the whole store: Pebble's own level and checksum checks,
// then every key. Every record must hash to its CID, be logged at the index
// it records and have all its index entries; every index entry must lead to
// a stored record of the right kind with matching facts; the log must be
// dense, each entry naming a stored record or being a tombstone; the
// counters must match. It reads a consistent snapshot, so the node may keep
// running. Problems found are returned wrapped in ErrCorrupt.
func (s *Store) Check(ctx context.Context) error {
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.release()
	if err := s.db.CheckLevels(nil); err != nil {
		return fmt.Errorf("%w: %s: Pebble level check: %w", ErrCorrupt, s.dir, err)
	}
	snap := s.db.NewSnapshot()
	defer snap.Close()
	c := &checker{s: s, snap: snap, nextLog: firstLogIndex}
	if err := c.loadCounters(); err != nil {
		return err
	}
	if err := c.scan(ctx); err != nil {
		return err
	}
	c.finish()
	return c.result()
}

type checker struct {
	s          *Store
	snap       *pebble.Snapshot
	logNext    uint64
	wantCounts [kindLimit]uint64
	wantErased uint64

	counts     [kindLimit]uint64
	tombstones uint64
	nextLog    uint64 // the log index the scan expects next
	problems   []string
	more       int
}

func (c *checker) fail(format string, args ...any) {
	if len(c.problems) < maxReported {
		c.problems = append(c.problems, fmt.Sprintf(format, args...))
		return
	}
	c.more++
}

func (c *checker) result() error {
	if len(c.problems) == 0 {
		return nil
	}
	msg := strings.Join(c.problems, "; ")
	if c.more > 0 {
		msg += fmt.Sprintf("; and %d more", c.more)
	}
	return fmt.Errorf("%w: %s: %d problem(s): %s", ErrCorrupt, c.s.dir, len(c.problems)+c.more, msg)
}

// scan visits every key once, in order, dispatching on its prefix byte.
func (c *checker) scan(ctx context.Context) error {
	it, err := c.snap.NewIter(nil)
	if err != nil {
		return fmt.Errorf("store: opening a check iterator: %w", err)
	}
	defer it.Close()
	for n, valid := 0, it.First(); valid; n, valid = n+1, it.Next() {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return fmt.Errorf("store: reading key %x: %w", it.Key(), err)
		}
		if err := c.visit(it.Key(), v); err != nil {
			return err
		}
	}
	return it.Error()
}

// visit checks one key. It returns an error only when the scan cannot go
// on (an I/O failure); inconsistencies are collected with fail.
func (c *checker) visit(k, v []byte) error {
	if len(k) == 0 {
		c.fail("empty key")
		return nil
	}
	switch k[0] {
	case prefixRecord:
		return c.visitRecord(k, v)
	case prefixIndicator:
		return c.visitPair(k, KindAssertion, "indicator")
	case prefixSighting:
		return c.visitPair(k, KindSighting, "sighting")
	case prefixRetraction:
		return c.visitPair(k, KindRetraction, "retraction")
	case prefixExpiry:
		return c.visitExpiry(k)
	case prefixOriginSeq:
		return c.visitOriginSeq(k, v)
	case prefixLog:
		return c.visitLog(k, v)
	case prefixPlacement:
		return c.visitPlacement(k)
	case prefixCursor:
		// Opaque sync state owned by the node; nothing leads to it.
	case prefixOriginHead:
		if _, err := decodeU64(v); err != nil {
			c.fail("origin head %q: %v", k[1:], err)
		}
	case prefixMeta:
		c.visitMeta(k)
	default:
		c.fail("key %x has no known prefix", k)
	}
	return nil
}

func (c *checker) visitRecord(k, v []byte) error {
	rc, err := cid.Cast(k[1:])
	if err != nil {
		c.fail("record key %x: %v", k, err)
		return nil
	}
	h, body, err := decodeRecordValue(v)
	if err != nil {
		c.fail("record %s: %v", rc, err)
		return nil
	}
	c.counts[h.kind]++
	if sum, err := rc.Prefix().Sum(body); err != nil || !sum.Equals(rc) {
		c.fail("record %s: stored bytes do not hash to its CID", rc)
	}
	indicator, target, err := h.facts()
	if err != nil {
		c.fail("record %s: %v", rc, err)
		return nil
	}
	if err := c.expectLog(rc, h); err != nil {
		return err
	}
	for _, key := range indexKeys(h.kind, h.expires, indicator, target, rc) {
		if err := c.expectKey(key, nil, "record %s: index entry %x is missing", rc, key); err != nil {
			return err
		}
	}
	if h.seq == 0 {
		return nil
	}
	return c.expectOrigin(rc, h)
}

// expectLog: the record's log entry is live and names it.
func (c *checker) expectLog(rc cid.Cid, h recordHeader) error {
	v, closer, err := c.snap.Get(logKey(h.logIndex))
	if errors.Is(err, pebble.ErrNotFound) {
		c.fail("record %s: log entry %d is missing", rc, h.logIndex)
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: reading log entry %d: %w", h.logIndex, err)
	}
	defer closer.Close()
	e, err := decodeLogValue(v)
	if err != nil || e.Erased || !e.CID.Equals(rc) || e.Kind != h.kind {
		c.fail("record %s: log entry %d does not name it", rc, h.logIndex)
	}
	return nil
}

func (c *checker) expectOrigin(rc cid.Cid, h recordHeader) error {
	origin := string(h.origin)
	if err := c.expectKey(originSeqKey(origin, h.seq), cidBytes(rc), "record %s: origin %q sequence %d does not lead to it", rc, origin, h.seq); err != nil {
		return err
	}
	head, err := getU64(c.snap, originHeadKey(origin))
	if err != nil || head < h.seq {
		c.fail("record %s: origin %q head is below its sequence %d", rc, origin, h.seq)
	}
	return nil
}

// expectKey fails unless key holds want.
func (c *checker) expectKey(key, want []byte, format string, args ...any) error {
	v, closer, err := c.snap.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		c.fail(format, args...)
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: reading key %x: %w", key, err)
	}
	defer closer.Close()
	if !bytes.Equal(v, want) {
		c.fail(format, args...)
	}
	return nil
}

// visitPair checks an i/s/t index entry: prefix ‖ first ‖ second, where
// second must be a stored record of the kind with first as its
// indicator (i, s) or target (t).
func (c *checker) visitPair(k []byte, kind Kind, name string) error {
	n, ok := cidLen(k[1:])
	if !ok {
		c.fail("%s index key %x is malformed", name, k)
		return nil
	}
	first, err1 := cid.Cast(k[1 : 1+n])
	second, err2 := cid.Cast(k[1+n:])
	if err1 != nil || err2 != nil {
		c.fail("%s index key %x is malformed", name, k)
		return nil
	}
	h, stored, err := readHeader(c.snap, second)
	if err != nil {
		return err
	}
	if !stored {
		c.fail("%s index entry %s → %s: no such record (dangling)", name, first, second)
		return nil
	}
	want := h.indicator
	if kind == KindRetraction {
		want = h.target
	}
	if h.kind != kind || !bytes.Equal(want, cidBytes(first)) {
		c.fail("%s index entry %s → %s: the record is a %s with other facts", name, first, second, h.kind)
	}
	return nil
}

// visitPlacement: a placement belongs to a stored record.
func (c *checker) visitPlacement(k []byte) error {
	rc, err := cid.Cast(k[1:])
	if err != nil {
		c.fail("placement key %x: %v", k, err)
		return nil
	}
	_, stored, err := readHeader(c.snap, rc)
	if err != nil {
		return err
	}
	if !stored {
		c.fail("placement of %s: no such record (dangling)", rc)
	}
	return nil
}

func (c *checker) visitExpiry(k []byte) error {
	if len(k) < 9 {
		c.fail("expiry key %x is malformed", k)
		return nil
	}
	rc, err := cid.Cast(k[9:])
	if err != nil {
		c.fail("expiry key %x: %v", k, err)
		return nil
	}
	h, stored, err := readHeader(c.snap, rc)
	if err != nil {
		return err
	}
	if !stored || uint64(h.expires) != binary.BigEndian.Uint64(k[1:9]) {
		c.fail("expiry index entry for %s does not match a stored record", rc)
	}
	return nil
}

func (c *checker) visitOriginSeq(k, v []byte) error {
	if len(k) < 2 || len(k) != 2+int(k[1])+8 {
		c.fail("origin sequence key %x is malformed", k)
		return nil
	}
	origin, seq := k[2:2+int(k[1])], binary.BigEndian.Uint64(k[len(k)-8:])
	rc, err := cid.Cast(v)
	if err != nil {
		c.fail("origin %q sequence %d: %v", origin, seq, err)
		return nil
	}
	h, stored, err := readHeader(c.snap, rc)
	if err != nil {
		return err
	}
	if !stored || h.seq != seq || !bytes.Equal(h.origin, origin) {
		c.fail("origin %q sequence %d → %s: no stored record with those facts (dangling)", origin, seq, rc)
	}
	return nil
}

// visitLog checks density and that each live entry names its record.
func (c *checker) visitLog(k, v []byte) error {
	if len(k) != 9 {
		c.fail("log key %x is malformed", k)
		return nil
	}
	index := binary.BigEndian.Uint64(k[1:])
	if index != c.nextLog {
		c.fail("log entry %d found where %d was expected (gap or stray entry)", index, c.nextLog)
	}
	c.nextLog = index + 1
	e, err := decodeLogValue(v)
	if err != nil {
		c.fail("log entry %d: %v", index, err)
		return nil
	}
	e.Index = index
	if e.Erased {
		c.tombstones++
		return nil
	}
	problem, err := logTargetProblem(c.snap, e)
	if problem != "" {
		c.fail("%s", problem)
	}
	return err
}

func (c *checker) visitMeta(k []byte) {
	name := string(k[1:])
	switch name {
	case metaFormatName, metaEpochName, metaLogNextName, metaErasedName:
		return
	}
	if rest, ok := strings.CutPrefix(name, metaCountName); ok && len(rest) == 1 && Kind(rest[0]).valid() {
		return
	}
	c.fail("unknown meta key %q", name)
}

// loadCounters reads the log head and counters as stored in the snapshot:
// Check verifies what is on disk, not the copy in memory.
func (c *checker) loadCounters() error {
	var err error
	if c.logNext, err = getU64(c.snap, metaKey(metaLogNextName)); err != nil {
		return c.s.metaError(metaLogNextName, err)
	}
	if c.wantErased, err = getU64(c.snap, metaKey(metaErasedName)); err != nil {
		return c.s.metaError(metaErasedName, err)
	}
	for k := KindAssertion; k < kindLimit; k++ {
		if c.wantCounts[k], err = getU64(c.snap, countKey(k)); err != nil {
			return c.s.metaError(metaCountName+k.String(), err)
		}
	}
	return nil
}

// finish compares what the scan tallied with the counters.
func (c *checker) finish() {
	if c.nextLog != c.logNext {
		c.fail("the log holds entries up to %d but the log head says the next is %d", c.nextLog-1, c.logNext)
	}
	for k := KindAssertion; k < kindLimit; k++ {
		if c.counts[k] != c.wantCounts[k] {
			c.fail("%d %s records stored but the counter says %d", c.counts[k], k, c.wantCounts[k])
		}
	}
	if c.tombstones != c.wantErased {
		c.fail("%d log tombstones but the counter says %d", c.tombstones, c.wantErased)
	}
}
