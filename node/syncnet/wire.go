package syncnet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-varint"

	"github.com/vigie-project/vigie/node/syncengine"
)

// Wire format of one sync message (the payload of one p2p frame):
//
//	message     = type:byte body
//	Hello       (1) = epoch next:uv
//	Direct      (2) = strings
//	Push        (3) = epoch through:uv bundles
//	FeedRequest (4) = epoch after:uv limit:uv strings(skip)
//	FeedBatch   (5) = epoch after:uv next:uv done:bool bundles
//	EpochReset  (6) = epoch next:uv
//	epoch       = 16 bytes
//	strings     = count:uv (len:uv utf-8)*
//	bundles     = count:uv bundle*
//	bundle      = hasManifest:bool [record] count:uv record*
//	record      = cid:bytes kind:byte origin:string seq:uv logIndex:uv bytes:bytes proof:bytes
//	bytes       = len:uv byte*
//	bool        = 0 or 1
//
// uv is a minimally encoded unsigned varint. The encoding is canonical:
// every value has exactly one encoding, so whatever decodes re-encodes to
// the same bytes (FuzzDecode checks it). Ref.Facts never travels (it is
// node-private); Ref.LogIndex travels as the sender's index, for tracing.

// Limits enforced by Decode. The engine's own budgets must fit inside
// them; New checks the Config against them.
const (
	// MaxMessageBytes bounds one encoded message: the engine's default
	// payload budget plus room for the per-record framing (CIDs, origins,
	// varints) of MaxRecords records.
	MaxMessageBytes = syncengine.DefaultMessageBytes + 1<<20
	// MaxRecords bounds the records, manifests included, in one message.
	MaxRecords = 8192
	// MaxOrigins bounds the origins in a Direct or a FeedRequest's Skip.
	MaxOrigins = 1024
	// MaxStringBytes bounds one origin (an agency name).
	MaxStringBytes = 256
	// maxCIDBytes bounds one CID: a CIDv1 with a 64-byte digest fits.
	maxCIDBytes = 128
)

// Message types.
const (
	typeHello       byte = 1
	typeDirect      byte = 2
	typePush        byte = 3
	typeFeedRequest byte = 4
	typeFeedBatch   byte = 5
	typeEpochReset  byte = 6
)

// ErrMalformed is wrapped by every decoding error: the peer sent something
// no correct peer sends.
var ErrMalformed = errors.New("syncnet: malformed message")

// minRecordBytes is the smallest possible encoded record, used to refuse a
// declared count the remaining bytes cannot hold before allocating.
const minRecordBytes = 1 + 1 + 1 + 1 + 1 + 1 + 1 // cid len, kind, origin len, seq, index, bytes len, proof len

// Encode appends the wire form of m to dst. It fails on a message Decode
// would refuse (too large, an undefined CID, an unknown kind...), so that
// we never send what a correct peer must reject.
func Encode(dst []byte, m syncengine.Msg) ([]byte, error) {
	e := encoder{buf: dst}
	start := len(dst)
	switch m := m.(type) {
	case *syncengine.Hello:
		e.byte(typeHello)
		e.epoch(m.Epoch)
		e.uvarint(m.Next)
	case *syncengine.Direct:
		e.byte(typeDirect)
		e.strings(m.Origins)
	case *syncengine.Push:
		e.byte(typePush)
		e.epoch(m.Epoch)
		e.uvarint(m.Through)
		e.bundles(m.Bundles)
	case *syncengine.FeedRequest:
		e.byte(typeFeedRequest)
		e.epoch(m.Epoch)
		e.uvarint(m.After)
		if m.Limit < 0 || m.Limit > math.MaxInt32 {
			e.fail("feed limit %d out of range", m.Limit)
		}
		e.uvarint(uint64(max(m.Limit, 0))) // max keeps the conversion defined; fail has already recorded a negative limit
		e.strings(m.Skip)
	case *syncengine.FeedBatch:
		e.byte(typeFeedBatch)
		e.epoch(m.Epoch)
		e.uvarint(m.After)
		e.uvarint(m.Next)
		e.bool(m.Done)
		e.bundles(m.Bundles)
	case *syncengine.EpochReset:
		e.byte(typeEpochReset)
		e.epoch(m.Epoch)
		e.uvarint(m.Next)
	default:
		return dst, fmt.Errorf("syncnet: cannot encode %T", m)
	}
	if e.err == nil && len(e.buf)-start > MaxMessageBytes {
		e.fail("message of %d bytes, at most %d", len(e.buf)-start, MaxMessageBytes)
	}
	if e.err != nil {
		return dst, e.err
	}
	return e.buf, nil
}

// encoder accumulates the first error, so that encoding code reads
// straight.
type encoder struct {
	buf     []byte
	records int
	err     error
}

func (e *encoder) fail(format string, args ...any) {
	if e.err == nil {
		e.err = fmt.Errorf("syncnet: encoding: "+format, args...)
	}
}

func (e *encoder) byte(b byte)               { e.buf = append(e.buf, b) }
func (e *encoder) epoch(ep syncengine.Epoch) { e.buf = append(e.buf, ep[:]...) }

// uvarint writes v as multiformats do, which stops at 63 bits: a larger
// value (no real index or sequence gets there) is refused rather than
// sent in a form the peer's decoder rejects.
func (e *encoder) uvarint(v uint64) {
	if v > varint.MaxValueUvarint63 {
		e.fail("integer %d above 2^63-1", v)
	}
	e.buf = binary.AppendUvarint(e.buf, v)
}

func (e *encoder) bool(b bool) {
	if b {
		e.byte(1)
	} else {
		e.byte(0)
	}
}

func (e *encoder) bytes(b []byte) {
	e.uvarint(uint64(len(b)))
	e.buf = append(e.buf, b...)
}

func (e *encoder) string(s string) {
	if len(s) > MaxStringBytes || !utf8.ValidString(s) {
		e.fail("origin of %d bytes is too long or not UTF-8", len(s))
	}
	e.uvarint(uint64(len(s)))
	e.buf = append(e.buf, s...)
}

func (e *encoder) strings(ss []string) {
	if len(ss) > MaxOrigins {
		e.fail("%d origins, at most %d", len(ss), MaxOrigins)
	}
	e.uvarint(uint64(len(ss)))
	for _, s := range ss {
		e.string(s)
	}
}

func (e *encoder) bundles(bs []syncengine.Bundle) {
	e.uvarint(uint64(len(bs)))
	for i := range bs {
		b := &bs[i]
		if len(b.Records) == 0 {
			e.fail("bundle without records")
		}
		e.bool(b.Manifest != nil)
		if b.Manifest != nil {
			if b.Manifest.Ref.Kind != syncengine.KindManifest {
				e.fail("manifest of kind %d", b.Manifest.Ref.Kind)
			}
			e.record(b.Manifest)
		}
		e.uvarint(uint64(len(b.Records)))
		for j := range b.Records {
			e.record(&b.Records[j])
		}
	}
}

func (e *encoder) record(r *syncengine.Record) {
	e.records++
	if e.records > MaxRecords {
		e.fail("more than %d records", MaxRecords)
	}
	if err := checkCID(r.Ref.CID); err != nil {
		e.fail("%v", err)
	}
	if !validKind(r.Ref.Kind) {
		e.fail("unknown kind %d", r.Ref.Kind)
	}
	e.bytes(r.Ref.CID.Bytes())
	e.byte(byte(r.Ref.Kind))
	e.string(r.Ref.Origin)
	e.uvarint(r.Ref.Seq)
	e.uvarint(r.Ref.LogIndex)
	e.bytes(r.Bytes)
	e.bytes(r.Proof)
}

// Decode parses one message, enforcing the limits above, and refuses
// anything that would not re-encode to the same bytes. Byte fields of the
// result alias b, which the caller must not modify afterwards.
func Decode(b []byte) (syncengine.Msg, error) {
	if len(b) > MaxMessageBytes {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrMalformed, len(b), MaxMessageBytes)
	}
	d := decoder{buf: b}
	m := d.message()
	if d.err == nil && len(d.buf) != 0 {
		d.fail("%d trailing bytes", len(d.buf))
	}
	if d.err != nil {
		return nil, d.err
	}
	return m, nil
}

// decoder consumes buf and keeps the first error; after an error every
// read returns zero values.
type decoder struct {
	buf     []byte
	records int
	err     error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
	d.buf = nil
}

func (d *decoder) message() syncengine.Msg {
	switch t := d.byte(); t {
	case typeHello:
		return &syncengine.Hello{Epoch: d.epoch(), Next: d.uvarint()}
	case typeDirect:
		return &syncengine.Direct{Origins: d.strings()}
	case typePush:
		return &syncengine.Push{Epoch: d.epoch(), Through: d.uvarint(), Bundles: d.bundles()}
	case typeFeedRequest:
		m := &syncengine.FeedRequest{Epoch: d.epoch(), After: d.uvarint()}
		limit := d.uvarint()
		if limit > math.MaxInt32 {
			d.fail("feed limit %d out of range", limit)
		}
		m.Limit = int(limit)
		m.Skip = d.strings()
		return m
	case typeFeedBatch:
		return &syncengine.FeedBatch{Epoch: d.epoch(), After: d.uvarint(), Next: d.uvarint(), Done: d.bool(), Bundles: d.bundles()}
	case typeEpochReset:
		return &syncengine.EpochReset{Epoch: d.epoch(), Next: d.uvarint()}
	default:
		if d.err == nil {
			d.fail("unknown message type %d", t)
		}
		return nil
	}
}

func (d *decoder) byte() byte {
	if len(d.buf) < 1 {
		d.fail("truncated")
		return 0
	}
	b := d.buf[0]
	d.buf = d.buf[1:]
	return b
}

func (d *decoder) take(n uint64) []byte {
	if n > uint64(len(d.buf)) {
		d.fail("truncated: %d bytes declared, %d left", n, len(d.buf))
		return nil
	}
	if n == 0 {
		return nil
	}
	b := d.buf[:n:n]
	d.buf = d.buf[n:]
	return b
}

func (d *decoder) epoch() (e syncengine.Epoch) {
	copy(e[:], d.take(uint64(len(e))))
	return e
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n, err := varint.FromUvarint(d.buf)
	if err != nil {
		d.fail("varint: %v", err)
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) bool() bool {
	switch b := d.byte(); b {
	case 0:
		return false
	case 1:
		return true
	default:
		d.fail("boolean %d", b)
		return false
	}
}

// count reads a count of items each at least minSize bytes long, refusing
// one above limit or above what the remaining bytes can hold, so that no
// declared count makes us allocate.
func (d *decoder) count(limit, minSize int, what string) int {
	n := d.uvarint()
	if n > uint64(limit) {
		d.fail("%d %s, at most %d", n, what, limit)
		return 0
	}
	if n*uint64(minSize) > uint64(len(d.buf)) {
		d.fail("%d %s cannot fit in %d bytes", n, what, len(d.buf))
		return 0
	}
	return int(n)
}

func (d *decoder) string() string {
	n := d.uvarint()
	if n > MaxStringBytes {
		d.fail("string of %d bytes, at most %d", n, MaxStringBytes)
		return ""
	}
	b := d.take(n)
	if !utf8.Valid(b) {
		d.fail("string not UTF-8")
		return ""
	}
	return string(b)
}

func (d *decoder) strings() []string {
	n := d.count(MaxOrigins, 1, "origins")
	if n == 0 {
		return nil
	}
	out := make([]string, 0, n)
	for range n {
		out = append(out, d.string())
	}
	return out
}

func (d *decoder) bundles() []syncengine.Bundle {
	n := d.count(MaxRecords, 1+1+minRecordBytes, "bundles")
	if n == 0 {
		return nil
	}
	out := make([]syncengine.Bundle, 0, n)
	for range n {
		var b syncengine.Bundle
		if d.bool() {
			m := d.record()
			if d.err == nil && m.Ref.Kind != syncengine.KindManifest {
				d.fail("manifest of kind %d", m.Ref.Kind)
			}
			b.Manifest = &m
		}
		k := d.count(MaxRecords, minRecordBytes, "records")
		if d.err == nil && k == 0 {
			d.fail("bundle without records")
		}
		b.Records = make([]syncengine.Record, 0, k)
		for range k {
			b.Records = append(b.Records, d.record())
		}
		if d.err != nil {
			return nil
		}
		out = append(out, b)
	}
	return out
}

func (d *decoder) record() syncengine.Record {
	d.records++
	if d.records > MaxRecords {
		d.fail("more than %d records", MaxRecords)
	}
	var r syncengine.Record
	raw := d.uvarint()
	if raw > maxCIDBytes {
		d.fail("CID of %d bytes", raw)
	}
	cb := d.take(raw)
	if d.err == nil {
		c, err := cid.Cast(cb)
		if err == nil {
			err = checkCID(c)
		}
		if err == nil && string(c.Bytes()) != string(cb) {
			err = errors.New("CID not in canonical form")
		}
		if err != nil {
			d.fail("%v", err)
		}
		r.Ref.CID = c
	}
	r.Ref.Kind = syncengine.Kind(d.byte())
	if d.err == nil && !validKind(r.Ref.Kind) {
		d.fail("unknown kind %d", r.Ref.Kind)
	}
	r.Ref.Origin = d.string()
	r.Ref.Seq = d.uvarint()
	r.Ref.LogIndex = d.uvarint()
	r.Bytes = d.take(d.uvarint())
	r.Proof = d.take(d.uvarint())
	return r
}

// checkCID accepts what records are named by (DESIGN.md decision 3): a
// CIDv1 of DAG-CBOR bytes.
func checkCID(c cid.Cid) error {
	if !c.Defined() {
		return errors.New("undefined CID")
	}
	if c.Version() != 1 || c.Type() != cid.DagCBOR {
		return fmt.Errorf("CID %s is not a CIDv1 of DAG-CBOR", c)
	}
	return nil
}

func validKind(k syncengine.Kind) bool {
	return k >= syncengine.KindAssertion && k <= syncengine.KindRoster
}
