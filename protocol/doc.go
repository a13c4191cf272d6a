// Package protocol is the root of the federation's shared language: what
// every Vigie node must compute byte for byte the same way.
//
//   - urlcanon: Safe Browsing v4 URL canonicalisation and lookup expressions;
//   - dagcbor: the strict deterministic DAG-CBOR codec records are written in;
//   - record: assertions, retractions, sightings, batch manifests and rosters,
//     their CIDs, and batch verification;
//   - issuance: the wire messages of federation-token issuance.
//
// The protocol layer may use the crypto packages; it never imports the node,
// policy or command packages above it.
package protocol
