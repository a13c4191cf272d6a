package riblt

import (
	"errors"
	"fmt"
)

// Errors a Decoder reports. ErrBudgetExceeded and ErrStuck mean "this
// difference is too large or too strange for set reconciliation": the
// caller falls back to range-based sync.
var (
	ErrBudgetExceeded = errors.New("riblt: decoding exceeded its coded-symbol budget; fall back to range-based sync")
	ErrStuck          = errors.New("riblt: decoding is stuck: more coded symbols than any difference of the two sets could need; fall back to range-based sync")
	ErrInconsistent   = errors.New("riblt: coded symbols are inconsistent (wrong key, corrupted stream, or a set that changed mid-session)")
	ErrNotDecoded     = errors.New("riblt: not enough coded symbols to decode the difference")
	ErrKeyMismatch    = errors.New("riblt: batch was coded under another session key")
	ErrOutOfOrder     = errors.New("riblt: batch does not continue the stream")
	ErrLocalChanged   = errors.New("riblt: the local set changed during the session")
)

// DefaultMaxSymbols is a Decoder's default budget: 131,072 coded symbols
// (5.4 MB of stream), enough for about 95,000 differences.
const DefaultMaxSymbols = 1 << 17

// Stuck detection: an honest stream decodes d differences within about
// 1.35·d symbols for large d and 1.7·d for small d, and d can never exceed
// the sum of the two set sizes. A decoder that has seen more than
// stuckFactor·(|remote|+|local|) + stuckSlack symbols without finishing is
// not looking at two honest sets under one key. The slack makes a false
// alarm on a tiny, fully disjoint pair of sets rarer than one in a million,
// and a false alarm only costs a range-based sync.
const (
	stuckFactor = 2
	stuckSlack  = 128
)

// localSource supplies the receiver's own coded symbols by index: an
// Encoder or a Sketch it maintains anyway, so that a session never codes
// the local set from scratch.
type localSource interface {
	symbolAt(i int) (CodedSymbol, error)
	stamp() uint64 // changes whenever the set does
	size() int
}

// decodedItem is a recovered item still to be removed from coded symbols
// that have not arrived yet.
type decodedItem struct {
	x     Symbol
	hash  uint64
	cur   cursor // its next index not yet received
	delta int8   // what removing it adds to a count
}

// Decoder recovers the symmetric difference between a remote set, seen only
// through its coded-symbol stream, and the local set.
//
// Each received symbol has the local set's symbol of the same index
// subtracted, leaving a symbol of the difference. A difference symbol that
// holds exactly one item is "pure": count ±1 and checksum equal to the
// keyed hash of its sum. Peeling a pure symbol yields that item, which is
// then removed from every other symbol it maps to, received or still to
// come, which may make more symbols pure. The difference is decoded when
// every received symbol is empty: that checks every recovered item against
// every symbol, so a false success would need a 64-bit keyed-checksum
// collision.
//
// A Decoder is not safe for concurrent use.
type Decoder struct {
	key      Key
	hash     hasher
	keyCheck uint64

	source      localSource // maintained local set, or nil
	sourceStamp uint64
	extra       *Encoder // local items given to AddLocal, or nil

	remoteSize int // sender's set size, or -1 if not told
	budget     int

	cells   []CodedSymbol // received minus local, partly peeled
	nonzero int           // cells that are not empty
	queue   []int         // cells that may be pure
	pending []decodedItem // min-heap on cur.next
	seen    map[Symbol]struct{}
	remote  []Symbol // only in the sender's set
	local   []Symbol // only in the local set
	err     error    // sticky
}

// NewDecoder returns a decoder whose local set is given item by item with
// AddLocal.
func NewDecoder(key Key) *Decoder { return newDecoder(key, nil) }

// NewDecoderWithLocal returns a decoder that reads the local set's coded
// symbols from an Encoder the node maintains anyway, so that a session
// costs O(k + d·log k) for k symbols instead of coding the whole local
// set. The
// encoder must not change while the session runs (ErrLocalChanged).
func NewDecoderWithLocal(local *Encoder) *Decoder { return newDecoder(local.key, local) }

// NewDecoderWithSketch is NewDecoderWithLocal for a maintained Sketch; the
// session can then use at most local.Size() coded symbols.
func NewDecoderWithSketch(local *Sketch) *Decoder { return newDecoder(local.key, local) }

func newDecoder(key Key, source localSource) *Decoder {
	d := &Decoder{
		key:        key,
		hash:       newHasher(key),
		keyCheck:   KeyCheck(key),
		remoteSize: -1,
		budget:     DefaultMaxSymbols,
		seen:       make(map[Symbol]struct{}),
	}
	if source != nil {
		d.source = source
		d.sourceStamp = source.stamp()
	}
	return d
}

// SetBudget caps the number of coded symbols the decoder accepts; past it,
// AddCoded and TryDecode return ErrBudgetExceeded.
func (d *Decoder) SetBudget(maxSymbols int) { d.budget = max(maxSymbols, 1) }

// maxSetSize bounds a set size a peer may claim, so that size arithmetic
// cannot overflow.
const maxSetSize = 1 << 40

// SetRemoteSize tells the decoder how many items the sender holds (a Batch
// carries it), which lets it detect a stuck session early (ErrStuck).
func (d *Decoder) SetRemoteSize(n int) { d.remoteSize = min(max(n, 0), maxSetSize) }

// Received returns the number of coded symbols added so far.
func (d *Decoder) Received() int { return len(d.cells) }

// Err returns the error that stopped the decoder, if any.
func (d *Decoder) Err() error { return d.err }

// fail records a sticky error and returns it.
func (d *Decoder) fail(err error) error {
	if d.err == nil {
		d.err = err
	}
	return d.err
}

// AddLocal adds x to the local set. Items are best given before the first
// coded symbol; one given later is subtracted from the symbols already
// received. x must not already be in a maintained local source.
func (d *Decoder) AddLocal(x Symbol) {
	if d.extra == nil {
		d.extra = newEncoder(d.key, 256)
	}
	if !d.extra.Add(x) {
		return
	}
	h := d.hash.sum(&x)
	for c, n := newCursor(h), uint64(len(d.cells)); c.next < n; c.advance() {
		d.update(int(c.next), &x, h, -1)
	}
}

// localAt returns the local set's coded symbol i.
func (d *Decoder) localAt(i int) (CodedSymbol, error) {
	var c CodedSymbol
	if d.source != nil {
		if d.source.stamp() != d.sourceStamp {
			return c, ErrLocalChanged
		}
		s, err := d.source.symbolAt(i)
		if err != nil {
			return c, err
		}
		c = s
	}
	if d.extra != nil && d.extra.Len() > 0 {
		c = c.add(d.extra.Symbol(i))
	}
	return c, nil
}

// add returns c + o, the symbol of the union of two disjoint sets.
func (c CodedSymbol) add(o CodedSymbol) CodedSymbol {
	xorSymbol(&c.Sum, &o.Sum)
	c.Checksum ^= o.Checksum
	c.Count += o.Count
	return c
}

// AddCoded adds the sender's next coded symbol.
func (d *Decoder) AddCoded(c CodedSymbol) error {
	if d.err != nil {
		return d.err
	}
	j := len(d.cells)
	if j >= d.budget {
		return d.fail(fmt.Errorf("%w: %d symbols, %d items recovered so far", ErrBudgetExceeded, j, len(d.seen)))
	}
	local, err := d.localAt(j)
	if err != nil {
		return d.fail(err)
	}
	c = c.Subtract(local)
	// Items already recovered leave this symbol before anything looks at it.
	for len(d.pending) > 0 && d.pending[0].cur.next == uint64(j) {
		it := &d.pending[0]
		c.apply(&it.x, it.hash, it.delta)
		it.cur.advance()
		d.siftDown(0)
	}
	d.cells = append(d.cells, c)
	if !c.IsZero() {
		d.nonzero++
	}
	if c.Count == 1 || c.Count == -1 {
		d.queue = append(d.queue, j)
	}
	return nil
}

// update applies one item to cell k, keeping the bookkeeping straight.
func (d *Decoder) update(k int, x *Symbol, h uint64, delta int8) {
	c := &d.cells[k]
	if c.IsZero() {
		d.nonzero++
	}
	c.apply(x, h, delta)
	if c.IsZero() {
		d.nonzero--
	}
	if c.Count == 1 || c.Count == -1 {
		d.queue = append(d.queue, k)
	}
}

// pure reports whether c holds exactly one item.
func (d *Decoder) pure(c *CodedSymbol) bool {
	return (c.Count == 1 || c.Count == -1) && d.hash.sum(&c.Sum) == c.Checksum
}

// TryDecode peels every pure symbol it can. It returns nil while decoding
// is on track (check Decoded; if false, add more symbols), ErrBudgetExceeded
// or ErrStuck when more symbols will not help, and ErrInconsistent for
// symbols no two honest sets under this key could produce.
//
// Its work is bounded whatever the input: an item is recovered at most once
// and never more items than symbols received (d items need at least d
// symbols), and each costs O(log symbols).
func (d *Decoder) TryDecode() error {
	if d.err != nil {
		return d.err
	}
	for len(d.queue) > 0 {
		j := d.queue[len(d.queue)-1]
		d.queue = d.queue[:len(d.queue)-1]
		if !d.pure(&d.cells[j]) {
			continue
		}
		if err := d.peel(j); err != nil {
			return d.fail(err)
		}
	}
	if d.Decoded() {
		return nil
	}
	if n := len(d.cells); n >= d.budget {
		return d.fail(fmt.Errorf("%w: %d symbols, %d items recovered so far", ErrBudgetExceeded, n, len(d.seen)))
	}
	if d.remoteSize >= 0 {
		bound := stuckFactor*(d.remoteSize+d.localSize()) + stuckSlack
		if len(d.cells) > bound {
			return d.fail(fmt.Errorf("%w: %d symbols for sets of %d and %d items", ErrStuck, len(d.cells), d.remoteSize, d.localSize()))
		}
	}
	return nil
}

func (d *Decoder) localSize() int {
	n := 0
	if d.source != nil {
		n += d.source.size()
	}
	if d.extra != nil {
		n += d.extra.Len()
	}
	return n
}

// peel recovers the item of pure cell j and removes it everywhere.
func (d *Decoder) peel(j int) error {
	c := d.cells[j]
	x, h := c.Sum, c.Checksum
	if _, dup := d.seen[x]; dup {
		return fmt.Errorf("%w: an item was recovered twice", ErrInconsistent)
	}
	if len(d.seen) >= len(d.cells) {
		return fmt.Errorf("%w: more items than coded symbols", ErrInconsistent)
	}
	// Where the item lands is a function of its hash: a pure cell outside
	// its own index sequence cannot come from an honest encoder, and
	// peeling it would never empty it.
	delta := -c.Count
	cur, hit := newCursor(h), false
	for n := uint64(len(d.cells)); cur.next < n; cur.advance() {
		hit = hit || cur.next == uint64(j)
		d.update(int(cur.next), &x, h, delta)
	}
	if !hit {
		return fmt.Errorf("%w: an item appears in a coded symbol it does not map to", ErrInconsistent)
	}
	d.seen[x] = struct{}{}
	if c.Count == 1 {
		d.remote = append(d.remote, x)
	} else {
		d.local = append(d.local, x)
	}
	d.pending = append(d.pending, decodedItem{x: x, hash: h, cur: cur, delta: delta})
	d.siftUp(len(d.pending) - 1)
	return nil
}

// Decoded reports whether the difference is fully recovered: at least one
// symbol received and every received symbol accounted for.
func (d *Decoder) Decoded() bool {
	return d.err == nil && len(d.cells) > 0 && d.nonzero == 0
}

// Remote returns the items only the sender has, in the order recovered.
// Complete only once Decoded reports true.
func (d *Decoder) Remote() []Symbol { return append([]Symbol(nil), d.remote...) }

// Local returns the items only the local set has (see Remote).
func (d *Decoder) Local() []Symbol { return append([]Symbol(nil), d.local...) }

// siftUp and siftDown keep pending a binary min-heap on cur.next, so that
// each arriving symbol finds the recovered items it must lose at the top.
func (d *Decoder) siftUp(i int) {
	h := d.pending
	for i > 0 {
		p := (i - 1) / 2
		if h[p].cur.next <= h[i].cur.next {
			return
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func (d *Decoder) siftDown(i int) {
	h := d.pending
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h[r].cur.next < h[l].cur.next {
			m = r
		}
		if h[i].cur.next <= h[m].cur.next {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}
