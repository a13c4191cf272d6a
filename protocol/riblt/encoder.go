package riblt

import "fmt"

// DefaultWindow is the number of leading coded symbols an Encoder keeps
// materialised from the start. Coded symbol 4095 is enough for about 3,000
// differences; the window doubles on demand beyond that.
const DefaultWindow = 4096

// MaxStreamLength caps the index of any coded symbol. At 41 bytes a symbol
// that is 680 MB of stream, enough for about 12 million differences; a
// session anywhere near it should have fallen back to range-based sync long
// before.
const MaxStreamLength = 1 << 24

// applyPrefix adds (delta +1) or removes (delta −1) the item x with keyed
// hash h in every cell of cells it maps to, and returns its cursor
// positioned at the first index past the cells.
func applyPrefix(cells []CodedSymbol, x *Symbol, h uint64, delta int8) cursor {
	c := newCursor(h)
	for n := uint64(len(cells)); c.next < n; c.advance() {
		cells[c.next].apply(x, h, delta)
	}
	return c
}

// itemState is what an Encoder remembers per item to extend its window
// without hashing the item again.
type itemState struct {
	hash uint64
	cur  cursor // positioned at the first index past the window
}

// Encoder produces the rateless coded-symbol stream of a set and keeps it up
// to date as items come and go.
//
// It keeps the first W coded symbols (the window) materialised, so adding or
// removing an item costs about 2·ln(W) symbol updates, and reading a symbol
// inside the window costs nothing. Reading past the window doubles it, which
// touches every item once (O(n)); the window then stays, so a node pays that
// only when its largest difference grows. It also keeps the items
// themselves, which is what makes the stream rateless: a Sketch is the same
// window without the items.
//
// The first symbols of the stream depend only on the set, not on the window
// size, the order of Add calls or their history: an Encoder built
// incrementally and one built from scratch give identical symbols.
//
// An Encoder is not safe for concurrent use. A reconciliation session must
// read its symbols from an unchanged set; Version tells a caller whether the
// set changed since it started (see the package documentation).
type Encoder struct {
	key      Key
	hash     hasher
	keyCheck uint64
	cells    []CodedSymbol
	items    map[Symbol]itemState
	pos      int
	version  uint64
}

// NewEncoder returns an Encoder of the empty set under key, with a window
// of DefaultWindow symbols.
func NewEncoder(key Key) *Encoder { return newEncoder(key, DefaultWindow) }

func newEncoder(key Key, window int) *Encoder {
	return &Encoder{
		key:      key,
		hash:     newHasher(key),
		keyCheck: KeyCheck(key),
		cells:    make([]CodedSymbol, window),
		items:    make(map[Symbol]itemState),
	}
}

// Key returns the session key the encoder codes under.
func (e *Encoder) Key() Key { return e.key }

// Len returns the number of items in the set.
func (e *Encoder) Len() int { return len(e.items) }

// Window returns the number of coded symbols kept materialised.
func (e *Encoder) Window() int { return len(e.cells) }

// Version counts the changes to the set, so that a session can tell whether
// the symbols it already used still describe the set.
func (e *Encoder) Version() uint64 { return e.version }

// Has reports whether x is in the set.
func (e *Encoder) Has(x Symbol) bool {
	_, ok := e.items[x]
	return ok
}

// Add inserts x and reports whether it was new. Adding an item already
// present changes nothing: a set, unlike a Sketch, can tell.
func (e *Encoder) Add(x Symbol) bool {
	if _, ok := e.items[x]; ok {
		return false
	}
	h := e.hash.sum(&x)
	e.items[x] = itemState{hash: h, cur: applyPrefix(e.cells, &x, h, 1)}
	e.version++
	return true
}

// Remove deletes x and reports whether it was present. The item's indices
// are recomputed from its hash, so removal costs what insertion did.
func (e *Encoder) Remove(x Symbol) bool {
	st, ok := e.items[x]
	if !ok {
		return false
	}
	applyPrefix(e.cells, &x, st.hash, -1)
	delete(e.items, x)
	e.version++
	return true
}

// Reserve makes sure the first n coded symbols are materialised, so that a
// later session reads them without touching every item. It costs O(items)
// when the window grows, and nothing otherwise.
func (e *Encoder) Reserve(n int) {
	if n > MaxStreamLength {
		panic(fmt.Sprintf("riblt: %d coded symbols requested, the stream is capped at %d", n, MaxStreamLength))
	}
	if n <= len(e.cells) {
		return
	}
	old := len(e.cells)
	e.cells = append(e.cells, make([]CodedSymbol, n-old)...)
	limit := uint64(n)
	for x, st := range e.items {
		for ; st.cur.next < limit; st.cur.advance() {
			e.cells[st.cur.next].apply(&x, st.hash, 1)
		}
		e.items[x] = st
	}
}

// Symbol returns coded symbol i of the stream, growing the window (at least
// doubling it) if i is past it. It panics if i is negative or not below
// MaxStreamLength.
func (e *Encoder) Symbol(i int) CodedSymbol {
	if i < 0 {
		panic("riblt: negative coded symbol index")
	}
	if i >= len(e.cells) {
		e.Reserve(min(max(2*len(e.cells), i+1), MaxStreamLength))
	}
	return e.cells[i]
}

// Symbols returns n coded symbols starting at index start.
func (e *Encoder) Symbols(start, n int) []CodedSymbol {
	if n <= 0 {
		return nil
	}
	e.Symbol(start + n - 1) // grow the window once
	return append([]CodedSymbol(nil), e.cells[start:start+n]...)
}

// Next returns the coded symbol at the encoder's own read position and
// advances it. Sessions that share one Encoder should keep their own
// position and call Symbols instead.
func (e *Encoder) Next() CodedSymbol {
	s := e.Symbol(e.pos)
	e.pos++
	return s
}

// Produce returns the next n coded symbols (see Next).
func (e *Encoder) Produce(n int) []CodedSymbol {
	out := e.Symbols(e.pos, n)
	e.pos += len(out)
	return out
}

// Position returns the index of the symbol Next returns next.
func (e *Encoder) Position() int { return e.pos }

// Reset rewinds Next to the start of the stream.
func (e *Encoder) Reset() { e.pos = 0 }

// Batch returns a Batch of the n coded symbols from index start (n is cut
// to MaxSymbolsPerMessage), labelled with the key check and the set size.
// Sessions that share one Encoder each keep their own start.
//
// start and n usually come from a peer's request: Batch refuses a range
// outside the stream rather than panic, but a sender should also cap
// requests at its own budget (say DefaultMaxSymbols), since reading past
// the window grows it at O(items) cost.
func (e *Encoder) Batch(start, n int) (Batch, error) {
	n = min(n, MaxSymbolsPerMessage)
	if start < 0 || n < 0 || start+n > MaxStreamLength {
		return Batch{}, fmt.Errorf("%w: symbols %d..%d requested, the stream is capped at %d", ErrBatch, start, start+n, MaxStreamLength)
	}
	return Batch{
		KeyCheck: e.keyCheck,
		Start:    uint64(start),
		SetSize:  uint64(len(e.items)),
		Symbols:  e.Symbols(start, n),
	}, nil
}

// NextBatch is Batch at the encoder's own read position, which it advances.
func (e *Encoder) NextBatch(n int) (Batch, error) {
	b, err := e.Batch(e.pos, n)
	e.pos += len(b.Symbols)
	return b, err
}

// symbolAt and stamp make an Encoder a source of local symbols for a
// Decoder.
func (e *Encoder) symbolAt(i int) (CodedSymbol, error) {
	if i >= MaxStreamLength {
		return CodedSymbol{}, fmt.Errorf("%w: stream capped at %d symbols", ErrBudgetExceeded, MaxStreamLength)
	}
	return e.Symbol(i), nil
}

func (e *Encoder) stamp() uint64 { return e.version }
func (e *Encoder) size() int     { return len(e.items) }
