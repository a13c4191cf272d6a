// Package auditlog is the node's tamper-evident audit log (DESIGN decision
// 10, issue 6): an append-only RFC 6962 Merkle log of what the node did,
// whose tree heads are published as C2SP checkpoints signed by the node
// (crypto/checkpoint; Ed25519 and ML-DSA-44) and cosigned by peer
// witnesses, and which legal teams verify offline from an exported bundle.
//
// # Entries
//
// An Entry has a Kind, a time, an actor (who acted or asked) and string
// fields from a fixed list per kind (schema in entry.go): the LED Art. 25
// operations — collection, alteration, consultation (purpose required, the
// requester as actor), disclosure including transfers (recipient and legal
// ground required), combination, erasure — plus policy decisions (inputs
// digest, bundle hash, action, decision, grounds, bars), token batches
// evaluated for a peer (peer, count; never the blinded elements), key
// events, roster events and peer checkpoints this node cosigned. There is
// no field that could hold a URL, and every value is refused (ErrURL) if it
// holds "://" or starts a word with "www.". Entries are encoded as canonical
// JSON (sorted keys, RFC 3339 UTC times); DecodeEntry refuses any other
// form, so an entry has exactly one encoding.
//
// # Leaves
//
// Leaf i is salt ‖ u64 i ‖ encoded entry, with a fresh 32-byte salt per
// entry (from a ChaCha8 generator seeded from crypto/rand) stored next to
// it: a leaf hash cannot be tested against guessed entries, and an entry
// states its own position, so an auditor is told exactly which entry was
// dropped or moved.
//
// # Storage and durability
//
// One append-only file, audit.log (format in file.go): a header, then
// records u32 length ‖ u32 CRC-32C ‖ type ‖ data, for entries, published
// checkpoints and witness cosignatures. Append hashes the leaf, updates the
// tree and buffers the record; a background loop writes and fsyncs the
// buffer every batch interval (50 ms), and Sync does it at once (concurrent
// Syncs share one fsync). An entry is durable, and acknowledged as such,
// once Sync returns or DurableSize passes it. A checkpoint is signed only
// over durable entries, so no crash can make the log contradict a
// checkpoint it published; checkpoints are published at most once per
// checkpoint interval (1 s) while entries arrive, and by Publish, Export and
// Close.
//
// Open rescans the file: a record cut short or failing its CRC at the end
// is a torn write and is truncated (with a warning); a damaged record
// followed by an intact one, an entry out of sequence, or entries that
// disagree with a checkpoint stored after them is ErrCorrupt and Open
// refuses the log. The folder is locked (flock) against a second opener.
//
// The tree (tree.go) is a transparency-dev/merkle compact range for
// appends plus every perfect subtree hash, kept in memory (about 64 bytes
// per entry, rebuilt by rehashing at Open), from which inclusion and
// consistency proofs for any size are assembled with
// transparency-dev/merkle/proof; entries stay on disk (8 bytes of offset
// each in memory). Persisting the level hashes (C2SP tiles) would make
// Open and memory independent of the log's length: a later step.
//
// # Bundles and offline verification
//
// Export writes a bundle (format in bundle.go): node and witness keys, every
// entry with its salt and leaf hash, and every checkpoint with its
// cosignatures, preceded by a consistency proof from the previous one.
// VerifyBundle checks it in one streaming pass and names the first failure
// (*VerifyError): an entry whose bytes do not match its leaf hash (altered),
// whose index is not its position (dropped or reordered), a checkpoint whose
// signatures, consistency proof or root fail (an entry rewritten together
// with its leaf hash is localised to the checkpoint interval), or a known
// checkpoint (WithKnownCheckpoints: one an auditor or witness saw earlier)
// that the bundle ends before (a rollback) or disagrees with (a fork).
// WithTrustedKeys pins the node keys; WithWitnessQuorum requires witness
// cosignatures on the newest checkpoint.
//
// # Reports and the node
//
// Report and ReportBundle count entries per action, category, country and
// legal ground over a period (TCO Regulation Art. 8). Sink implements
// node.AuditSink: each consultation is appended and synced before the
// look-up is answered.
package auditlog
