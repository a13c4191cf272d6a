package dagcbor

import (
	"fmt"

	"github.com/ipfs/go-cid"
)

// Fields reads a decoded map field by field, keeping the first error so that
// a record decoder can read every field in a row and check once:
//
//	f := dagcbor.ReadFields(v)
//	seq := f.Uint("seq")
//	note, hasNote := f.OptText("note")
//	if err := f.Done(); err != nil { ... }
//
// Errors name the field by its path ("members[2].agency.cc"). Done also
// fails on any field that was never read, which is how record decoders
// reject unknown fields without listing the known ones twice.
//
// An optional field is one that may be absent; when present it must have the
// expected kind (a null is never taken for "absent", since that would give
// one record two encodings).
type Fields struct {
	path    string
	entries []Entry
	read    bitset // which entries have been read
	shared  *fieldsState
}

// fieldsState is shared by a reader and the readers nested inside it.
type fieldsState struct {
	err        error
	readers    []*Fields
	readersBuf [4]*Fields // room for the usual few nested readers
}

// bitset marks read entries; the first 64 need no allocation, which covers
// every record map.
type bitset struct {
	low  uint64
	high []uint64
}

func (b *bitset) set(i int) {
	if i < 64 {
		b.low |= 1 << i
		return
	}
	w := i/64 - 1
	if w >= len(b.high) {
		b.high = append(b.high, make([]uint64, w+1-len(b.high))...)
	}
	b.high[w] |= 1 << (i % 64)
}

func (b *bitset) has(i int) bool {
	if i < 64 {
		return b.low&(1<<i) != 0
	}
	w := i/64 - 1
	return w < len(b.high) && b.high[w]&(1<<(i%64)) != 0
}

// ReadFields starts reading v, which must be a map.
func ReadFields(v Value) *Fields {
	root := &struct {
		Fields
		fieldsState
	}{}
	root.readers = root.readersBuf[:0]
	root.Fields.shared = &root.fieldsState
	root.init("", v)
	return &root.Fields
}

func newFields(path string, v Value, shared *fieldsState) *Fields {
	f := &Fields{shared: shared}
	f.init(path, v)
	return f
}

func (f *Fields) init(path string, v Value) {
	f.path = path
	f.shared.readers = append(f.shared.readers, f)
	if v.kind != KindMap {
		f.fail(fmt.Errorf("%s: %w", describe(path), v.wrongKind(KindMap)))
		return
	}
	f.entries = v.entries
}

func describe(path string) string {
	if path == "" {
		return "top-level value"
	}
	return fmt.Sprintf("field %q", path)
}

func (f *Fields) fieldPath(key string) string {
	if f.path == "" {
		return key
	}
	return f.path + "." + key
}

func (f *Fields) fail(err error) {
	if f.shared.err == nil {
		f.shared.err = err
	}
}

// Fail records err against key, for checks only the caller can make (a
// closed vocabulary, a length). The first error recorded wins.
func (f *Fields) Fail(key string, err error) {
	f.fail(fmt.Errorf("field %q: %w", f.fieldPath(key), err))
}

// Err returns the first error recorded so far.
func (f *Fields) Err() error { return f.shared.err }

// Done returns the first error recorded, or else ErrUnknownField naming the
// first field that neither this reader nor a reader nested in it has read.
func (f *Fields) Done() error {
	if f.shared.err != nil {
		return f.shared.err
	}
	for _, r := range f.shared.readers {
		for i := range r.entries {
			if !r.read.has(i) {
				return fmt.Errorf("field %q: %w", r.fieldPath(r.entries[i].Key), ErrUnknownField)
			}
		}
	}
	return nil
}

// Has reports whether key is present, without marking it read.
func (f *Fields) Has(key string) bool {
	_, found := f.find(key)
	return found
}

func (f *Fields) find(key string) (int, bool) {
	for i := range f.entries {
		if f.entries[i].Key == key {
			return i, true
		}
	}
	return 0, false
}

// OptValue returns the value under key, if present, and marks it read.
func (f *Fields) OptValue(key string) (Value, bool) {
	i, found := f.find(key)
	if !found {
		return Value{}, false
	}
	f.read.set(i)
	return f.entries[i].Value, true
}

// Value returns the value under key, recording ErrMissingField if absent.
func (f *Fields) Value(key string) Value {
	v, ok := f.OptValue(key)
	if !ok {
		f.Fail(key, ErrMissingField)
	}
	return v
}

// get converts the value under key with as, recording a failure against the
// field's path. present is false only when the field is absent.
func get[T any](f *Fields, key string, required bool, as func(Value) (T, error)) (T, bool) {
	var zero T
	v, present := f.OptValue(key)
	if !present {
		if required {
			f.Fail(key, ErrMissingField)
		}
		return zero, false
	}
	t, err := as(v)
	if err != nil {
		f.Fail(key, err)
		return zero, true
	}
	return t, true
}

// Uint reads a required unsigned integer.
func (f *Fields) Uint(key string) uint64 { u, _ := get(f, key, true, Value.AsUint); return u }

// OptUint reads an optional unsigned integer.
func (f *Fields) OptUint(key string) (uint64, bool) { return get(f, key, false, Value.AsUint) }

// Text reads a required text string.
func (f *Fields) Text(key string) string { s, _ := get(f, key, true, Value.AsText); return s }

// OptText reads an optional text string.
func (f *Fields) OptText(key string) (string, bool) { return get(f, key, false, Value.AsText) }

// Bytes reads a required byte string.
func (f *Fields) Bytes(key string) []byte { b, _ := get(f, key, true, Value.AsBytes); return b }

// OptBytes reads an optional byte string.
func (f *Fields) OptBytes(key string) ([]byte, bool) { return get(f, key, false, Value.AsBytes) }

// Bool reads a required boolean.
func (f *Fields) Bool(key string) bool { b, _ := get(f, key, true, Value.AsBool); return b }

// Link reads a required CID link.
func (f *Fields) Link(key string) cid.Cid { c, _ := get(f, key, true, Value.AsLink); return c }

// OptLink reads an optional CID link.
func (f *Fields) OptLink(key string) (cid.Cid, bool) { return get(f, key, false, Value.AsLink) }

// Array reads a required array.
func (f *Fields) Array(key string) []Value { a, _ := get(f, key, true, Value.AsArray); return a }

// TextList reads a required array of text strings.
func (f *Fields) TextList(key string) []string { l, _ := get(f, key, true, asTextList); return l }

// OptTextList reads an optional array of text strings.
func (f *Fields) OptTextList(key string) ([]string, bool) { return get(f, key, false, asTextList) }

func asTextList(v Value) ([]string, error) {
	items, err := v.AsArray()
	if err != nil {
		return nil, err
	}
	out := make([]string, len(items))
	for i, item := range items {
		if out[i], err = item.AsText(); err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
	}
	return out, nil
}

// Map returns a reader for the required map under key. Its errors and
// unknown fields are reported by this reader's Err and Done.
func (f *Fields) Map(key string) *Fields {
	return newFields(f.fieldPath(key), f.Value(key), f.shared)
}

// OptMap is Map for an optional map; it returns nil when key is absent.
func (f *Fields) OptMap(key string) *Fields {
	v, ok := f.OptValue(key)
	if !ok {
		return nil
	}
	return newFields(f.fieldPath(key), v, f.shared)
}

// Maps returns readers for each map in the required array under key.
func (f *Fields) Maps(key string) []*Fields {
	items := f.Array(key)
	readers := make([]*Fields, len(items))
	for i, item := range items {
		readers[i] = newFields(fmt.Sprintf("%s[%d]", f.fieldPath(key), i), item, f.shared)
	}
	return readers
}
