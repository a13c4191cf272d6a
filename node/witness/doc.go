// Package witness lets members of the federation witness each other's
// audit logs (DESIGN.md decision 10): a node asks peers to cosign each new
// checkpoint of its log; a witness cosigns only a checkpoint consistent
// with the last one it cosigned for that log, and keeps a portable proof
// if it ever sees the log's owner sign two checkpoints that cannot both be
// true. A node therefore cannot show one history to some members and
// another to others, or rewrite its log later, without a witness noticing
// at the next checkpoint.
//
// # Protocol (/vigie/witness/1.0.0)
//
// Modelled on C2SP tlog-witness (https://c2sp.org/tlog-witness). One stream
// per request: the requester writes one frame and half-closes; the witness
// answers one frame and closes. Frames are p2p's varint-length frames,
// bounded by MaxRequestSize (a 64 KiB note plus the proof) and
// MaxResponseSize (32 KiB). Both sides set deadlines; every path ends in
// Close or Reset.
//
// The request body is byte for byte C2SP's add-checkpoint body:
//
//	old <size the requester believes the witness last cosigned, 0 if none>
//	<consistency proof from that size, one base64 hash per line, ≤ 63>
//	<blank line>
//	<the signed checkpoint note>
//
// The response body is a status line "<code> [reason]" followed, for 200,
// by the cosignature lines (signed-note "— name base64" lines) and, for
// 409, by the witness's latest size for the origin in decimal (C2SP's
// text/x.tlog.size body). Codes are C2SP's HTTP ones:
//
//	200  cosigned
//	400  malformed, old size beyond the checkpoint, proof where none is due
//	403  a signature by one of the origin's keys is missing or invalid
//	404  the witness does not witness this origin
//	409  the old size is not the one last cosigned (the body says which),
//	     or a rollback (a smaller checkpoint), or an equivocation (another
//	     root for the size already cosigned)
//	422  the consistency proof does not verify
//	500  the witness failed (it could not persist its state)
//
// There is no separate status exchange: a requester that does not know
// the witness's size sends old 0, learns the size from the 409 and asks
// again with a proof from it. Client remembers, per witness and origin,
// the size each witness last cosigned, so that in the steady state every
// request succeeds at the first round trip.
//
// # Witness
//
// Open(Config) loads the state from Config.Dir; Register serves the
// protocol on a p2p.Host; Add is the transport-free core. For each
// request, in order: the origin's keys come from Config.Origins (the
// roster: a node's Ed25519 and ML-DSA-44 checkpoint keys), and every one
// of them must have signed the note (403 otherwise; unknown origin 404);
// then, under a per-origin lock so that check and update are atomic, the
// checkpoint is compared with the one held: same size and another root is
// an equivocation, smaller is a rollback, an old size other than the one
// held is a conflict, and the proof must show that the held tree is a
// prefix of the new one (the first checkpoint of an origin is accepted as
// it comes). The new state — origin, size, root and the signed note — is
// then written to a file of its own (temporary file, fsync, rename, fsync
// of the folder) and only then cosigned with every Config.Cosigners key
// (timestamped types: Ed25519 cosignature/v1 0x04, ML-DSA-44 0x06). If
// the write fails the witness answers 500 and neither its memory nor its
// disk changes. A checkpoint equal to the one held is cosigned again (a
// retry after a lost answer). A state file that cannot be read stops Open:
// forgetting it would let the origin roll back.
//
// # Proof of misbehaviour
//
// An Equivocation holds two signed notes of one origin and, if their sizes
// differ, the proof that they disagree; VerifyEquivocation checks it with
// the origin's public keys alone, so any member, court or oversight body
// can. Two kinds:
//
//   - same_size: two checkpoints of the same size with different roots.
//   - inconsistent: checkpoints of sizes m < n, plus a root R ≠ the first
//     checkpoint's root and a consistency proof, valid against the second
//     checkpoint's signed root, from (m, R) to it: the second tree begins
//     with m leaves whose root is not the first's.
//
// A consistency proof that merely fails proves nothing (anyone can forge a
// bad proof between honest checkpoints), so the witness keeps an
// inconsistent-kind proof only when the failing proof itself verifies
// against the new signed root with another first root. That works when
// the old size is not a power of two; when it is, the standard proof does
// not carry the old subtree's hash, and the witness refuses (422) without
// evidence. Proofs are kept in Dir/equivocations (one file each, at most
// 16 per origin, deduplicated by the two checkpoint bodies), reported to
// Config.OnEquivocation, and serialised as JSON with the notes as strings
// (ParseEquivocation is bounded by MaxEquivocationSize and fuzzed).
//
// # Client
//
// Collect (or Client.Collect) asks every witness in parallel and returns
// once quorum have cosigned; requests still running are cancelled. With
// WithWitnessKeys, an answer counts only if it carries a valid cosignature
// by one of the witness's keys. A stream that fails is retried once; a
// refusal is not, except a 409 naming an older size, which is answered
// with a proof from that size. CollectReport names the witnesses that
// cosigned, failed (with the Refusal or transport error) or were
// cancelled; when the quorum is out of reach the error is a *QuorumError
// naming every failure.
//
// # Figures
//
// BenchmarkCosign31 (31 members on loopback QUIC in one process, 2 vCPU;
// one node asks the other 30, quorum 16, Ed25519 cosignatures, each
// witness fsyncing its state on ext4 before answering): p50 23–30 ms,
// p99 81–120 ms from the signed checkpoint to the quorum (four runs of
// 200–300 checkpoints). The goal is p99 ≤ 2 s. Signing the
// checkpoint (Ed25519 and ML-DSA-44) is the log's cost and not counted.
package witness
