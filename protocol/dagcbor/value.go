package dagcbor

import (
	"fmt"
	"slices"

	"github.com/ipfs/go-cid"
)

// Kind is the IPLD data-model kind of a Value. Floats are deliberately absent:
// no federation record needs them and their encodings are a classic source of
// non-determinism.
type Kind uint8

const (
	KindInvalid Kind = iota // the zero Value; never encoded
	KindUint                // CBOR major type 0
	KindNegInt              // CBOR major type 1: the value -1-n
	KindBytes               // major type 2
	KindText                // major type 3, valid UTF-8
	KindArray               // major type 4
	KindMap                 // major type 5, text keys only
	KindBool                // simple values 20 and 21
	KindNull                // simple value 22
	KindLink                // tag 42 over a byte string holding 0x00 and a CIDv1
)

// String names the kind the way error messages show it.
func (k Kind) String() string {
	switch k {
	case KindUint:
		return "uint"
	case KindNegInt:
		return "negint"
	case KindBytes:
		return "bytes"
	case KindText:
		return "text"
	case KindArray:
		return "array"
	case KindMap:
		return "map"
	case KindBool:
		return "bool"
	case KindNull:
		return "null"
	case KindLink:
		return "link"
	default:
		return "invalid"
	}
}

// Value is one node of the data-model tree. It is immutable: constructors copy
// what they are given, so a Value can be shared freely between goroutines.
type Value struct {
	kind Kind
	// num holds the Uint value, the NegInt argument n (value -1-n), or 1 for true.
	num uint64
	// str holds Text, and Bytes as an immutable string.
	str     string
	items   []Value
	entries []Entry // sorted in canonical key order
	link    cid.Cid
}

// Entry is one key/value pair of a map.
type Entry struct {
	Key   string
	Value Value
}

// Uint returns an unsigned integer value.
func Uint(u uint64) Value { return Value{kind: KindUint, num: u} }

// Int returns i as a Uint when non-negative and as a NegInt otherwise, the
// only encoding DAG-CBOR allows for it.
func Int(i int64) Value {
	if i >= 0 {
		return Uint(uint64(i))
	}
	return NegInt(uint64(-(i + 1)))
}

// NegInt returns the negative integer -1-n. CBOR's negative range reaches
// -2^64, beyond int64, so the argument rather than the value is what is kept.
func NegInt(n uint64) Value { return Value{kind: KindNegInt, num: n} }

// Bytes returns a byte-string value holding a copy of b.
func Bytes(b []byte) Value { return Value{kind: KindBytes, str: string(b)} }

// Text returns a text-string value. Encode rejects invalid UTF-8.
func Text(s string) Value { return Value{kind: KindText, str: s} }

// TextList returns an array of text values, the common shape of record lists.
func TextList[S ~string](ss []S) Value {
	items := make([]Value, len(ss))
	for i, s := range ss {
		items[i] = Text(string(s))
	}
	return Value{kind: KindArray, items: items}
}

// Array returns an array value holding a copy of items.
func Array(items ...Value) Value {
	return Value{kind: KindArray, items: slices.Clone(items)}
}

// Map returns a map value. Entries may be given in any order; they are kept
// in canonical order. Duplicate keys are reported by Encode.
func Map(entries ...Entry) Value {
	sorted := slices.Clone(entries)
	slices.SortStableFunc(sorted, func(a, b Entry) int { return compareKeys(a.Key, b.Key) })
	return Value{kind: KindMap, entries: sorted}
}

// Bool returns a boolean value.
func Bool(b bool) Value {
	if b {
		return Value{kind: KindBool, num: 1}
	}
	return Value{kind: KindBool}
}

// Null returns the null value.
func Null() Value { return Value{kind: KindNull} }

// Link returns a link value. Encode rejects cid.Undef and CIDv0.
func Link(c cid.Cid) Value { return Value{kind: KindLink, link: c} }

// compareKeys orders map keys as RFC 7049 canonical CBOR and DAG-CBOR do:
// shorter first, then bytewise. For text keys this equals ordering by the
// encoded key bytes, because a longer string never has a shorter encoding.
func compareKeys(a, b string) int {
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Kind reports the kind of v.
func (v Value) Kind() Kind { return v.kind }

func (v Value) wrongKind(want Kind) error {
	return fmt.Errorf("%w: want %s, have %s", ErrWrongKind, want, v.kind)
}

// AsUint returns the value of a Uint.
func (v Value) AsUint() (uint64, error) {
	if v.kind != KindUint {
		return 0, v.wrongKind(KindUint)
	}
	return v.num, nil
}

// AsInt returns a Uint or NegInt as an int64, failing if it does not fit.
func (v Value) AsInt() (int64, error) {
	switch v.kind {
	case KindUint:
		if v.num > 1<<63-1 {
			return 0, fmt.Errorf("%w: %d overflows int64", ErrWrongKind, v.num)
		}
		return int64(v.num), nil
	case KindNegInt:
		if v.num > 1<<63-1 {
			return 0, fmt.Errorf("%w: -1-%d overflows int64", ErrWrongKind, v.num)
		}
		return -1 - int64(v.num), nil
	}
	return 0, v.wrongKind(KindUint)
}

// NegIntArg returns n for the NegInt -1-n.
func (v Value) NegIntArg() (uint64, error) {
	if v.kind != KindNegInt {
		return 0, v.wrongKind(KindNegInt)
	}
	return v.num, nil
}

// AsText returns the string of a Text value.
func (v Value) AsText() (string, error) {
	if v.kind != KindText {
		return "", v.wrongKind(KindText)
	}
	return v.str, nil
}

// AsBytes returns a fresh copy of a Bytes value's contents.
func (v Value) AsBytes() ([]byte, error) {
	if v.kind != KindBytes {
		return nil, v.wrongKind(KindBytes)
	}
	return []byte(v.str), nil
}

// AsBool returns the value of a Bool.
func (v Value) AsBool() (bool, error) {
	if v.kind != KindBool {
		return false, v.wrongKind(KindBool)
	}
	return v.num == 1, nil
}

// AsLink returns the CID of a Link.
func (v Value) AsLink() (cid.Cid, error) {
	if v.kind != KindLink {
		return cid.Undef, v.wrongKind(KindLink)
	}
	return v.link, nil
}

// AsArray returns the items of an Array. The slice must not be modified.
func (v Value) AsArray() ([]Value, error) {
	if v.kind != KindArray {
		return nil, v.wrongKind(KindArray)
	}
	return v.items, nil
}

// AsEntries returns the entries of a Map in canonical key order. The slice
// must not be modified.
func (v Value) AsEntries() ([]Entry, error) {
	if v.kind != KindMap {
		return nil, v.wrongKind(KindMap)
	}
	return v.entries, nil
}

// Lookup returns the value stored under key in a Map.
func (v Value) Lookup(key string) (Value, bool) {
	i, found := slices.BinarySearchFunc(v.entries, key, func(e Entry, k string) int { return compareKeys(e.Key, k) })
	if !found {
		return Value{}, false
	}
	return v.entries[i].Value, true
}

// Equal reports whether a and b are the same data-model value.
func Equal(a, b Value) bool {
	if a.kind != b.kind || a.num != b.num || a.str != b.str || !a.link.Equals(b.link) {
		return false
	}
	if !slices.EqualFunc(a.items, b.items, Equal) {
		return false
	}
	return slices.EqualFunc(a.entries, b.entries, func(x, y Entry) bool {
		return x.Key == y.Key && Equal(x.Value, y.Value)
	})
}
