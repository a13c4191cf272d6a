package riblt

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// SymbolSize is the size of an item: a 32-byte record id.
const SymbolSize = 32

// Symbol is one item of a reconciled set: a 32-byte record id.
type Symbol [SymbolSize]byte

// CodedSymbolSize is the wire size of a CodedSymbol: the 32-byte XOR sum,
// the 8-byte checksum and a 1-byte count.
const CodedSymbolSize = SymbolSize + 8 + 1

// CodedSymbol is one symbol of the coded stream: a summary of the items that
// map to its index.
//
// Count is the net number of items (sender's minus receiver's once
// subtracted) modulo 256. The decoder only ever asks whether a count is 0,
// +1 or −1; arithmetic modulo 256 answers that exactly as well as full
// integers would whenever a cell truly holds one item, and a cell whose true
// count merely wraps to ±1 still fails the checksum test. Sending one byte
// instead of a varint of the set size saves 2–3 bytes per symbol.
type CodedSymbol struct {
	Sum      Symbol // XOR of the items
	Checksum uint64 // XOR of the items' keyed hashes
	Count    int8   // number of items, modulo 256
}

// ErrCodedSymbolSize is returned by UnmarshalBinary for input of the wrong
// length.
var ErrCodedSymbolSize = errors.New("riblt: coded symbol is not 41 bytes")

// IsZero reports whether c summarises no items at all.
func (c *CodedSymbol) IsZero() bool {
	return c.Count == 0 && c.Checksum == 0 && c.Sum == Symbol{}
}

// apply adds (delta = +1) or removes (delta = −1) one item with keyed hash
// h. XOR is its own inverse, so only the count tells the two apart.
func (c *CodedSymbol) apply(x *Symbol, h uint64, delta int8) {
	xorSymbol(&c.Sum, x)
	c.Checksum ^= h
	c.Count += delta
}

// Subtract returns c − o: the symbol of the difference of the two
// underlying sets, with items only in o counted negatively.
func (c CodedSymbol) Subtract(o CodedSymbol) CodedSymbol {
	xorSymbol(&c.Sum, &o.Sum)
	c.Checksum ^= o.Checksum
	c.Count -= o.Count
	return c
}

// xorSymbol sets a ^= b eight bytes at a time.
func xorSymbol(a, b *Symbol) {
	for i := 0; i < SymbolSize; i += 8 {
		w := binary.LittleEndian.Uint64(a[i:i+8]) ^ binary.LittleEndian.Uint64(b[i:i+8])
		binary.LittleEndian.PutUint64(a[i:i+8], w)
	}
}

// AppendBinary appends the 41-byte wire form of c: sum, checksum (little
// endian), count.
func (c CodedSymbol) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, c.Sum[:]...)
	b = binary.LittleEndian.AppendUint64(b, c.Checksum)
	return append(b, byte(c.Count)), nil
}

// MarshalBinary returns the 41-byte wire form of c.
func (c CodedSymbol) MarshalBinary() ([]byte, error) {
	return c.AppendBinary(make([]byte, 0, CodedSymbolSize))
}

// UnmarshalBinary decodes the 41-byte wire form. Every 41-byte string is a
// valid coded symbol: whether it is consistent with anything is the
// decoder's business.
func (c *CodedSymbol) UnmarshalBinary(b []byte) error {
	if len(b) != CodedSymbolSize {
		return fmt.Errorf("%w: got %d", ErrCodedSymbolSize, len(b))
	}
	copy(c.Sum[:], b[:SymbolSize])
	c.Checksum = binary.LittleEndian.Uint64(b[SymbolSize:])
	c.Count = int8(b[SymbolSize+8])
	return nil
}
