// Package crypto is the root of Vigie's cryptographic building blocks.
//
// Each sub-package has one job and imports nothing from the rest of the
// project, so it can be reviewed, tested against published vectors and
// replaced on its own:
//
//   - hybrid: agency signing keys, Ed25519 + ML-DSA-65 signatures where both
//     halves must verify;
//   - merkle: RFC 6962 Merkle trees over byte strings, used for batch
//     manifests and, later, the audit log;
//   - fedtoken: federation tokens by a threshold verifiable OPRF (RFC 9497,
//     ristretto255-SHA512) with the key Shamir-shared among issuers.
//
// The protocol layer builds records and wire messages on top of these; the
// node layer wires them to storage and the network.
package crypto
