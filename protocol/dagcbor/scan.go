package dagcbor

// Scan validates b exactly as Decode does, and requires the top-level item
// to be a map, but builds no Value: it calls visit with each top-level entry
// in order, its key and value pointing into b. It allocates nothing, which
// is what batch verification needs to read a few fields of thousands of
// records at a fraction of a microsecond each.
//
// visit may have seen entries of an input that turns out invalid further
// on: act on what it collected only once Scan has returned nil.
func Scan(b []byte, lim Limits, visit func(key []byte, v Raw)) error {
	d := decoder{in: b, lim: lim}
	return d.whole(nil, []string{}, visit) // an empty pick: a top-level map, nothing built
}

// Raw is one data item of a document that Scan accepted: its canonical
// encoding, in the document's own memory. The zero Raw stands for no item
// at all; its Kind is KindInvalid.
type Raw struct{ enc []byte }

// Encoded returns the item's encoding, which is valid input to Decode and
// Scan. It must not be modified.
func (r Raw) Encoded() []byte { return r.enc }

// head reads the item's initial byte and argument. The item was validated
// by Scan, so the only failure is an empty (zero) Raw.
func (r Raw) head() (head, int, bool) {
	d := decoder{in: r.enc}
	h, err := d.readHead()
	return h, d.off, err == nil
}

// Kind reports the kind of the item.
func (r Raw) Kind() Kind {
	h, _, ok := r.head()
	if !ok {
		return KindInvalid
	}
	switch h.major {
	case majorTag:
		return KindLink // Scan admits no other tag
	case majorSimple:
		if h.arg == simpleNull {
			return KindNull
		}
		return KindBool
	}
	return [...]Kind{KindUint, KindNegInt, KindBytes, KindText, KindArray, KindMap}[h.major]
}

// AsUint returns the value of a Uint.
func (r Raw) AsUint() (uint64, error) {
	h, _, ok := r.head()
	if !ok || h.major != majorUint {
		return 0, Value{kind: r.Kind()}.wrongKind(KindUint)
	}
	return h.arg, nil
}

// AsText returns the bytes of a Text, which are valid UTF-8. Unlike
// Value.AsText it returns them in place, not as a new string; they must not
// be modified.
func (r Raw) AsText() ([]byte, error) {
	h, off, ok := r.head()
	if !ok || h.major != majorText {
		return nil, Value{kind: r.Kind()}.wrongKind(KindText)
	}
	return r.enc[off:], nil
}
