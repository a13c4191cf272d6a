package reconcile

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/vigie-project/vigie/protocol/riblt"
)

// Message types: the first byte of every frame.
const (
	msgHello   byte = 1 // initiator: key, set size and checksum
	msgEqual   byte = 2 // responder: the sets are equal, session over
	msgDiff    byte = 3 // responder: its size, checksum, sketch size, first batch
	msgMore    byte = 4 // initiator: send n more coded symbols
	msgSymbols byte = 5 // responder: one batch of coded symbols
	msgQuery   byte = 6 // initiator: fingerprints of id ranges
	msgAnswer  byte = 7 // responder: per range equal, split, or its ids
	msgDone    byte = 8 // initiator: decoded and confirmed, session over
	msgAbort   byte = 9 // responder: refuses to go on (abort code)
)

// wireVersion is the hello's version byte.
const wireVersion = 1

// Protocol limits shared by both sides: they make every message fit in
// MaxFrame (an answer entry is at most 2+leafSize·32 = 514 bytes).
const (
	leafSize        = 16  // a range of at most this many ids is sent outright
	fanout          = 16  // a split range has 16 children, one per nibble
	maxDepth        = 64  // nibbles in an id: a range this deep is one id
	maxQueryRanges  = 120 // ranges per query
	maxSetSize      = 1 << 40
	maxAnswerEntry  = 2 + leafSize*riblt.SymbolSize
	minAnswerCharge = 64 // bytes charged per answer against the budget, however small
)

// Answer kinds.
const (
	ansEqual byte = 0
	ansSplit byte = 1
	ansIDs   byte = 2
)

// Abort codes.
const (
	abortBadRequest uint64 = 1
	abortKeyCheck   uint64 = 2
	abortBudget     uint64 = 3
)

type hello struct {
	key        riblt.Key
	keyCheck   uint64
	size       uint64
	sum        sum128
	maxSymbols uint64 // the initiator's symbol budget
}

type diff struct {
	size   uint64
	sum    sum128
	sketch uint64 // coded symbols the responder will serve; 0: go to the fallback
	batch  riblt.Batch
}

// rangeID is the set of ids whose first depth nibbles equal prefix's.
// Unused nibbles of prefix are zero, so each range has one encoding.
type rangeID struct {
	depth  uint8
	prefix riblt.Symbol
}

type queryItem struct {
	r     rangeID
	count uint64
	fp    sum128
}

type answerEntry struct {
	kind byte
	ids  []riblt.Symbol // sorted, for ansIDs
}

// reader decodes a message body, accepting only canonical encodings.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b) < n {
		r.fail("truncated")
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) byte() byte {
	b := r.bytes(1)
	if b == nil {
		return 0
	}
	return b[0]
}

func (r *reader) uvarint(max uint64) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 || n != len(binary.AppendUvarint(nil, v)) {
		r.fail("bad varint")
		return 0
	}
	if v > max {
		r.fail("value %d above %d", v, max)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) sum() sum128 {
	b := r.bytes(sumSize)
	if b == nil {
		return sum128{}
	}
	return sumFrom(b)
}

// end checks that the whole body was consumed.
func (r *reader) end() error {
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
	return r.err
}

// body checks a frame's type byte and returns a reader over the rest.
func body(frame []byte, want byte) *reader {
	r := &reader{b: frame}
	if t := r.byte(); r.err == nil && t != want {
		r.fail("message type %d, expected %d", t, want)
	}
	return r
}

func (h *hello) marshal() []byte {
	b := []byte{msgHello, wireVersion}
	b = append(b, h.key[:]...)
	b = binary.LittleEndian.AppendUint64(b, h.keyCheck)
	b = binary.AppendUvarint(b, h.size)
	b = h.sum.append(b)
	return binary.AppendUvarint(b, h.maxSymbols)
}

func parseHello(frame []byte) (hello, error) {
	var h hello
	r := body(frame, msgHello)
	if v := r.byte(); r.err == nil && v != wireVersion {
		r.fail("version %d", v)
	}
	copy(h.key[:], r.bytes(len(h.key)))
	if b := r.bytes(8); b != nil {
		h.keyCheck = binary.LittleEndian.Uint64(b)
	}
	h.size = r.uvarint(maxSetSize)
	h.sum = r.sum()
	h.maxSymbols = r.uvarint(riblt.MaxStreamLength)
	return h, r.end()
}

func (d *diff) marshal() ([]byte, error) {
	b := []byte{msgDiff}
	b = binary.AppendUvarint(b, d.size)
	b = d.sum.append(b)
	b = binary.AppendUvarint(b, d.sketch)
	return d.batch.AppendBinary(b)
}

func parseDiff(frame []byte) (diff, error) {
	var d diff
	r := body(frame, msgDiff)
	d.size = r.uvarint(maxSetSize)
	d.sum = r.sum()
	d.sketch = r.uvarint(riblt.MaxStreamLength)
	if r.err != nil {
		return d, r.err
	}
	if err := d.batch.UnmarshalBinary(r.b); err != nil {
		return d, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if d.batch.Start != 0 || d.batch.SetSize != d.size || uint64(len(d.batch.Symbols)) > d.sketch {
		return d, fmt.Errorf("%w: first batch does not match the header", ErrMalformed)
	}
	return d, nil
}

func marshalSymbols(b *riblt.Batch) ([]byte, error) {
	return b.AppendBinary([]byte{msgSymbols})
}

func parseSymbols(frame []byte) (riblt.Batch, error) {
	var b riblt.Batch
	r := body(frame, msgSymbols)
	if r.err != nil {
		return b, r.err
	}
	if err := b.UnmarshalBinary(r.b); err != nil {
		return b, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return b, nil
}

func marshalUvarintMsg(t byte, v uint64) []byte {
	return binary.AppendUvarint([]byte{t}, v)
}

func parseUvarintMsg(frame []byte, t byte, max uint64) (uint64, error) {
	r := body(frame, t)
	v := r.uvarint(max)
	return v, r.end()
}

func (id rangeID) append(b []byte) []byte {
	b = append(b, id.depth)
	return append(b, id.prefix[:(id.depth+1)/2]...)
}

func (r *reader) rangeID() rangeID {
	var id rangeID
	id.depth = r.byte()
	if r.err == nil && id.depth > maxDepth {
		r.fail("range depth %d", id.depth)
		return id
	}
	n := (int(id.depth) + 1) / 2
	copy(id.prefix[:], r.bytes(n))
	if r.err == nil && id.depth%2 == 1 && id.prefix[n-1]&0x0f != 0 {
		r.fail("range prefix has bits past its depth")
	}
	return id
}

func marshalQuery(items []queryItem) []byte {
	b := binary.AppendUvarint([]byte{msgQuery}, uint64(len(items)))
	for _, it := range items {
		b = it.r.append(b)
		b = binary.AppendUvarint(b, it.count)
		b = it.fp.append(b)
	}
	return b
}

func parseQuery(frame []byte) ([]queryItem, error) {
	r := body(frame, msgQuery)
	n := r.uvarint(maxQueryRanges)
	if r.err == nil && n == 0 {
		r.fail("empty query")
	}
	if r.err != nil {
		return nil, r.err
	}
	items := make([]queryItem, n)
	for i := range items {
		items[i] = queryItem{r: r.rangeID(), count: r.uvarint(maxSetSize), fp: r.sum()}
	}
	return items, r.end()
}

func marshalAnswer(entries []answerEntry) []byte {
	b := binary.AppendUvarint([]byte{msgAnswer}, uint64(len(entries)))
	for _, e := range entries {
		b = append(b, e.kind)
		if e.kind == ansIDs {
			b = binary.AppendUvarint(b, uint64(len(e.ids)))
			for _, id := range e.ids {
				b = append(b, id[:]...)
			}
		}
	}
	return b
}

// parseAnswer decodes an answer to the query q: one entry per range, ids
// strictly increasing and inside their range.
func parseAnswer(frame []byte, q []queryItem) ([]answerEntry, error) {
	r := body(frame, msgAnswer)
	n := r.uvarint(maxQueryRanges)
	if r.err == nil && n != uint64(len(q)) {
		r.fail("%d answers to %d ranges", n, len(q))
	}
	if r.err != nil {
		return nil, r.err
	}
	entries := make([]answerEntry, n)
	for i := range entries {
		entries[i] = r.answerEntry(q[i].r)
	}
	return entries, r.end()
}

func (r *reader) answerEntry(rg rangeID) answerEntry {
	e := answerEntry{kind: r.byte()}
	switch {
	case r.err != nil:
	case e.kind == ansEqual:
	case e.kind == ansSplit && rg.depth < maxDepth:
	case e.kind == ansIDs:
		n := r.uvarint(leafSize)
		raw := r.bytes(int(n) * riblt.SymbolSize)
		if r.err != nil {
			return e
		}
		e.ids = make([]riblt.Symbol, n)
		for i := range e.ids {
			copy(e.ids[i][:], raw[i*riblt.SymbolSize:])
			if !rg.contains(&e.ids[i]) || (i > 0 && bytes.Compare(e.ids[i-1][:], e.ids[i][:]) >= 0) {
				r.fail("ids out of order or outside their range")
				return e
			}
		}
	default:
		r.fail("answer kind %d for a range of depth %d", e.kind, rg.depth)
	}
	return e
}

func parseEmpty(frame []byte, t byte) error {
	return body(frame, t).end()
}
