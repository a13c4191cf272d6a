package riblt

import (
	"errors"
	"fmt"
)

// ErrSketchMismatch is returned when two sketches of different keys or
// sizes are combined.
var ErrSketchMismatch = errors.New("riblt: sketches differ in key or size")

// Sketch is the first M coded symbols of a set's stream, maintained as
// items come and go, without the items themselves.
//
// It is the fast path for a node that keeps one reconciliation structure
// per peer (or per class of peers with the same policy): the symbols are
// always ready, Add and Remove cost about 2·ln(M) symbol updates, and
// reconciling costs Subtract plus Decode, O(M + d·log M). A sketch decodes
// a difference of up to about M/1.4 items; beyond that Decode fails with
// ErrNotDecoded and the caller streams from an Encoder or falls back to
// range-based sync.
//
// Because the stream is universal, symbol i of a sketch equals symbol i of
// an Encoder of the same set under the same key, so a sketch can also serve
// as the local side of a streaming Decoder (NewDecoderWithSketch).
//
// A Sketch is a linear summary and cannot tell whether an item is already
// in it: adding an item twice, or removing one that was never added,
// corrupts it. It is not safe for concurrent use.
type Sketch struct {
	key     Key
	hash    hasher
	cells   []CodedSymbol
	n       int // items added minus items removed
	version uint64
}

// NewSketch returns the size-m sketch of the empty set under key.
func NewSketch(key Key, m int) *Sketch {
	if m <= 0 || m > MaxStreamLength {
		panic(fmt.Sprintf("riblt: sketch size %d out of range 1..%d", m, MaxStreamLength))
	}
	return &Sketch{key: key, hash: newHasher(key), cells: make([]CodedSymbol, m)}
}

// SketchFromSymbols wraps coded symbols received from a peer (the first
// len(symbols) of its stream) as a sketch, typically to Subtract one's own
// sketch and Decode.
func SketchFromSymbols(key Key, symbols []CodedSymbol) *Sketch {
	s := NewSketch(key, max(len(symbols), 1))
	copy(s.cells, symbols)
	s.cells = s.cells[:len(symbols)]
	return s
}

// Key returns the session key the sketch codes under.
func (s *Sketch) Key() Key { return s.key }

// Len returns the number of items added minus the number removed.
func (s *Sketch) Len() int { return s.n }

// Size returns M, the number of coded symbols kept.
func (s *Sketch) Size() int { return len(s.cells) }

// Add inserts x. The caller guarantees x is not already in the sketch.
func (s *Sketch) Add(x Symbol) {
	applyPrefix(s.cells, &x, s.hash.sum(&x), 1)
	s.n++
	s.version++
}

// Remove deletes x. The caller guarantees x is in the sketch.
func (s *Sketch) Remove(x Symbol) {
	applyPrefix(s.cells, &x, s.hash.sum(&x), -1)
	s.n--
	s.version++
}

// Symbols returns a copy of the first n coded symbols (all of them if n is
// larger than the sketch).
func (s *Sketch) Symbols(n int) []CodedSymbol {
	n = min(max(n, 0), len(s.cells))
	return append([]CodedSymbol(nil), s.cells[:n]...)
}

// Subtract sets s to s − o: afterwards s summarises the items only in s's
// set (count +1) and the items only in o's (count −1). The sketches must
// share the key; if their sizes differ, s is cut to the shorter one, which
// is still a valid prefix.
func (s *Sketch) Subtract(o *Sketch) error {
	if s.key != o.key {
		return ErrSketchMismatch
	}
	n := min(len(s.cells), len(o.cells))
	s.cells = s.cells[:n]
	for i := range s.cells {
		s.cells[i] = s.cells[i].Subtract(o.cells[i])
	}
	s.version++
	return nil
}

// Decode peels a sketch that holds a difference (see Subtract) and returns
// the items counted positively (only in the sketch's own set: for a
// received sketch minus one's own, the items only the peer has) and those
// counted negatively (only in the subtracted set). It returns ErrNotDecoded
// if the sketch is too small for the difference, and ErrInconsistent if the
// symbols cannot come from two sets under this key.
func (s *Sketch) Decode() (positive, negative []Symbol, err error) {
	d := newDecoder(s.key, nil)
	d.SetBudget(len(s.cells) + 1) // running out is ErrNotDecoded here
	for _, c := range s.cells {
		if err := d.AddCoded(c); err != nil {
			return nil, nil, err
		}
	}
	if err := d.TryDecode(); err != nil {
		return nil, nil, err
	}
	if !d.Decoded() {
		return nil, nil, fmt.Errorf("%w after all %d symbols of the sketch", ErrNotDecoded, len(s.cells))
	}
	return d.Remote(), d.Local(), nil
}

// symbolAt and stamp make a Sketch a source of local symbols for a Decoder.
func (s *Sketch) symbolAt(i int) (CodedSymbol, error) {
	if i >= len(s.cells) {
		return CodedSymbol{}, fmt.Errorf("%w: the local sketch holds only %d symbols", ErrBudgetExceeded, len(s.cells))
	}
	return s.cells[i], nil
}

func (s *Sketch) stamp() uint64 { return s.version }
func (s *Sketch) size() int     { return s.n }
