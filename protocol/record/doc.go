// Package record defines the federation's record types, their one canonical
// encoding, their CIDs, and the signed batches they travel in.
//
// # Records
//
//   - Assertion: one agency's statement about one indicator: expression
//     kind, categories, legal status and basis, order reference, TLP 2.0,
//     PAP, Europol handling code, source/information evaluation, onward
//     transfer consent, times, origin and sequence (DESIGN.md decision 4).
//   - Retraction: withdraws an assertion, with a reason.
//   - Sighting: an agency's opinion (agree, disagree, seen, offline) on an
//     indicator or assertion.
//   - Manifest: an origin's signature over a batch of its records.
//   - Roster: the signed membership of the federation.
//
// Outside the record set, PolicyBundle and PolicyArchive carry the
// federation's policy packs: the bundle (the files) is what a roster's
// "policy" field names by CID, the archive adds each owner's signature over
// the digest of the policies it owns (see policybundle.go).
//
// Assertions, retractions and sightings carry their origin agency and a
// sequence number, one counter per origin shared by the three types and
// starting at 1; batches cover consecutive runs of it.
//
// # Encoding
//
// Every record is a DAG-CBOR map encoded by package dagcbor (shortest
// heads, definite lengths, keys sorted shorter-first then bytewise, links
// as tag 42, no floats). Field names are short snake_case words, listed on
// each struct field. Every record has "v" (the format version, 1) and
// "type". Further rules make the encoding of a record unique:
//
//   - an optional field is absent when unset; a present empty string, zero
//     number, empty list or null is refused;
//   - lists that are sets (categories, flags, roles) are sorted and free of
//     repeats; roster members and signatures are sorted by agency;
//   - times are Unix seconds as unsigned integers;
//   - an agency is the map {"cc": country, "org": organisation id}.
//
// Decode accepts exactly what Encode produces, so Encode(Decode(b)) == b.
// It rejects non-canonical bytes, trailing data, unknown versions
// (ErrUnknownVersion), unknown types and fields, missing fields, values
// outside the closed vocabularies, and oversized records or fields
// (ErrTooLarge, naming the field). Free-text notes must not hold a URL or
// host name: only hashed indicators travel.
//
// # Identities
//
// A record's CID is CIDv1(dag-cbor, sha2-256(encoding)); an indicator's is
// CIDv1(raw, sha2-256(federation token)), see IndicatorCID. Links inside
// records are checked to have exactly these shapes.
//
// # Limits
//
// MaxRecordSize (64 KiB) for assertions, retractions, sightings and
// manifests; MaxRosterSize (1 MiB) for rosters, which fits MaxMembers (160)
// members with their keys and every member's signature. Decoding is further
// bounded to strings of 4 KiB (a hybrid signature is 3,373 bytes), nesting
// depth 4 and 160 items per list.
//
// # Batches and signatures
//
// An origin signs a Manifest over a batch of its records: the RFC 6962
// Merkle root over the records' binary CIDs in sequence order, the
// sequence range, the count, and its key id, with a hybrid Ed25519 +
// ML-DSA-65 signature under the context "vigie/manifest/v1" over the
// manifest's encoding without its "sig" field (SigningBytes). VerifyBatch
// recomputes every CID and the root, checks each record's origin and
// sequence (validating its whole encoding but building only those fields),
// and verifies the one signature, so
// catching up costs one signature verification per batch rather than per
// record. A record travelling alone carries an inclusion proof
// (BatchInclusionProof, VerifyInclusion).
//
// Rosters are signed by members under "vigie/roster/v1" over the roster
// without its "sigs" field. The genesis roster is checked against its own
// members (Verify); every later version must name its predecessor's CID and
// be signed by more than half of the predecessor's members (VerifyWith).
//
// # Versioning
//
// A change of field set or meaning raises FormatVersion. Nodes refuse
// versions they do not know instead of guessing, so a new version is rolled
// out by upgrading every node before any node writes it. Vocabularies are
// closed for the same reason: a new category is a format change.
//
// # Place in the project
//
// Protocol layer: it imports protocol/dagcbor and crypto/hybrid and
// crypto/merkle, and nothing above them (no policy, no node).
package record
