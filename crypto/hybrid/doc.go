// Package hybrid holds an agency's signing key: an Ed25519 key and an
// ML-DSA-65 (FIPS 204) key used together, so that a signature stays
// unforgeable as long as either scheme does.
//
// # Signatures
//
// A hybrid signature is the Ed25519 signature (64 bytes) followed by the
// ML-DSA-65 signature (3309 bytes). Both halves sign the same domain-separated
// message
//
//	M' = "vigie/hybrid-sig/v1" || 0x00 || len(context) (1 byte) || context || msg
//
// so a signature made for one purpose (say, a batch manifest) can never be
// replayed as another (a roster), and neither half can be lifted into a
// plain Ed25519 or ML-DSA-65 signature over msg. ML-DSA-65 additionally gets
// the context as its FIPS 204 context string. ML-DSA signing is hedged
// (FIPS 204 §3.4): fresh randomness is mixed in, which protects against fault
// and side-channel attacks on deterministic signing.
//
// A signature is valid only if both halves verify. [Verify] always checks
// both and reports which half failed through [ErrEd25519Invalid] and
// [ErrMLDSAInvalid], so an operator can tell a corrupted signature from an
// attack on one scheme.
//
// Ed25519 verification uses crypto/ed25519 for the whole federation: every
// node must accept and reject exactly the same signatures.
//
// # Key files
//
// [WriteKeyFile] stores a private key as the two 32-byte seeds in a small PEM
// file with a format version header, written with 0600 permissions and
// atomically (temporary file, fsync, rename). [ReadKeyFile] refuses files
// readable by group or others, unknown versions and malformed contents.
package hybrid
