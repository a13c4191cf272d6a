// Package reconcile is the anti-entropy layer (c) of Vigie's sync (DESIGN
// decision 7): two members find the difference between the sets of record
// ids each may exchange with the other, in bytes proportional to the
// difference, over one libp2p stream (ProtocolID). Push and the catch-up
// feed do the bulk of the work; this backstop finds whatever they missed.
//
// The caller chooses the domain: for peer B, the ids of the records it
// holds that policy lets both sides hold (D(A,B) ∩ S, see
// sync-crypto-notes §4.1), as a Set. SymbolOf turns a record CID into an
// id. Initiate runs a session and returns the ids only the remote holds
// (to fetch) and only we hold (to offer); Respond serves one. The
// initiator learns both directions; the responder learns nothing, so each
// side initiates when it wants to know.
//
// # Protocol
//
// The initiator draws a fresh random riblt.Key for every session, so that
// no one can prepare ids that collide in the IBLT or in the checksums of a
// future session. Every id also gets a keyed 128-bit hash (AES-128 CBC-MAC
// under a key derived from the session key); a set's checksum is the sum
// of its ids' hashes modulo 2^128, and a range's fingerprint is the same
// sum over the range.
//
//  1. Hello: the key, its riblt.KeyCheck (the responder refuses a mismatch
//     with ErrKeyCheck), the initiator's set size and checksum, and its
//     coded-symbol budget (about 2·MaxDifference).
//  2. If size and checksum match, the responder answers Equal and the
//     session is over: one round trip of about 50 bytes.
//  3. Otherwise it answers Diff: its size and checksum, how many coded
//     symbols it will serve (min of the two budgets; 0 if the size gap alone
//     exceeds a MaxDifference), and a first riblt.Batch sized from the size
//     gap, which settles most one-sided differences at once.
//  4. The initiator decodes with a riblt.Decoder over its own sketch and
//     asks for riblt's NextChunk() more symbols (More) until decoded; the
//     responder answers with batches of at most 1,024 symbols.
//  5. A decoded difference is accepted only if our ids really are ours
//     and not theirs (one pass over our set) and size + |theirs| − |ours|
//     and checksum + Σ theirs − Σ ours equal the responder's. The
//     initiator then sends Done.
//  6. If decoding runs out of budget, gets stuck or fails its check, the
//     initiator switches to the range-based fallback on the same stream.
//
// # Range-based fallback
//
// The id space is split by hexadecimal prefix: the range of depth k holds
// the ids whose first k nibbles are its prefix, and has 16 children. The
// initiator sends (range, count, fingerprint) for up to 120 ranges per
// Query; the responder answers each with Equal, with its ids when it holds
// at most 16 in the range (the initiator then settles it by merging with
// its own), or Split, and the initiator queries the 16 children next
// round. Ids are keyed hashes of CIDs, so prefixes split the set evenly.
// Both sides sort their set once per fallback and keep prefix sums of the
// hashes, so a fingerprint costs two binary searches. The result is
// checked against the checksums as above (ErrUnconfirmed if not). It costs
// O(d·log n) bytes and about one round trip per level and 120 ranges: far
// more than the IBLT for scattered differences, but it has no decoding
// limit and copes with the clustered differences a returning peer has.
//
// # Bounds
//
// Every frame is at most MaxFrame (64 KiB) bytes, checked before any
// allocation (p2p.ReadFrame); every decoder accepts only one canonical
// encoding and fails with an error wrapping ErrMalformed. Coded symbols
// are bounded by the two budgets (WithMaxDifference): the responder never
// codes or sends past the number it announced. The fallback is bounded by
// WithMaxFallbackBytes on both sides: the responder stops answering (Abort,
// ErrTooLarge) once its answers reach it, and the initiator stops once it
// has received that much or queued 1/64 of it in ranges, so even a
// responder that answers Split to everything costs bounded memory and
// time. A context ending unblocks the session through the stream's
// deadline (net.Conn and libp2p streams have one).
//
// # Wire format
//
// Each message is one frame (unsigned-varint length, then the body); the
// body's first byte is its type. Integers are minimal uvarints unless
// stated; sums are 16 bytes big endian.
//
//	Hello   1 | version 1 | key (16) | key check (8, LE) | size | sum | budget
//	Equal   2
//	Diff    3 | size | sum | symbols served | riblt.Batch (start 0)
//	More    4 | n (1 ≤ n ≤ symbols left)
//	Symbols 5 | riblt.Batch
//	Query   6 | k (1..120) | k × (depth (1 byte, ≤ 64) | ⌈depth/2⌉ prefix bytes | count | fingerprint)
//	Answer  7 | k | k × (0 equal | 1 split | 2 n (≤ 16) n × id (32), increasing, inside the range)
//	Done    8
//	Abort   9 | code (1 bad request, 2 key check, 3 budget)
//
// Only the initiator sends Hello, More, Query and Done; only the responder
// the others, each in answer to one request, so the stream strictly
// alternates and even an unbuffered pipe cannot deadlock.
//
// # Cost
//
// Measured between two sets of a million ids (BenchmarkReconcile*, both
// sides in one process): in sync, 50 bytes in one round trip and about
// 60 ms of CPU (hashing both sets); 1,000 scattered differences, about
// 57 bytes per difference in 6–8 round trips and about 0.86 s of CPU,
// almost all of it coding each set into a fresh sketch under the session
// key. Maintained per-peer sketches would remove that cost, at the price
// of a per-link key instead of a per-session one.
package reconcile
