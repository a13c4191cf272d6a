// Package merkle computes RFC 6962 (RFC 9162 §2.1) Merkle tree hashes and
// inclusion proofs over lists of byte strings.
//
// Vigie uses it in two places: a batch manifest signs the Merkle root over
// the CIDs of the records it covers, so one signature verification covers a
// whole batch and a single record can still travel with an inclusion proof;
// and the node's audit log is an RFC 6962 log.
//
// Leaf hash = SHA-256(0x00 || data), node hash = SHA-256(0x01 || left ||
// right), and the empty tree hashes to SHA-256(""). Trees are split at the
// largest power of two smaller than the size, as RFC 6962 defines.
//
// Proof verification is delegated to github.com/transparency-dev/merkle, the
// reference implementation used by Certificate Transparency tooling, and the
// package's tests run its published vectors against [VerifyInclusion].
package merkle
