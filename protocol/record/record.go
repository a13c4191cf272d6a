package record

import (
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"github.com/vigie-project/vigie/protocol/dagcbor"
)

// FormatVersion is the "v" field every record carries. Decoding rejects any
// other value with ErrUnknownVersion: a node must not guess at the meaning
// of a format it does not know.
const FormatVersion = 1

// Size limits. A record is small; a roster holds every member's hybrid
// public key (1,984 B) and up to one hybrid signature per member (3,373 B),
// at most about 5.8 KB per member, so 1 MiB holds MaxMembers members all of
// whom have signed.
const (
	MaxRecordSize = 64 << 10 // assertion, retraction, sighting, manifest
	MaxRosterSize = 1 << 20
)

// Bounds on individual fields, in bytes or items.
const (
	MaxNoteLen       = 280 // retraction and sighting notes
	MaxRefLen        = 128 // a legal basis reference, an order reference
	MaxLegalBasis    = 16  // legal basis references per assertion
	MaxHandlingNote  = 256 // the H3 restriction text
	MaxOrgIDLen      = 32
	MaxKeyIDLen      = 64
	MaxNameLen       = 128 // organisation name, federation id
	MaxPeerIDLen     = 128
	MaxAddrs         = 4   // multiaddrs per roster member
	MaxAddrLen       = 100 // bytes per multiaddr
	MaxMembers       = 160
	MaxBatchRecords  = 4096 // records covered by one manifest
	maxStringInField = 4096 // decoder bound on any one string: fits a hybrid signature
	maxDepth         = 4    // roster → members → member → roles
	maxItems         = MaxMembers
)

// Errors. Decode errors also wrap the dagcbor sentinels (ErrNonCanonical,
// ErrTrailingData, ...) and, through them, name the byte offset.
var (
	ErrUnknownVersion = errors.New("record: unknown format version")
	ErrUnknownType    = errors.New("record: unknown record type")
	ErrInvalid        = errors.New("record: invalid field")
	ErrTooLarge       = errors.New("record: too large")
	ErrUnknownField   = dagcbor.ErrUnknownField
	ErrMissingField   = dagcbor.ErrMissingField
)

// Record is one of *Assertion, *Retraction, *Sighting, *Manifest, *Roster.
type Record interface {
	// Type returns the record's "type" field.
	Type() Type
	// Validate checks every field against the format's rules.
	Validate() error
	// Encode validates the record and returns its canonical DAG-CBOR bytes.
	Encode() ([]byte, error)
	// CID returns CIDv1(dag-cbor, sha2-256(Encode())).
	CID() (cid.Cid, error)

	// value builds the record's data-model map; unexported so that only
	// this package defines record types.
	value() dagcbor.Value
}

// IndicatorCID is the identity of an indicator: CIDv1(raw, sha2-256(token))
// over the 64-byte federation token (DESIGN.md decision 3).
func IndicatorCID(token []byte) cid.Cid {
	return cidOf(cid.Raw, token)
}

// CIDOf returns the CID of an encoded record: CIDv1(dag-cbor, sha2-256(b)).
func CIDOf(encoded []byte) cid.Cid {
	return cidOf(cid.DagCBOR, encoded)
}

func cidOf(codec uint64, data []byte) cid.Cid {
	b := cidBytes(codec, data)
	return castCID(b[:])
}

// cidBytesLen is the length of a binary CIDv1 over a SHA2-256 digest with a
// codec below 0x80: version, codec, hash function and digest length take one
// byte each.
const cidBytesLen = 4 + sha256.Size

// cidBytes builds the binary CID on the stack; batch verification hashes it
// into the Merkle tree without any allocation.
func cidBytes(codec uint64, data []byte) [cidBytesLen]byte {
	var b [cidBytesLen]byte
	b[0], b[1], b[2], b[3] = 1, byte(codec), multihash.SHA2_256, sha256.Size
	digest := sha256.Sum256(data)
	copy(b[4:], digest[:])
	return b
}

func castCID(b []byte) cid.Cid {
	c, err := cid.Cast(b)
	if err != nil {
		panic("record: cannot parse a CID built by cidBytes: " + err.Error()) // a bug, not an input error
	}
	return c
}

func encode(r Record) ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return dagcbor.Encode(r.value())
}

func recordCID(r Record) (cid.Cid, error) {
	b, err := r.Encode()
	if err != nil {
		return cid.Undef, err
	}
	return CIDOf(b), nil
}

// header returns the two entries every record starts with.
func header(t Type) []dagcbor.Entry {
	return []dagcbor.Entry{
		{Key: "v", Value: dagcbor.Uint(FormatVersion)},
		{Key: "type", Value: dagcbor.Text(string(t))},
	}
}

// decodeLimits bounds the generic decode of any record; the per-type size
// limit is applied once the type is known.
func decodeLimits() dagcbor.Limits {
	return dagcbor.Limits{MaxBytes: MaxRosterSize, MaxDepth: maxDepth, MaxString: maxStringInField, MaxItems: maxItems}
}

// Decode parses and validates one encoded record of any type. It rejects
// non-canonical bytes, unknown versions, types and fields, missing fields,
// oversized records or fields, and trailing data. The result re-encodes to
// exactly b.
func Decode(b []byte) (Record, error) {
	v, err := dagcbor.Decode(b, decodeLimits())
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	f := dagcbor.ReadFields(v)
	t, err := readHeader(f)
	if err != nil {
		return nil, err
	}
	if max := maxSize(t); len(b) > max {
		return nil, fmt.Errorf("%w: %s of %d bytes, at most %d", ErrTooLarge, t, len(b), max)
	}
	r := readBody(t, f)
	if err := f.Done(); err != nil {
		return nil, fmt.Errorf("record: %s: %w", t, err)
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return r, nil
}

func maxSize(t Type) int {
	if t == TypeRoster {
		return MaxRosterSize
	}
	return MaxRecordSize
}

// readHeader reads "v" before anything else, so that a record of an
// unknown version is reported as such rather than as having odd fields.
func readHeader(f *dagcbor.Fields) (Type, error) {
	v := f.Uint("v")
	if err := f.Err(); err != nil {
		return "", fmt.Errorf("record: %w", err)
	}
	if v != FormatVersion {
		return "", fmt.Errorf("%w: v=%d, this node reads v=%d", ErrUnknownVersion, v, FormatVersion)
	}
	t := Type(f.Text("type"))
	if err := f.Err(); err != nil {
		return "", fmt.Errorf("record: %w", err)
	}
	switch t {
	case TypeAssertion, TypeRetraction, TypeSighting, TypeManifest, TypeRoster:
		return t, nil
	}
	return "", fmt.Errorf("%w: %q", ErrUnknownType, t)
}

func readBody(t Type, f *dagcbor.Fields) Record {
	switch t {
	case TypeAssertion:
		return readAssertion(f)
	case TypeRetraction:
		return readRetraction(f)
	case TypeSighting:
		return readSighting(f)
	case TypeManifest:
		return readManifest(f)
	}
	return readRoster(f)
}

// DecodeAs decodes b and requires it to be of type T, e.g.
// DecodeAs[*Assertion](b).
func DecodeAs[T Record](b []byte) (T, error) {
	var zero T
	r, err := Decode(b)
	if err != nil {
		return zero, err
	}
	typed, ok := r.(T)
	if !ok {
		return zero, fmt.Errorf("%w: got a %s", ErrUnknownType, r.Type())
	}
	return typed, nil
}
