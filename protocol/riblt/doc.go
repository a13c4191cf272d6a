// Package riblt reconciles two sets of 32-byte record ids with rateless
// invertible Bloom lookup tables (Yang, Gilad and Alizadeh, "Practical
// Rateless Set Reconciliation", SIGCOMM 2024). It is the anti-entropy
// backstop of Vigie's sync: after push and the catch-up feed, two peers use
// it to find the records one of them still lacks, at a cost proportional to
// the difference d, not to the sets.
//
// # Algorithm
//
// A set defines an endless stream of coded symbols. Coded symbol j holds
// three sums over the items x that map to it: the XOR of the items, the XOR
// of their keyed 64-bit hashes (the checksum) and their number (modulo
// 256). Item x maps to symbol j with probability ρ(j) = 1/(1 + j/2),
// independently for each j, so every item is in symbol 0, two thirds are in
// symbol 1, and an item is in about 2·ln(m) of the first m symbols. Rather
// than test each j, an item's indices are generated in order: from index i
// the next is drawn by inverting P(next > j) = (i+1)(i+2)/((j+1)(j+2)),
// with random numbers from splitmix64 seeded by the item's keyed hash. The
// arithmetic is pinned by explicit float64 rounding and a golden test, as
// every node must compute the same indices.
//
// Sums are linear, so the receiver subtracts the symbol of its own set at
// the same index and is left with a symbol of the symmetric difference:
// items only the sender has count +1, items only the receiver has −1. A
// difference symbol holding exactly one item is pure: its count is ±1 and
// its checksum is the hash of its sum. The decoder peels pure symbols,
// removing each recovered item from every other symbol it maps to (received
// or still to come), which makes more symbols pure. Because the mapping
// density falls as 1/j, a prefix of about 1.35·d symbols decodes d
// differences for large d (measured here: 1.36 at d = 10,000, 1.37–1.38 at
// d = 1,000, 1.47 at d = 100, about 1.75 for d ≤ 10). The stream is
// universal: its first k symbols depend only on the set, so the sender
// just keeps sending until the receiver has decoded, with no estimate of d
// up front.
//
// Decoding succeeds only when every received symbol is empty after
// peeling, which checks each recovered item against every symbol received;
// a false success would need a 64-bit keyed-checksum collision. A pure
// symbol outside its item's own index sequence, an item recovered twice or
// more items than symbols are rejected as ErrInconsistent.
//
// # Keyed checksum and session key
//
// Hashes are SipHash-2-4 under a 128-bit Key. The key decides both where an
// item lands and its checksum, so whoever does not know it cannot build ids
// (an origin can grind record bytes, hence record ids) that share their
// index sequence or collide in the checksum. Unkeyed, such ids could make
// every reconciliation in the federation stall (items that always share
// their symbols never peel apart) or fail.
//
// Both sides must use the same key, and a maintained Encoder or Sketch is
// only valid under the key it was built with. Vigie therefore derives one
// key per peer link (or per policy class of peers sharing one structure)
// from contributions of both sides when the link is set up, keeps it for
// the life of the link, and rebuilds the structures in the background when
// it rotates (about 0.7 µs per item: under a second for a million records).
// Every Batch carries KeyCheck(key), a keyed fingerprint that reveals
// nothing about the key, so a stream under another key is rejected at once
// (ErrKeyMismatch) instead of filling a symbol budget with garbage.
//
// # Wire form and bounds
//
// A CodedSymbol is 41 bytes: 32-byte sum, 8-byte checksum, 1-byte count
// (modulo-256 counts decide purity exactly as well as full ones, and the
// checksum filters the rest). A Batch is a version byte, the key check,
// uvarints for the start index, the sender's set size and the symbol count,
// then the symbols; at most MaxSymbolsPerMessage (1,024) symbols, so
// MaxMessageSize is about 41 KiB. Decoding a Batch allocates only after the
// length has been checked against the count, and accepts only the canonical
// encoding.
//
// A Decoder stops at its budget (DefaultMaxSymbols, SetBudget) with
// ErrBudgetExceeded, and once it knows the sender's set size it reports
// ErrStuck after 2·(|sender| + |receiver|) + 128 symbols, more than any
// honest difference could need. Its work is bounded whatever it is fed:
// O(k·log k) for k symbols.
//
// # How Vigie uses it
//
// The reconciled set is the record ids both peers may hold under policy,
// D(A,B) ∩ S (a record the policy bars from one side would otherwise be a
// permanent difference). Each node keeps an Encoder, or a fixed-size Sketch
// when memory is tight, per peer or per policy class, updated as records
// are stored and expire. A session:
//
//  1. The receiver creates NewDecoderWithLocal(its maintained encoder) and
//     asks for NextChunk() symbols (FirstChunk, 16, at first).
//  2. The sender answers with Batch(start, n) messages from its maintained
//     encoder; the receiver passes them to AddBatch, then TryDecode.
//  3. While not Decoded, the receiver asks for NextChunk() more; NextChunk
//     sizes requests from how much peeling has recovered, so the sender
//     overshoots little (1.40–1.44 symbols per difference at d = 1,000 in
//     5–6 round trips for a balanced difference, 2–3 for a one-sided one).
//  4. Decoded: Remote() are records to fetch, Local() records to offer;
//     both directions are learned in one session. An in-sync pair settles
//     in one round trip of about 670 bytes.
//
// ErrBudgetExceeded or ErrStuck sends the pair to range-based sync, which
// is the better tool for huge or time-clustered differences. Both
// structures must stay unchanged during a session: the sync engine queues
// store changes while a session is open (sessions take milliseconds), and
// ErrLocalChanged or ErrInconsistent otherwise make it retry later.
//
// # Complexity and cost
//
// An Encoder keeps its first W coded symbols (the window, DefaultWindow =
// 4,096, grown by doubling on demand and then kept) and its items. Add and
// Remove cost about 2·ln(W) + 1 symbol updates, one SipHash and a map
// operation: 0.4 µs measured in a set of 100,000, 0.7 µs while building a
// set of a million. Growing the window costs O(n) once. Memory is 48 B per
// window symbol plus about 100 B per item (measured at a million). A
// Sketch is the window alone.
//
// A session costs O(k) to produce and subtract k ≈ 1.4·d symbols and
// O(d·log k) to peel: under 1 ms of CPU for d = 1,000 between two sets of a
// million, and 58–60 wire bytes per difference (the information-theoretic
// bound is about 31: the ids themselves). Coding a set from scratch for
// each session would instead cost O(n·log k); maintaining encoders is what
// makes sessions independent of n.
//
// Encoders, Sketches and Decoders are not safe for concurrent use.
package riblt
