package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigie-project/vigie/crypto/checkpoint"
	"github.com/vigie-project/vigie/crypto/merkle"
	"github.com/vigie-project/vigie/node/auditlog"
)

func auditProveCommand() *command {
	return &command{name: "prove", summary: "write a self-contained proof that one entry is in a signed checkpoint", run: runAuditProve}
}

// inclusionProofFile is the proof `vigie audit prove` writes and `vigie
// audit verify-proof` checks: everything needed, with the node's keys, to
// check one entry offline.
type inclusionProofFile struct {
	Format string `json:"format"`
	Origin string `json:"origin"`
	// Index is the entry's number in the log, from 0; Size the number of
	// entries the checkpoint covers.
	Index uint64 `json:"index"`
	Size  uint64 `json:"size"`
	// Entry is the entry's canonical encoding, Salt its salt (base64);
	// the leaf hash is SHA-256(0x00 ‖ salt ‖ u64 index ‖ entry).
	Entry    string `json:"entry"`
	Salt     string `json:"salt"`
	LeafHash string `json:"leaf_hash"`
	// AuditPath is the RFC 6962 inclusion proof (base64 hashes).
	AuditPath []string `json:"audit_path"`
	// Checkpoint is the signed note, with the witness cosignatures.
	Checkpoint string `json:"checkpoint"`
}

func runAuditProve(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "vigie audit prove --dir D [--cosigned] [--out FILE] ENTRY", `
Writes a self-contained JSON proof that entry number ENTRY (from 0) of the
node's audit log is in its latest signed checkpoint (with --cosigned, the
newest one witnesses cosigned): the entry, its salt, its leaf hash, the
Merkle audit path and the signed checkpoint note with its cosignatures.
Anyone holding the node's verifier keys checks it offline with 'vigie audit
verify-proof', without the rest of the log.

The proof discloses that one entry only (who acted, when, why), never the
others. The node must be stopped. Without --out, the proof goes to stdout.`)
	var nf nodeFlags
	nf.register(fs)
	out := fs.String("out", "", "file to write the proof to (must not exist; default stdout)")
	cosigned := fs.Bool("cosigned", false, "prove inclusion in the newest checkpoint witnesses cosigned")
	if code, done := fs.Parse(args); done {
		return code
	}
	if code, bad := nf.check(fs); bad {
		return code
	}
	if len(fs.Args()) != 1 {
		return fs.usageError("give exactly one ENTRY number")
	}
	index, err := strconv.ParseUint(fs.Args()[0], 10, 64)
	if err != nil {
		return fs.usageError("ENTRY %q is not an entry number (0, 1, ...)", fs.Args()[0])
	}
	if *out != "" {
		if _, err := os.Lstat(*out); err == nil {
			e.errorf("audit prove: %s already exists: refusing to overwrite it", *out)
			return exitUsage
		}
	}
	a, ok := openNodeAudit(ctx, e, &nf, "prove an entry")
	if !ok {
		return exitUsage
	}
	defer a.close(e)
	if !*cosigned {
		if _, err := a.log.Publish(ctx); err != nil {
			e.errorf("audit prove: publishing a checkpoint: %v", err)
			return exitUsage
		}
	}
	note, size, err := a.log.LatestCheckpoint(*cosigned)
	if err != nil {
		e.errorf("audit prove: %v", err)
		return exitUsage
	}
	if index >= size {
		which := "the latest checkpoint"
		if *cosigned {
			which = "the newest cosigned checkpoint"
		}
		e.errorf("audit prove: entry %d is not covered by %s, which has %d entries (0 to %d)", index, which, size, int64(size)-1)
		return exitUsage
	}
	s, err := a.log.ReadEntry(index)
	if err != nil {
		e.errorf("audit prove: %v", err)
		return exitUsage
	}
	path, err := a.log.InclusionProof(index, size)
	if err != nil {
		e.errorf("audit prove: %v", err)
		return exitUsage
	}
	p := inclusionProofFile{Format: inclusionProofFormat, Origin: a.log.Origin(), Index: index, Size: size,
		Entry: string(s.Encoded), Salt: b64(s.Salt[:]), LeafHash: b64(s.Leaf[:]), AuditPath: []string{}, Checkpoint: string(note)}
	for _, h := range path {
		p.AuditPath = append(p.AuditPath, b64(h[:]))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(p); err != nil {
		e.errorf("audit prove: %v", err)
		return exitUsage
	}
	if *out == "" {
		e.stdout.Write(buf.Bytes())
		return exitOK
	}
	if _, err := writeNewFile(*out, 0o600, func(w io.Writer) error { _, err := w.Write(buf.Bytes()); return err }); err != nil {
		e.errorf("audit prove: writing %s: %v", *out, err)
		return exitUsage
	}
	fmt.Fprintf(e.stdout, "Wrote the proof of entry %d in the checkpoint of size %d (%s) to %s.\n", index, size, a.log.Origin(), *out)
	fmt.Fprintf(e.stdout, "Check it with: vigie audit verify-proof %s --keys KEYS_FILE\n", *out)
	return exitOK
}

func auditVerifyProofCommand() *command {
	return &command{name: "verify-proof", summary: "check a proof written by 'vigie audit prove' against the node's keys", run: runAuditVerifyProof}
}

// auditProofOut is the result of verify-proof (its JSON form is a contract).
type auditProofOut struct {
	OK         bool           `json:"ok"`
	Origin     string         `json:"origin,omitempty"`
	Index      uint64         `json:"index"`
	Size       uint64         `json:"size"`
	Root       string         `json:"root,omitempty"`
	NodeKeys   []string       `json:"node_keys"`
	Cosigners  []string       `json:"cosigners"`
	Unverified int            `json:"unverified_signatures"`
	Entry      *auditEntryOut `json:"entry,omitempty"`
	Failure    *proofFailure  `json:"failure"`
}

type proofFailure struct {
	// What is "proof" (the file), "checkpoint" (its signatures), "witnesses"
	// (the quorum), "entry" (it does not hash to the leaf) or "inclusion"
	// (the audit path does not lead to the checkpoint's root).
	What   string `json:"what"`
	Reason string `json:"reason"`
}

type auditEntryOut struct {
	Kind   string            `json:"kind"`
	Time   time.Time         `json:"time"`
	Actor  string            `json:"actor"`
	Fields map[string]string `json:"fields"`
}

func runAuditVerifyProof(_ context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "vigie audit verify-proof PROOF --keys FILE [--witness-keys FILE] [--witness-quorum N] [--json]", `
Checks a proof written by 'vigie audit prove', offline: the checkpoint note
is signed by every key in --keys (the node's checkpoint verifier keys), the
entry, its salt and its number hash to the leaf, and the audit path leads
from that leaf to the checkpoint's root. With --witness-keys, witness
cosignatures are checked too, and --witness-quorum requires that many. On
success it prints the entry: kind, time, actor and fields.

With --json, prints {"ok":…,"entry":…,"failure":…}.
Exit status: 0 if the proof holds, 1 if it does not (naming what failed), 2
on an error (unreadable file, bad key file).`)
	keys := fs.String("keys", "", "file of the node's checkpoint verifier keys (required)")
	witnessKeys := fs.String("witness-keys", "", "file of witness verifier keys whose cosignatures to check")
	quorum := fs.Int("witness-quorum", 0, "require this many verified witness cosignatures")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if code, done := fs.Parse(args); done {
		return code
	}
	if len(fs.Args()) != 1 {
		return fs.usageError("give exactly one PROOF file")
	}
	if *keys == "" {
		return fs.usageError("--keys is required: a proof is only as good as the keys it is checked against")
	}
	if *quorum < 0 {
		return fs.usageError("--witness-quorum must not be negative")
	}
	if *quorum > 0 && *witnessKeys == "" {
		return fs.usageError("--witness-quorum needs --witness-keys")
	}
	nodeVs, err := readVerifiers(*keys)
	if err != nil {
		e.errorf("audit verify-proof: --keys: %v", err)
		return exitUsage
	}
	var witnessVs []checkpoint.Verifier
	if *witnessKeys != "" {
		if witnessVs, err = readVerifiers(*witnessKeys); err != nil {
			e.errorf("audit verify-proof: --witness-keys: %v", err)
			return exitUsage
		}
	}
	raw, err := readBoundedFile(fs.Args()[0], maxAuditProofFile)
	if err != nil {
		e.errorf("audit verify-proof: %v", err)
		return exitUsage
	}
	out := verifyProof(raw, nodeVs, witnessVs, *quorum)
	if *asJSON {
		writeJSONLine(e, out)
	} else {
		printProof(e, fs.Args()[0], out)
	}
	if !out.OK {
		return exitNegative
	}
	return exitOK
}

func verifyProof(raw []byte, nodeVs, witnessVs []checkpoint.Verifier, quorum int) auditProofOut {
	out := auditProofOut{NodeKeys: []string{}, Cosigners: []string{}}
	fail := func(what, format string, args ...any) auditProofOut {
		out.OK, out.Entry = false, nil
		out.Failure = &proofFailure{What: what, Reason: fmt.Sprintf(format, args...)}
		return out
	}
	var p inclusionProofFile
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return fail("proof", "not a vigie audit inclusion proof: %v", err)
	}
	if p.Format != inclusionProofFormat {
		return fail("proof", "format %q, want %q", p.Format, inclusionProofFormat)
	}
	out.Origin, out.Index, out.Size = p.Origin, p.Index, p.Size

	// The checkpoint: every node key must have signed it.
	c, n, err := checkpoint.OpenCheckpoint([]byte(p.Checkpoint), nodeVs...)
	if err != nil {
		return fail("checkpoint", "%v", err)
	}
	if m := n.Missing(nodeVs...); len(m) > 0 {
		return fail("checkpoint", "no signature by node key %s", m[0].Name())
	}
	for _, v := range nodeVs {
		out.NodeKeys = append(out.NodeKeys, fmt.Sprintf("%s+%08x", v.Name(), v.KeyHash()))
	}
	out.Root = b64(c.Root[:])
	if c.Origin != p.Origin || c.Size != p.Size {
		return fail("checkpoint", "the signed checkpoint is %s at size %d, the proof claims %s at size %d", c.Origin, c.Size, p.Origin, p.Size)
	}
	for _, s := range n.Unknown {
		matched := false
		for _, v := range witnessVs {
			if s.Name != v.Name() || s.KeyHash != v.KeyHash() {
				continue
			}
			matched = true
			if _, err := checkpoint.VerifyCosignature(n.Text, s, v); err != nil {
				return fail("witnesses", "witness %s: %v", v.Name(), err)
			}
			if !slices.Contains(out.Cosigners, v.Name()) {
				out.Cosigners = append(out.Cosigners, v.Name())
			}
		}
		if !matched {
			out.Unverified++
		}
	}
	if len(out.Cosigners) < quorum {
		return fail("witnesses", "%d verified witness cosignatures, quorum is %d", len(out.Cosigners), quorum)
	}

	// The leaf: entry, salt and number hash to it.
	salt, err := base64.StdEncoding.DecodeString(p.Salt)
	if err != nil || len(salt) != auditlog.SaltSize {
		return fail("proof", "salt is not base64 of %d bytes", auditlog.SaltSize)
	}
	claimed, err := decodeHash(p.LeafHash)
	if err != nil {
		return fail("proof", "leaf_hash: %v", err)
	}
	leaf := auditlog.LeafHash((*[auditlog.SaltSize]byte)(salt), p.Index, []byte(p.Entry))
	if leaf != claimed {
		return fail("entry", "entry %d, its salt and its number do not hash to the leaf hash: the entry was altered", p.Index)
	}
	if len(p.AuditPath) > 64 {
		return fail("proof", "audit path of %d hashes", len(p.AuditPath))
	}
	var path []merkle.Hash
	for i, s := range p.AuditPath {
		h, err := decodeHash(s)
		if err != nil {
			return fail("proof", "audit_path[%d]: %v", i, err)
		}
		path = append(path, h)
	}
	if err := auditlog.VerifyInclusion(p.Index, p.Size, leaf, path, c.Root); err != nil {
		return fail("inclusion", "entry %d is not in the checkpoint of size %d: %v", p.Index, p.Size, err)
	}
	ent, err := auditlog.DecodeEntry([]byte(p.Entry))
	if err != nil {
		return fail("entry", "entry %d is included but is not a valid entry: %v", p.Index, err)
	}
	out.OK = true
	out.Entry = &auditEntryOut{Kind: string(ent.Kind), Time: ent.Time, Actor: ent.Actor, Fields: ent.Fields}
	if out.Entry.Fields == nil {
		out.Entry.Fields = map[string]string{}
	}
	return out
}

func printProof(e *env, file string, v auditProofOut) {
	w := e.stdout
	if !v.OK {
		fmt.Fprintf(w, "FAILED: %s does not prove its entry: %s: %s\n", file, v.Failure.What, v.Failure.Reason)
		return
	}
	fmt.Fprintf(w, "OK: entry %d is in the checkpoint of %s at size %d (root %s),\n", v.Index, v.Origin, v.Size, v.Root)
	fmt.Fprintf(w, "signed by the %d node keys", len(v.NodeKeys))
	if len(v.Cosigners) > 0 {
		fmt.Fprintf(w, " and cosigned by %s", strings.Join(v.Cosigners, ", "))
	}
	if v.Unverified > 0 {
		fmt.Fprintf(w, " (%d other signatures not checked: give --witness-keys)", v.Unverified)
	}
	fmt.Fprintln(w, ".")
	printEntry(w, v.Entry)
}

func printEntry(w io.Writer, ent *auditEntryOut) {
	fmt.Fprintf(w, "  kind    %s\n  time    %s\n  actor   %s\n", ent.Kind, ent.Time.Format(time.RFC3339Nano), ent.Actor)
	names := make([]string, 0, len(ent.Fields))
	width := 0
	for k := range ent.Fields {
		names = append(names, k)
		width = max(width, len(k))
	}
	slices.Sort(names)
	if len(names) > 0 {
		fmt.Fprintln(w, "  fields")
	}
	for _, k := range names {
		fmt.Fprintf(w, "    %-*s  %s\n", width, k, ent.Fields[k])
	}
}
