// Package checkpoint reads, writes, signs and verifies C2SP signed notes
// (https://c2sp.org/signed-note) and transparency-log checkpoints
// (https://c2sp.org/tlog-checkpoint), with the cosignatures of
// https://c2sp.org/tlog-cosignature. The node's audit log publishes its
// tree heads as checkpoints; peer witnesses cosign them.
//
// # Formats
//
// A checkpoint body (the note text) is
//
//	<origin>\n
//	<size, decimal, no leading zeroes>\n
//	<root hash, standard base64 of 32 bytes>\n
//	[<extension line>\n ...]
//
// and a signed note is the text, a blank line, then one line per signature:
//
//	— <key name> <base64(key ID (4 bytes, big-endian) ‖ signature)>\n
//
// The key ID is SHA-256(name ‖ "\n" ‖ type ‖ public key)[:4], as the
// signed-note spec recommends. Public keys travel as C2SP verifier keys
// ("vkeys"), "<name>+<key ID as 8 hex digits>+<base64(type ‖ public key)>",
// and private keys as "PRIVATE+KEY+<name>+<key ID>+<base64(type ‖ seed)>",
// the encoding golang.org/x/mod/sumdb/note uses for Ed25519 (the tests
// check that both packages accept each other's notes and keys).
//
// # Signature types
//
//	0x01  Ed25519 over the note text (signed-note). The node's classical
//	      checkpoint signature. NewEd25519Signer, NewEd25519Verifier.
//	0x04  Timestamped Ed25519 cosignature (tlog-cosignature,
//	      "cosignature/v1\ntime <t>\n" ‖ checkpoint body; the signature is
//	      u64 timestamp ‖ 64-byte signature). NewEd25519Cosigner,
//	      NewEd25519CosignatureVerifier.
//	0x06  ML-DSA-44 (FIPS 204, empty context, hedged signing), the
//	      tlog-cosignature "subtree/v1" message over (key name, timestamp,
//	      origin, 0, size, root); the signature is u64 timestamp ‖ 2420-byte
//	      signature. NewMLDSA44Signer, NewMLDSA44Verifier.
//
// Choice for the node's post-quantum signature: tlog-checkpoint says "Logs
// SHOULD use ML-DSA-44 cosignatures to sign the checkpoint", so the node
// signs its own checkpoints with the standard type 0x06 rather than a
// private 0xff type: any C2SP verifier (for instance
// github.com/transparency-dev/formats) checks it, and witnesses use the
// same type to cosign. Its signed message covers the origin, size and root
// but not extension lines; the node writes none, and the Ed25519 (0x01)
// signature covers the whole text anyway. A 0x06 signer refuses to sign text
// that is not a checkpoint. The timestamp is the signing time (Signer.Sign)
// or the one given to Cosign.
//
// # API
//
//	Checkpoint{Origin, Size, Root, Extensions}
//	  .Marshal() ([]byte, error), ParseCheckpoint(text)
//	Signer{Name, KeyHash, Sign}, Verifier{Name, KeyHash, Verify}
//	  (the method sets of golang.org/x/mod/sumdb/note's, so either side's
//	  values work with the other's functions)
//	NewEd25519Signer/Verifier, NewEd25519Cosigner/CosignatureVerifier,
//	NewMLDSA44Signer/Verifier
//	GenerateKey(rand, type, name) (skey, vkey), NewSigner(skey),
//	NewVerifier(vkey), VerifierKey(v)
//	Sign(text, signers...) (note)           sign a body
//	SignCheckpoint(c, signers...)           marshal and sign
//	Open(note, verifiers...) (*Note, error) parse and verify
//	OpenCheckpoint(note, verifiers...)      Open + ParseCheckpoint
//	ParseNote(note) (*Note, error)          parse only (no verification)
//	Note.Missing(verifiers...)              which required keys did not sign
//	Cosign(body, signer, time) (Signature)  a witness's cosignature
//	VerifyCosignature(body, sig, verifier)  check one, returns its time
//	AddSignatures(note, sigs...) (note)     merge signature lines
//	VerifyConsistency(old, new, proof)      RFC 6962 consistency of two checkpoints
//
// # Verification rules and limits
//
// Open follows the signed-note spec: signatures from keys not given are
// ignored but returned in Note.Unknown; a signature whose name and key ID
// match a given verifier must verify, or the whole note is rejected
// (ErrInvalidSignature); a note that no given verifier signed is rejected
// (ErrUnverified). Repeated lines of one key count once. Notes must be valid
// UTF-8 without control characters other than newline, at most MaxNoteSize
// (64 KiB) long with at most MaxSignatures (100) signature lines; all
// parsers refuse anything larger before doing work proportional to it.
// Errors wrap ErrMalformed, ErrInvalidSignature or ErrUnverified.
package checkpoint
