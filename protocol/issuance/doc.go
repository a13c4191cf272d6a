// Package issuance defines the wire messages of federation-token issuance:
// a member asks issuers to evaluate a padded batch of blinded elements under
// their key shares, and each issuer answers with its evaluations and a proof,
// or with an error saying why it refused.
//
// Messages are DAG-CBOR maps in the strict encoding of package dagcbor, with
// a version field "v" (currently 1) and a "type" field ("token-request",
// "token-response", "token-error"). Decoding rejects anything else: unknown
// versions or fields, a batch that is not exactly fedtoken.BatchSize
// elements, elements of the wrong length, and messages over MaxMessageSize.
//
// What an issuer can learn from a request is only its size (always the same)
// and its declared use; the blinded elements are uniformly random. The use
// field exists so that issuers can rate-limit and audit per use (a liaison
// officer's look-up is not a bulk import); it is never the URL or its
// purpose text, which stay on the requesting node.
//
// The network transport (/vigie/token/1.0.0) is the node's business; this
// package only says what travels.
package issuance
