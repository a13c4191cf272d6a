// Package dagcbor is the federation's strict, deterministic DAG-CBOR codec.
//
// Every Vigie record (assertion, retraction, sighting, batch manifest,
// roster) is identified by the CID of its bytes, so every node must produce
// identical bytes for the same value and must refuse any other encoding of
// it. General CBOR libraries accept far more than that (several encodings of
// one value, floats, arbitrary tags), which would let two nodes disagree on a
// record's identity. This package implements only the subset the federation
// needs, and implements it strictly.
//
// # Data model
//
// A Value is an immutable tree of the IPLD data-model kinds Uint, NegInt,
// Bytes, Text, Array, Map, Bool, Null and Link. Values are built with the
// constructors (Uint, Text, Map, Link, ...) and read with the As* getters,
// or, for record maps, with a Fields reader that names the field in every
// error and reports fields nobody asked for.
//
// # Encoding rules (Encode)
//
//   - Integer values, string lengths and container counts use the shortest
//     head: arguments below 24 in the initial byte, then 1, 2, 4 or 8 bytes.
//   - Lengths are always definite.
//   - Map keys are text strings, sorted shorter-first and then bytewise (the
//     RFC 7049 canonical order DAG-CBOR specifies), with no duplicates.
//   - A link is tag 42 (d8 2a) over a byte string holding 0x00 followed by
//     the binary CIDv1. CIDv0 and undefined CIDs are refused.
//   - Text is valid UTF-8.
//   - There are no floats, no tags other than 42, and no simple values
//     other than false, true and null.
//
// # Decoding (Decode)
//
// Decode accepts exactly the bytes Encode produces: for any input it
// accepts, Encode of the result gives the input back. It rejects, with an
// *Error naming the byte offset and wrapping a sentinel:
//
//   - ErrNonCanonical: over-long heads, indefinite lengths, keys out of
//     order or duplicated, a CID not in canonical binary form;
//   - ErrUnsupported: floats, other tags, other simple values, non-text
//     keys, CIDv0 links;
//   - ErrMalformed: reserved header values, stray break codes, invalid
//     UTF-8, an invalid CID or missing 0x00 prefix;
//   - ErrTruncated, ErrTrailingData;
//   - ErrTooLarge, ErrTooDeep: the Limits below.
//
// # Limits
//
// Limits bound the whole input (MaxBytes), container nesting (MaxDepth),
// any one string (MaxString) and the items of any one container (MaxItems).
// Counts are also checked against the bytes left before anything is
// allocated, so a short hostile input cannot request a large allocation.
// DefaultLimits suits small documents; the record package sets its own.
//
// Pick validates a whole document like Decode but builds only chosen
// top-level fields. Scan validates it like Decode too but builds nothing,
// handing each top-level entry over as a Raw encoding instead; batch
// verification uses it to read a record's version, type, origin and
// sequence without allocating.
//
// # Versioning
//
// The codec has no version of its own: it is DAG-CBOR as specified by IPLD,
// restricted as above, and go-ipld-prime's dagcbor codec re-encodes every
// accepted input to identical bytes (checked in the tests). Record formats
// carry their own version field.
//
// # Place in the project
//
// Protocol layer. It imports only the standard library and the multiformats
// packages for CIDs (go-cid, go-multihash, go-varint); the record package
// builds on it, and nothing here knows about records, crypto, policy or the
// node.
package dagcbor
