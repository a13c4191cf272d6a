package dagcbor

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"
)

// CBOR major types, shifted into the top three bits of an initial byte.
const (
	majorUint   = 0
	majorNegInt = 1
	majorBytes  = 2
	majorText   = 3
	majorArray  = 4
	majorMap    = 5
	majorTag    = 6
	majorSimple = 7
)

// The only tag DAG-CBOR knows, and the prefix byte its payload starts with
// (the multibase "identity" prefix, kept for historical compatibility).
const (
	tagCID         = 42
	cidPrefix      = 0x00
	simpleFalse    = 20
	simpleTrue     = 21
	simpleNull     = 22
	infoUint8      = 24
	infoUint16     = 25
	infoUint32     = 26
	infoUint64     = 27
	infoIndefinite = 31
)

// Encode returns the one canonical DAG-CBOR encoding of v. It refuses values
// that could not be decoded again by Decode: invalid UTF-8, duplicate map
// keys, undefined or version-0 CIDs, and the zero Value.
func Encode(v Value) ([]byte, error) {
	return AppendEncode(nil, v)
}

// AppendEncode appends the canonical encoding of v to dst.
func AppendEncode(dst []byte, v Value) ([]byte, error) {
	return appendValue(dst, v)
}

func appendValue(dst []byte, v Value) ([]byte, error) {
	switch v.kind {
	case KindUint:
		return appendHead(dst, majorUint, v.num), nil
	case KindNegInt:
		return appendHead(dst, majorNegInt, v.num), nil
	case KindBytes:
		return append(appendHead(dst, majorBytes, uint64(len(v.str))), v.str...), nil
	case KindText:
		return appendText(dst, v.str)
	case KindArray:
		return appendArray(dst, v.items)
	case KindMap:
		return appendMap(dst, v.entries)
	case KindBool:
		if v.num == 1 {
			return append(dst, majorSimple<<5|simpleTrue), nil
		}
		return append(dst, majorSimple<<5|simpleFalse), nil
	case KindNull:
		return append(dst, majorSimple<<5|simpleNull), nil
	case KindLink:
		return appendLink(dst, v)
	}
	return nil, fmt.Errorf("%w: zero Value (kind %s)", ErrInvalidValue, v.kind)
}

// appendHead writes a major type and its argument in the shortest form, the
// first rule of deterministic CBOR.
func appendHead(dst []byte, major byte, arg uint64) []byte {
	ib := major << 5
	switch {
	case arg < infoUint8:
		return append(dst, ib|byte(arg))
	case arg <= 0xff:
		return append(dst, ib|infoUint8, byte(arg))
	case arg <= 0xffff:
		return binary.BigEndian.AppendUint16(append(dst, ib|infoUint16), uint16(arg))
	case arg <= 0xffffffff:
		return binary.BigEndian.AppendUint32(append(dst, ib|infoUint32), uint32(arg))
	}
	return binary.BigEndian.AppendUint64(append(dst, ib|infoUint64), arg)
}

func appendText(dst []byte, s string) ([]byte, error) {
	if !utf8.ValidString(s) {
		return nil, fmt.Errorf("%w: text %q is not valid UTF-8", ErrInvalidValue, s)
	}
	return append(appendHead(dst, majorText, uint64(len(s))), s...), nil
}

func appendArray(dst []byte, items []Value) ([]byte, error) {
	dst = appendHead(dst, majorArray, uint64(len(items)))
	for i, item := range items {
		var err error
		if dst, err = appendValue(dst, item); err != nil {
			return nil, fmt.Errorf("array item %d: %w", i, err)
		}
	}
	return dst, nil
}

// appendMap relies on Map having sorted the entries; it still checks the
// order so that a hand-built Value can never produce non-canonical bytes.
func appendMap(dst []byte, entries []Entry) ([]byte, error) {
	dst = appendHead(dst, majorMap, uint64(len(entries)))
	for i, e := range entries {
		if i > 0 {
			if order := compareKeys(entries[i-1].Key, e.Key); order >= 0 {
				return nil, fmt.Errorf("%w: map key %q duplicated or out of order", ErrInvalidValue, e.Key)
			}
		}
		var err error
		if dst, err = appendText(dst, e.Key); err != nil {
			return nil, fmt.Errorf("map key: %w", err)
		}
		if dst, err = appendValue(dst, e.Value); err != nil {
			return nil, fmt.Errorf("map field %q: %w", e.Key, err)
		}
	}
	return dst, nil
}

func appendLink(dst []byte, v Value) ([]byte, error) {
	if !v.link.Defined() {
		return nil, fmt.Errorf("%w: undefined CID", ErrInvalidValue)
	}
	if v.link.Version() != 1 {
		return nil, fmt.Errorf("%w: CIDv%d link (only CIDv1 is used)", ErrInvalidValue, v.link.Version())
	}
	raw := v.link.KeyString() // the binary CID, without copying it into a []byte
	dst = appendHead(dst, majorTag, tagCID)
	dst = appendHead(dst, majorBytes, uint64(len(raw))+1)
	dst = append(dst, cidPrefix)
	return append(dst, raw...), nil
}
