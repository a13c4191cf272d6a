// Package fedtoken computes federation tokens: keyed, federation-wide
// identifiers for indicator expressions, produced by a threshold verifiable
// OPRF so that no single node can compute them alone.
//
// # Why
//
// A plain hash of a domain or URL hides nothing: every registered domain can
// be hashed in about a minute. A token is instead the output of an oblivious
// PRF under a federation key k. The same expression gives the same token on
// every node (so indicators deduplicate across countries), yet computing a
// token needs the cooperation of t issuer nodes, each of which sees only
// blinded values and rate-limits and logs every batch. A dictionary attack
// therefore needs t colluding issuers or a visible stream of logged requests.
//
// # Construction
//
// The OPRF is RFC 9497 with the suite ristretto255-SHA512 in verifiable mode
// (mode 0x01), as implemented by github.com/cloudflare/circl/oprf. The key k
// is Shamir-shared t-of-n: issuer i holds k_i = f(i) for a random polynomial f
// of degree t-1 with f(0) = k; the roster publishes k·G and every k_i·G
// (GroupKey). Given the OPRF input x (see below):
//
//  1. The client hashes x to an element H(x) and sends B = r·H(x) for a
//     random blind r (Client.Blind).
//  2. Each issuer returns Z_i = k_i·B and one batched DLEQ proof that
//     log_G(k_i·G) = log_B(Z_i) (Issuer.Evaluate).
//  3. The client checks every proof against k_i·G from the roster, keeps the
//     valid answers, and with t of them computes N = Σ λ_i·Z_i / r = k·H(x),
//     where λ_i are the Lagrange coefficients at zero (Pending.Finalize).
//  4. The token is RFC 9497's Finalize hash:
//     SHA-512(I2OSP(len(x), 2) ‖ x ‖ I2OSP(32, 2) ‖ N ‖ "Finalize").
//
// The result is byte for byte the single-key RFC 9497 output under k, which
// the tests check against circl's VerifiableServer.FullEvaluate. Any t valid
// issuers give the same tokens.
//
// Why verifiable: an issuer that answers with a wrong element would silently
// corrupt the combined token (breaking deduplication without anyone
// noticing), and an issuer that used a different key per querier could tag
// whose queries it sees (key partitioning). The per-share proofs rule both
// out and tell the client exactly which issuer misbehaved, so Finalize can
// drop it and still succeed with t others (see Report and IssuerError).
//
// Why padding: a URL look-up expands to between 1 and 30 Safe Browsing
// expressions, and the count alone says something about the URL (how many
// host labels and path segments it has). Every request therefore carries
// exactly BatchSize = 32 elements; the unused slots hold blinded random dummy
// inputs, which look exactly like real ones to the issuer. Issuers reject
// requests of any other size.
//
// # OPRF input encoding (a federation-wide constant)
//
// Every node must compute these bytes identically; changing them changes every
// token. For federation ID F (1..255 bytes) and Input{Kind, Expression}
// (Expression 1..65000 bytes):
//
//	x = "vigie/token/v1" ‖ 0x00 ‖ I2OSP(len(F), 2) ‖ F ‖ Kind ‖ I2OSP(len(Expression), 2) ‖ Expression
//
// where I2OSP(n, 2) is n as two big-endian bytes. For example F = "fed",
// Kind = 0x02, Expression = "a.example/" encode as
//
//	76696769652f746f6b656e2f7631 00 0003 666564 02 000a 612e6578616d706c652f
//
// The label separates these tokens from any other use of the OPRF; the
// federation ID separates federations (and test networks) sharing a key; Kind
// separates kinds of indicator whose expressions could be spelled alike, so
// that, say, a host indicator and a path-prefix indicator for "evil.example/"
// get different tokens if the protocol wants them distinct. Kind values are
// assigned by the protocol layer, not here, and are part of the federation
// protocol. Expressions must already be canonical (protocol/urlcanon): this
// package hashes bytes and does not normalise them. EncodeInput computes x.
// Padding inputs are "vigie/token/v1/pad" ‖ 0x00 ‖ 32 random bytes, which can
// never equal a real x (they differ at byte 14).
//
// # Sizes
//
// A request is 32 × 32 bytes; a response is 32 × 32 bytes plus a 64-byte proof;
// a token is 64 bytes; a marshalled Share is 35 bytes
// (version 0x01 ‖ I2OSP(index, 2) ‖ 32-byte scalar).
//
// # Randomness
//
// All randomness comes from the io.Reader the caller passes (Deal, Blind,
// EvaluateWithRand), so a seeded reader reproduces a whole run in the
// simulator. circl's ristretto255 RandomScalar ignores its reader, so this
// package draws 64 bytes itself and hashes them to a scalar; for the same
// reason Deal builds the sharing polynomial with circl's math/polynomial
// rather than secretsharing.New (the shares are the same Shamir shares; tests
// recover the key with secretsharing.Recover). DLEQ proof nonces are hedged:
// they hash the reader's bytes with the issuer's key and the request, so even
// a repeating reader never reuses a nonce across different requests.
//
// # Caveats
//
// Dealer: genesis uses a trusted dealer (Deal), who momentarily knows k and
// must erase everything but the shares it hands out. GroupKey.Validate lets
// every node check that the published share keys are consistent with one
// degree t-1 polynomial and with k·G, which catches a dealer who hands out
// inconsistent shares, but not one who keeps a copy of k. Distributed key
// generation, and proactive share refresh, are later goals; resharing the
// same k keeps all tokens, a new k changes all of them.
//
// Post-quantum: blinding hides inputs unconditionally, so recorded traffic
// never reveals what was looked up. But a future quantum adversary could
// recover k (or the shares) from any recorded (B, k_i·B) pair and the public
// keys, and then dictionary-attack every token. Run OPRF traffic only inside
// post-quantum transport (TLS 1.3 with X25519MLKEM768), treat token sets as
// confidential, and plan key rotation. No standard post-quantum OPRF exists
// yet.
//
// Side channels: circl documents secret-dependent timing for its P-256/384/521
// server and DLEQ operations, not for ristretto255, which is one reason this
// package fixes the suite.
//
// # Place in the project
//
// This is crypto-layer code: it imports only the standard library and circl,
// nothing from the project. The roster (protocol/) carries the GroupKey;
// node/ wraps Issuer in its token-issuer service, which authenticates peers,
// rate-limits and audit-logs every batch (never the blinded elements), and
// drives Client for look-ups and for tokenising its own indicators.
package fedtoken
