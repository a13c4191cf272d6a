package dagcbor

import (
	"bytes"
	"strconv"
	"unicode/utf8"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
	"github.com/multiformats/go-varint"
)

// Limits bound what Decode will read, so that a hostile peer cannot make a
// node allocate or recurse without bound. Every field must be set; a zero
// field admits nothing of that kind (a zero MaxDepth still admits a scalar).
type Limits struct {
	MaxBytes  int // length of the whole input
	MaxDepth  int // nesting of arrays and maps; a top-level map has depth 1
	MaxString int // bytes in one byte or text string, including a CID payload
	MaxItems  int // items in one array, or entries in one map
}

// DefaultLimits suits small documents of unknown shape. Record types use
// tighter limits of their own.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 1 << 20, MaxDepth: 16, MaxString: 64 << 10, MaxItems: 4096}
}

// Decode parses exactly one DAG-CBOR data item that must fill b, and accepts
// it only if it is the canonical encoding of its value: Encode(Decode(b)) == b
// for every b that Decode accepts.
//
// Decoded strings share one copy of the input, which saves an allocation
// per string; a retained Value therefore keeps that copy alive.
func Decode(b []byte, lim Limits) (Value, error) {
	d := decoder{in: b, lim: lim}
	var v Value
	if err := d.whole(&v, nil, nil); err != nil {
		return Value{}, err
	}
	return v, nil
}

// Pick validates b exactly as Decode does but builds only the named fields
// of the top-level map, returning them as a map. It exists for hot paths that
// need two or three fields of a record without materialising the rest.
func Pick(b []byte, lim Limits, keys ...string) (Value, error) {
	if keys == nil {
		keys = []string{} // nil means "keep everything" below
	}
	d := decoder{in: b, lim: lim, picking: true}
	var v Value
	if err := d.whole(&v, keys, nil); err != nil {
		return Value{}, err
	}
	return v, nil
}

// whole decodes the one data item that must fill d.in into *dst, or only
// validates it if dst is nil. A non-nil pick requires a top-level map and
// keeps only its entries named in pick; visit, if not nil, is then called
// with each of its entries once validated (see Scan). visit is a parameter
// rather than a decoder field so that the compiler can see that it does not
// escape, and Scan's caller need not allocate its closure.
func (d *decoder) whole(dst *Value, pick []string, visit func(key []byte, v Raw)) error {
	if len(d.in) > d.lim.MaxBytes {
		return errAt(0, ErrTooLarge, "input of %d bytes exceeds limit %d", len(d.in), d.lim.MaxBytes)
	}
	var err error
	if pick == nil {
		err = d.value(0, dst)
	} else {
		err = d.topMap(dst, pick, visit)
	}
	if err != nil {
		return err
	}
	if d.off != len(d.in) {
		return errAt(d.off, ErrTrailingData, "%d bytes after the data item", len(d.in)-d.off)
	}
	return nil
}

type decoder struct {
	in  []byte
	off int
	lim Limits
	// text is in as a string, made on first need: every decoded key and
	// string is a substring of it instead of an allocation of its own (one
	// copy of a record is cheaper than a dozen small allocations).
	text string
	// picking is set by Pick, which keeps so few strings that copying each
	// of them is cheaper than copying the whole input.
	picking bool
}

// substr returns in[from:to] as a string.
func (d *decoder) substr(from, to int) string {
	switch {
	case from == to:
		return ""
	case d.picking:
		return string(d.in[from:to])
	case d.text == "":
		d.text = string(d.in)
	}
	return d.text[from:to]
}

// head is a decoded initial byte with its argument.
type head struct {
	start int    // offset of the initial byte
	major byte   // CBOR major type
	arg   uint64 // integer value, length, item count, tag number or simple value
}

// minArg is the smallest argument a head with a size-byte argument may
// carry; a smaller one would fit a shorter head and is therefore
// non-canonical.
func minArg(size int) uint64 {
	if size == 1 {
		return infoUint8
	}
	return 1 << (4 * size) // 2 bytes: 256, 4 bytes: 65536, 8 bytes: 2^32
}

func (d *decoder) readHead() (head, error) {
	start := d.off
	if start >= len(d.in) {
		return head{}, errAt(start, ErrTruncated, "data item expected")
	}
	major, info := d.in[start]>>5, d.in[start]&0x1f
	d.off++
	if major == majorSimple {
		return head{start: start, major: major, arg: uint64(info)}, checkSimple(start, info)
	}
	switch {
	case info < infoUint8:
		return head{start: start, major: major, arg: uint64(info)}, nil
	case info <= infoUint64:
		return d.readLongArg(start, major, info)
	case info == infoIndefinite && major >= majorBytes && major <= majorMap:
		return head{}, errAt(start, ErrNonCanonical, "indefinite-length %s", majorName(major))
	case info == infoIndefinite:
		return head{}, errAt(start, ErrMalformed, "indefinite length on %s", majorName(major))
	}
	return head{}, errAt(start, ErrMalformed, "reserved additional information %d", info)
}

func (d *decoder) readLongArg(start int, major, info byte) (head, error) {
	size := 1 << (info - infoUint8)
	if len(d.in)-d.off < size {
		return head{}, errAt(start, ErrTruncated, "%d-byte argument of %s cut short", size, majorName(major))
	}
	var arg uint64
	for _, b := range d.in[d.off : d.off+size] {
		arg = arg<<8 | uint64(b)
	}
	d.off += size
	if arg < minArg(size) {
		return head{}, errAt(start, ErrNonCanonical, "%s argument %d encoded in %d bytes, longer than needed", majorName(major), arg, size)
	}
	return head{start: start, major: major, arg: arg}, nil
}

// checkSimple admits only false, true and null among the major-type-7 items.
func checkSimple(start int, info byte) error {
	switch {
	case info == simpleFalse || info == simpleTrue || info == simpleNull:
		return nil
	case info == 23:
		return errAt(start, ErrUnsupported, "undefined")
	case info >= infoUint16 && info <= infoUint64:
		return errAt(start, ErrUnsupported, "float%d (floats are not used)", 8<<(info-infoUint8))
	case info == infoIndefinite:
		return errAt(start, ErrMalformed, "break code outside an indefinite-length item")
	case info > infoUint64:
		return errAt(start, ErrMalformed, "reserved additional information %d", info)
	}
	return errAt(start, ErrUnsupported, "simple value (additional information %d)", info)
}

func majorName(major byte) string {
	return [...]string{"uint", "negint", "byte string", "text string", "array", "map", "tag", "simple value"}[major]
}

// value decodes one data item, whose enclosing containers number depth,
// into *dst. With dst nil it validates the item completely but builds
// nothing, which is how Pick skips fields. Decoding in place rather than
// returning Values saves copying them at every level.
func (d *decoder) value(depth int, dst *Value) error {
	h, err := d.readHead()
	if err != nil {
		return err
	}
	switch h.major {
	case majorUint, majorNegInt:
		if dst != nil {
			*dst = Value{kind: KindUint, num: h.arg}
			if h.major == majorNegInt {
				dst.kind = KindNegInt
			}
		}
	case majorBytes:
		s, err := d.readString(h)
		if err != nil {
			return err
		}
		if dst != nil {
			*dst = Value{kind: KindBytes, str: d.substr(d.off-len(s), d.off)}
		}
	case majorText:
		s, err := d.readText(h)
		if err != nil {
			return err
		}
		if dst != nil {
			*dst = Value{kind: KindText, str: d.substr(d.off-len(s), d.off)}
		}
	case majorArray:
		return d.array(h, depth, dst)
	case majorMap:
		return d.mapBody(h, depth, dst, nil, nil)
	case majorTag:
		return d.link(h, dst)
	default:
		if dst != nil {
			*dst = simpleValue(h)
		}
	}
	return nil
}

func simpleValue(h head) Value {
	switch h.arg {
	case simpleTrue:
		return Bool(true)
	case simpleFalse:
		return Bool(false)
	}
	return Null()
}

func (d *decoder) readString(h head) ([]byte, error) {
	if h.arg > uint64(d.lim.MaxString) {
		return nil, errAt(h.start, ErrTooLarge, "%s of %d bytes exceeds limit %d", majorName(h.major), h.arg, d.lim.MaxString)
	}
	if h.arg > uint64(len(d.in)-d.off) {
		return nil, errAt(h.start, ErrTruncated, "%s of %d bytes, only %d left", majorName(h.major), h.arg, len(d.in)-d.off)
	}
	s := d.in[d.off : d.off+int(h.arg)]
	d.off += int(h.arg)
	return s, nil
}

func (d *decoder) readText(h head) ([]byte, error) {
	s, err := d.readString(h)
	if err != nil {
		return nil, err
	}
	if !validUTF8(s) {
		return nil, errAt(h.start, ErrMalformed, "text string is not valid UTF-8")
	}
	return s, nil
}

// validUTF8 is utf8.Valid with a byte loop in front: record strings are
// short and ASCII, where the loop beats utf8.Valid's call and setup cost.
func validUTF8(s []byte) bool {
	for i, c := range s {
		if c >= utf8.RuneSelf {
			return utf8.Valid(s[i:])
		}
	}
	return true
}

// enter checks a container's depth and item count before anything is
// allocated for it. minItemBytes lets a count that could never fit in the
// remaining input fail at once instead of driving a huge allocation.
func (d *decoder) enter(h head, depth int, minItemBytes uint64) (int, error) {
	what := majorName(h.major)
	if depth+1 > d.lim.MaxDepth {
		return 0, errAt(h.start, ErrTooDeep, "%s at depth %d exceeds limit %d", what, depth+1, d.lim.MaxDepth)
	}
	if h.arg > uint64(d.lim.MaxItems) {
		return 0, errAt(h.start, ErrTooLarge, "%s of %d items exceeds limit %d", what, h.arg, d.lim.MaxItems)
	}
	if left := uint64(len(d.in) - d.off); h.arg > left/minItemBytes {
		return 0, errAt(h.start, ErrTruncated, "%s of %d items cannot fit in the %d bytes left", what, h.arg, left)
	}
	return int(h.arg), nil
}

func (d *decoder) array(h head, depth int, dst *Value) error {
	n, err := d.enter(h, depth, 1)
	if err != nil {
		return err
	}
	var items []Value
	if dst != nil {
		items = make([]Value, n)
	}
	for i := range n {
		var slot *Value
		if dst != nil {
			slot = &items[i]
		}
		if err := d.value(depth+1, slot); err != nil {
			return within(err, "["+strconv.Itoa(i)+"]")
		}
	}
	if dst != nil {
		*dst = Value{kind: KindArray, items: items}
	}
	return nil
}

// topMap decodes the top-level item, which must be a map, into *dst,
// keeping only the entries whose key is in pick, as mapBody does.
func (d *decoder) topMap(dst *Value, pick []string, visit func(key []byte, v Raw)) error {
	h, err := d.readHead()
	if err != nil {
		return err
	}
	if h.major != majorMap {
		return errAt(h.start, ErrWrongKind, "top-level %s, want map", majorName(h.major))
	}
	return d.mapBody(h, 0, dst, pick, visit)
}

// mapBody decodes a map's entries into *dst, enforcing text keys in
// strictly increasing canonical order. pick == nil keeps every entry;
// otherwise only the entries whose key is in pick are built. Entries not
// built are still fully validated. visit, if not nil, is called with each
// entry after its value has been validated.
func (d *decoder) mapBody(h head, depth int, dst *Value, pick []string, visit func(key []byte, v Raw)) error {
	n, err := d.enter(h, depth, 2)
	if err != nil {
		return err
	}
	var entries []Entry
	if dst != nil {
		// Enough capacity for every kept entry, so that the slots handed to
		// d.value below never move.
		size := n
		if pick != nil {
			size = min(n, len(pick))
		}
		entries = make([]Entry, 0, size)
	}
	var prev []byte
	for i := range n {
		key, err := d.mapKey(prev, i == 0)
		if err != nil {
			return err
		}
		prev = key
		var slot *Value
		if k, keep := pickedKey(pick, key); dst != nil && keep {
			if pick == nil {
				k = d.substr(d.off-len(key), d.off)
			}
			entries = append(entries, Entry{Key: k})
			slot = &entries[len(entries)-1].Value
		}
		start := d.off
		if err := d.value(depth+1, slot); err != nil {
			return within(err, string(key))
		}
		if visit != nil {
			visit(key, Raw{d.in[start:d.off]})
		}
	}
	if dst != nil {
		*dst = Value{kind: KindMap, entries: entries}
	}
	return nil
}

// pickedKey reports whether key is to be kept: always when pick is nil,
// else when pick holds it, in which case it returns pick's copy of the key
// so that no new string is needed.
func pickedKey(pick []string, key []byte) (string, bool) {
	if pick == nil {
		return "", true
	}
	for _, k := range pick {
		if string(key) == k { // compiled without converting key to a string
			return k, true
		}
	}
	return "", false
}

func (d *decoder) mapKey(prev []byte, first bool) ([]byte, error) {
	h, err := d.readHead()
	if err != nil {
		return nil, err
	}
	if h.major != majorText {
		return nil, errAt(h.start, ErrUnsupported, "map key is a %s; keys must be text strings", majorName(h.major))
	}
	key, err := d.readText(h)
	if err != nil || first {
		return key, err
	}
	switch order := compareKeyBytes(prev, key); {
	case order == 0:
		return nil, errAt(h.start, ErrNonCanonical, "duplicate map key %q", key)
	case order > 0:
		return nil, errAt(h.start, ErrNonCanonical, "map key %q must sort before %q (length first, then bytewise)", key, prev)
	}
	return key, nil
}

func compareKeyBytes(a, b []byte) int {
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return bytes.Compare(a, b)
}

// link decodes tag 42: a byte string holding 0x00 and a binary CIDv1.
func (d *decoder) link(h head, dst *Value) error {
	if h.arg != tagCID {
		return errAt(h.start, ErrUnsupported, "tag %d (only tag 42, a CID link, is allowed)", h.arg)
	}
	ph, err := d.readHead()
	if err != nil {
		return err
	}
	if ph.major != majorBytes {
		return errAt(ph.start, ErrMalformed, "tag 42 encloses a %s, want byte string", majorName(ph.major))
	}
	payload, err := d.readString(ph)
	if err != nil {
		return err
	}
	if err := checkCID(ph.start, payload); err != nil || dst == nil {
		return err
	}
	c, err := parseCID(ph.start, payload[1:])
	if err != nil {
		return err
	}
	*dst = Link(c)
	return nil
}

// checkCID validates a tag-42 payload without allocating (Pick skips most
// links), accepting exactly what cid.Cast accepts, less CIDv0: the 0x00
// prefix, then version 1, a codec and a multihash, all varints minimal
// (go-varint refuses over-long ones), and nothing after the digest.
func checkCID(start int, payload []byte) error {
	if len(payload) == 0 || payload[0] != cidPrefix {
		return errAt(start, ErrMalformed, "CID payload must start with byte 0x00")
	}
	raw := payload[1:]
	if len(raw) > 2 && raw[0] == multihash.SHA2_256 && raw[1] == 32 {
		if len(raw) == 34 {
			return errAt(start, ErrUnsupported, "CIDv0 link (only CIDv1 is used)")
		}
		return errAt(start, ErrMalformed, "invalid CID: %d bytes of what starts as a CIDv0", len(raw))
	}
	version, n, err := varint.FromUvarint(raw)
	if err != nil {
		return errAt(start, ErrMalformed, "invalid CID version: %v", err)
	}
	if version != 1 {
		return errAt(start, ErrMalformed, "invalid CID: version %d", version)
	}
	_, m, err := varint.FromUvarint(raw[n:])
	if err != nil {
		return errAt(start, ErrMalformed, "invalid CID codec: %v", err)
	}
	size, _, err := multihash.MHFromBytes(raw[n+m:])
	if err != nil {
		return errAt(start, ErrMalformed, "invalid CID multihash: %v", err)
	}
	if n+m+size != len(raw) {
		return errAt(start, ErrMalformed, "invalid CID: %d bytes after the multihash", len(raw)-n-m-size)
	}
	return nil
}

// parseCID builds the CID checkCID accepted.
func parseCID(start int, raw []byte) (cid.Cid, error) {
	c, err := cid.Cast(raw)
	if err != nil {
		return cid.Undef, errAt(start, ErrMalformed, "invalid CID: %v", err)
	}
	if c.KeyString() != string(raw) {
		return cid.Undef, errAt(start, ErrNonCanonical, "CID not in its canonical binary form")
	}
	return c, nil
}
