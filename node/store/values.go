package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/ipfs/go-cid"
)

// errBadValue marks a stored value that does not decode. Callers wrap it in
// ErrCorrupt together with the key it came from.
var errBadValue = errors.New("malformed stored value")

// Record value layout (format 1), all integers big-endian:
//
//	[0]      kind
//	[1:9]    local log index of the record
//	[9:17]   per-origin sequence (0 = none)
//	[17:25]  expires, unix seconds (0 = never)
//	u8 len ‖ origin
//	u8 len ‖ indicator CID (len 0 = none)
//	u8 len ‖ target CID    (len 0 = none)
//	rest     the encoded record, exactly as handed to Put
//
// The index facts live next to the record so that Erase and Check can find
// every index entry that points at it without decoding the record.
const recordFixedLen = 1 + 8 + 8 + 8

// maxFieldLen bounds origins and CIDs so that one length byte suffices.
const maxFieldLen = 255

// recordHeader is the decoded fixed part of a record value. Origin and the
// CIDs stay as raw bytes so that Get does not pay for parsing them.
type recordHeader struct {
	kind      Kind
	logIndex  uint64
	seq       uint64
	expires   int64
	origin    []byte
	indicator []byte
	target    []byte
}

func encodeRecordValue(e *Entry, logIndex uint64) []byte {
	ind, tgt := cidBytes(e.Indicator), cidBytes(e.Target)
	v := make([]byte, 0, recordFixedLen+3+len(e.Origin)+len(ind)+len(tgt)+len(e.Bytes))
	v = append(v, byte(e.Kind))
	v = binary.BigEndian.AppendUint64(v, logIndex)
	v = binary.BigEndian.AppendUint64(v, e.Seq)
	v = binary.BigEndian.AppendUint64(v, uint64(e.Expires))
	v = append(v, byte(len(e.Origin)))
	v = append(v, e.Origin...)
	v = append(v, byte(len(ind)))
	v = append(v, ind...)
	v = append(v, byte(len(tgt)))
	v = append(v, tgt...)
	return append(v, e.Bytes...)
}

// decodeRecordValue splits a record value into its header and the record
// bytes. The returned slices alias v.
func decodeRecordValue(v []byte) (recordHeader, []byte, error) {
	var h recordHeader
	if len(v) < recordFixedLen {
		return h, nil, fmt.Errorf("%w: record value of %d bytes is shorter than its header", errBadValue, len(v))
	}
	h.kind = Kind(v[0])
	if !h.kind.valid() {
		return h, nil, fmt.Errorf("%w: unknown record kind %d", errBadValue, v[0])
	}
	h.logIndex = binary.BigEndian.Uint64(v[1:9])
	h.seq = binary.BigEndian.Uint64(v[9:17])
	h.expires = int64(binary.BigEndian.Uint64(v[17:25]))
	rest := v[recordFixedLen:]
	var err error
	for _, field := range []*[]byte{&h.origin, &h.indicator, &h.target} {
		if *field, rest, err = cutField(rest); err != nil {
			return h, nil, err
		}
	}
	if len(rest) == 0 {
		return h, nil, fmt.Errorf("%w: record value holds no record bytes", errBadValue)
	}
	return h, rest, nil
}

// cutField splits a u8-length-prefixed field off the front of b.
func cutField(b []byte) (field, rest []byte, err error) {
	if len(b) == 0 {
		return nil, nil, fmt.Errorf("%w: record value truncated before a length byte", errBadValue)
	}
	n := int(b[0])
	if len(b)-1 < n {
		return nil, nil, fmt.Errorf("%w: record value field of %d bytes truncated", errBadValue, n)
	}
	return b[1 : 1+n], b[1+n:], nil
}

// facts parses the header's CIDs. It is used by Erase and Check, which need
// them as CIDs; an empty field yields cid.Undef.
func (h *recordHeader) facts() (indicator, target cid.Cid, err error) {
	if indicator, err = castOptional(h.indicator); err != nil {
		return cid.Undef, cid.Undef, fmt.Errorf("%w: indicator: %v", errBadValue, err)
	}
	if target, err = castOptional(h.target); err != nil {
		return cid.Undef, cid.Undef, fmt.Errorf("%w: target: %v", errBadValue, err)
	}
	return indicator, target, nil
}

func castOptional(b []byte) (cid.Cid, error) {
	if len(b) == 0 {
		return cid.Undef, nil
	}
	return cid.Cast(b)
}

func cidBytes(c cid.Cid) []byte {
	if !c.Defined() {
		return nil
	}
	return []byte(c.KeyString())
}

// Log value layout (format 1):
//
//	live entry: kind ‖ record CID
//	tombstone:  kind|logErasedBit   (the CID is dropped on erasure)
const logErasedBit = 0x80

func encodeLogValue(k Kind, c cid.Cid) []byte {
	return appendCID([]byte{byte(k)}, c)
}

func encodeLogTombstone(k Kind) []byte {
	return []byte{byte(k) | logErasedBit}
}

// decodeLogValue decodes a log value into a LogEntry without its index.
func decodeLogValue(v []byte) (LogEntry, error) {
	if len(v) == 0 {
		return LogEntry{}, fmt.Errorf("%w: empty log value", errBadValue)
	}
	e := LogEntry{Kind: Kind(v[0] &^ logErasedBit), Erased: v[0]&logErasedBit != 0}
	if !e.Kind.valid() {
		return LogEntry{}, fmt.Errorf("%w: log value with unknown kind %d", errBadValue, v[0])
	}
	if e.Erased {
		if len(v) != 1 {
			return LogEntry{}, fmt.Errorf("%w: log tombstone with %d trailing bytes", errBadValue, len(v)-1)
		}
		return e, nil
	}
	c, err := cid.Cast(v[1:])
	if err != nil {
		return LogEntry{}, fmt.Errorf("%w: log value CID: %v", errBadValue, err)
	}
	e.CID = c
	return e, nil
}

func encodeU64(v uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, v)
}

func decodeU64(v []byte) (uint64, error) {
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: expected an 8-byte integer, found %d bytes", errBadValue, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}
