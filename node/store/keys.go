package store

import (
	"encoding/binary"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ipfs/go-cid"
)

// Key prefixes. One byte each; the full layout is documented in doc.go.
// These bytes are part of store format 1: never renumber them.
const (
	prefixOriginHead   byte   = 'h' // h ‖ origin                   → u64 highest sequence ever stored
	prefixIndicator    byte   = 'i' // i ‖ indicator ‖ assertion    → (empty)
	prefixLog          byte   = 'l' // l ‖ u64 index                → log value
	prefixMeta         byte   = 'm' // m ‖ name                     → meta value
	prefixOriginSeq    byte   = 'o' // o ‖ u8 len ‖ origin ‖ u64 seq → record CID
	prefixPlacement    byte   = 'p' // p ‖ record CID               → placement (opaque)
	prefixCursor       byte   = 'c' // c ‖ peer                     → cursor (opaque)
	prefixRecord       byte   = 'r' // r ‖ record CID               → record value
	prefixSighting     byte   = 's' // s ‖ indicator ‖ sighting     → (empty)
	prefixRetraction   byte   = 't' // t ‖ assertion ‖ retraction   → (empty)
	prefixExpiry       byte   = 'x' // x ‖ u64 expires ‖ record CID → (empty)
	metaFormatName            = "format"
	metaEpochName             = "epoch"
	metaLogNextName           = "lognext"
	metaErasedName            = "erased"
	metaCountName             = "count/" // followed by the Kind byte
	comparerName              = "vigie.store.v1"
	comparerNamePrefix        = "vigie.store.v"
	firstLogIndex      uint64 = 1
)

// comparer orders keys bytewise (exactly like pebble.DefaultComparer) but
// tells Pebble where the "prefix" of a key ends, so that the bloom filters
// are built over prefixes. For the indicator, sighting and retraction indexes
// the prefix is the type byte plus the first CID: a look-up of an indicator
// nobody asserted is then answered from in-memory filter blocks instead of
// one data-block read per LSM level. For every other key the prefix is the
// whole key, which makes Get/Has on records filter-backed too.
//
// Its name is stored by Pebble in the database and checked on every open; it
// embeds the store format, so a store written by a future format with a
// different key order is refused instead of misread.
func newComparer() *pebble.Comparer {
	c := *pebble.DefaultComparer
	c.Name = comparerName
	c.Split = splitKey
	return &c
}

// splitKey returns the length of the key's bloom-filter prefix. It must
// never panic: Pebble calls it on every key, including keys from a damaged
// or foreign store.
//
// Why this is consistent with bytewise comparison (a Pebble requirement):
// CID encodings are self-delimiting, so no valid CID encoding is a proper
// prefix of another and the prefix of a well-formed index key can never be a
// proper prefix of another key's prefix.
func splitKey(key []byte) int {
	if len(key) < 2 {
		return len(key)
	}
	switch key[0] {
	case prefixIndicator, prefixSighting, prefixRetraction:
		if n, ok := cidLen(key[1:]); ok {
			return 1 + n
		}
	}
	return len(key)
}

// cidLen returns the length of the binary CID at the start of b without
// allocating (cid.CidFromBytes allocates a string, and splitKey runs on
// every key Pebble touches). It accepts CIDv0 (a bare sha2-256 multihash)
// and CIDv1.
func cidLen(b []byte) (int, bool) {
	if len(b) >= 2 && b[0] == 0x12 && b[1] == 0x20 {
		if len(b) < 34 {
			return 0, false
		}
		return 34, true
	}
	off := 0
	version, ok := uvarintAt(b, &off)
	if !ok || version != 1 {
		return 0, false
	}
	if _, ok := uvarintAt(b, &off); !ok { // codec
		return 0, false
	}
	if _, ok := uvarintAt(b, &off); !ok { // multihash function
		return 0, false
	}
	digestLen, ok := uvarintAt(b, &off)
	if !ok || digestLen > uint64(len(b)-off) {
		return 0, false
	}
	return off + int(digestLen), true
}

// uvarintAt reads a uvarint at *off and advances it. Like multiformats'
// varint it refuses values wider than 63 bits.
func uvarintAt(b []byte, off *int) (uint64, bool) {
	v, n := binary.Uvarint(b[*off:])
	if n <= 0 || v > 1<<63-1 {
		return 0, false
	}
	*off += n
	return v, true
}

func metaKey(name string) []byte {
	return append([]byte{prefixMeta}, name...)
}

func countKey(k Kind) []byte {
	return append(metaKey(metaCountName), byte(k))
}

func recordKey(c cid.Cid) []byte {
	return appendCID([]byte{prefixRecord}, c)
}

func logKey(index uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixLog}, index)
}

// pairKey builds the i/s/t index keys: prefix ‖ first ‖ second.
func pairKey(prefix byte, first, second cid.Cid) []byte {
	k := appendCID([]byte{prefix}, first)
	return appendCID(k, second)
}

func originSeqKey(origin string, seq uint64) []byte {
	k := originSeqPrefix(origin)
	return binary.BigEndian.AppendUint64(k, seq)
}

// originSeqPrefix length-prefixes the origin so that origin "fr" never
// shares a key range with origin "fra".
func originSeqPrefix(origin string) []byte {
	k := make([]byte, 0, 2+len(origin)+8)
	k = append(k, prefixOriginSeq, byte(len(origin)))
	return append(k, origin...)
}

func originHeadKey(origin string) []byte {
	return append([]byte{prefixOriginHead}, origin...)
}

func placementKey(c cid.Cid) []byte {
	return appendCID([]byte{prefixPlacement}, c)
}

func cursorKey(peer string) []byte {
	return append([]byte{prefixCursor}, peer...)
}

func expiryKey(expires int64, c cid.Cid) []byte {
	k := binary.BigEndian.AppendUint64([]byte{prefixExpiry}, uint64(expires))
	return appendCID(k, c)
}

// appendCID appends the binary CID. cid.Cid holds its binary form as a
// string, so this copies without re-encoding.
func appendCID(dst []byte, c cid.Cid) []byte {
	return append(dst, c.KeyString()...)
}

// prefixEnd is the exclusive upper bound of all keys starting with the one
// byte p.
func prefixEnd(p byte) []byte {
	return []byte{p + 1}
}
