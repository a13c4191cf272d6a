package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigie-project/vigie/crypto/checkpoint"
	"github.com/vigie-project/vigie/crypto/merkle"
	"github.com/vigie-project/vigie/node"
	"github.com/vigie-project/vigie/node/auditlog"
	"github.com/vigie-project/vigie/node/store"
)

// The audit commands serve legal teams, data-protection authorities and
// oversight bodies (issue 6, item 4): export a node's tamper-evident audit
// log to a bundle, verify it offline, prove that one entry is in a signed
// checkpoint, and count entries for a transparency report.

func auditCommand() *command {
	return &command{
		name:    "audit",
		summary: "export, verify and prove the node's tamper-evident audit log, offline",
		subs: []*command{auditExportCommand(), auditVerifyCommand(), auditProveCommand(),
			auditVerifyProofCommand(), auditReportCommand()},
	}
}

// Limits on the files the audit commands read.
const (
	maxAuditKeyFile   = 1 << 20
	maxAuditProofFile = 1 << 20
)

// inclusionProofFormat names the proof file format `vigie audit prove`
// writes.
const inclusionProofFormat = "vigie-audit-inclusion-proof/v1"

// ---------------------------------------------------------------------------
// vigie audit export

func auditExportCommand() *command {
	return &command{name: "export", summary: "write the node's audit log to a bundle that auditors verify offline", run: runAuditExport}
}

func runAuditExport(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "vigie audit export --dir D --out BUNDLE [--keys-out FILE] [--witness-keys FILE] [--json]", `
Writes the node's whole audit log to BUNDLE: every entry with its salt and
leaf hash, every checkpoint the node signed with the witness cosignatures it
holds, the consistency proofs between successive checkpoints, and the keys
they are checked against. A last checkpoint covering every entry is
published first. The node's checkpoint verifier keys are also written to
BUNDLE.keys (or --keys-out), for 'vigie audit verify --keys'.

An auditor should obtain the verifier keys by a channel the node does not
control (the federation roster, a signed letter, an earlier export):
verifying a bundle against keys that came with it shows only that it is
internally consistent.

The node must be stopped: a running node holds its store and audit log.
Existing files are never overwritten. The bundle holds personal data (who
consulted what, and why): hand it over as such.`)
	var nf nodeFlags
	nf.register(fs)
	out := fs.String("out", "", "file to write the bundle to (required; must not exist)")
	keysOut := fs.String("keys-out", "", "file to write the node's verifier keys to (default BUNDLE.keys; must not exist)")
	witnessKeys := fs.String("witness-keys", "", "file of witness verifier keys (C2SP vkeys, one per line) to include in the bundle")
	asJSON := fs.Bool("json", false, "print what was written as JSON")
	if code, done := fs.Parse(args); done {
		return code
	}
	if code, bad := nf.check(fs); bad {
		return code
	}
	if *out == "" {
		return fs.usageError("--out is required")
	}
	if len(fs.Args()) > 0 {
		return fs.usageError("unexpected argument %q", fs.Args()[0])
	}
	if *keysOut == "" {
		*keysOut = *out + ".keys"
	}
	for _, p := range []string{*out, *keysOut} {
		if _, err := os.Lstat(p); err == nil {
			e.errorf("audit export: %s already exists: refusing to overwrite it (choose another --out or --keys-out)", p)
			return exitUsage
		}
	}
	var wkeys []string
	if *witnessKeys != "" {
		var err error
		if wkeys, err = readVerifierKeys(*witnessKeys); err != nil {
			e.errorf("audit export: --witness-keys: %v", err)
			return exitUsage
		}
	}
	a, ok := openNodeAudit(ctx, e, &nf, "export its audit log")
	if !ok {
		return exitUsage
	}
	defer a.close(e)
	vkeys, err := auditlog.NodeVerifierKeys(nf.dir)
	if err != nil {
		e.errorf("audit export: %v", err)
		return exitUsage
	}
	size, err := writeNewFile(*out, 0o600, func(w io.Writer) error { return a.log.Export(ctx, w, wkeys...) })
	if err != nil {
		e.errorf("audit export: writing %s: %v", *out, err)
		return exitUsage
	}
	keysText := []byte(strings.Join(vkeys, "\n") + "\n")
	if _, err := writeNewFile(*keysOut, 0o644, func(w io.Writer) error { _, err := w.Write(keysText); return err }); err != nil {
		os.Remove(*out)
		e.errorf("audit export: writing %s: %v", *keysOut, err)
		return exitUsage
	}
	sum, err := summariseBundle(*out)
	if err != nil {
		e.errorf("audit export: reading back %s: %v", *out, err)
		return exitUsage
	}
	if *asJSON {
		writeJSONLine(e, map[string]any{
			"bundle": *out, "keys_file": *keysOut, "bytes": size, "origin": a.log.Origin(),
			"entries": sum.entries, "checkpoints": sum.checkpoints, "node_keys": len(vkeys), "witness_keys": len(wkeys),
			"last_size": sum.last.Size, "last_root": b64(sum.last.Root[:]),
		})
		return exitOK
	}
	fmt.Fprintf(e.stdout, "Exported the audit log of %s (origin %s).\n", a.node.Agency(), a.log.Origin())
	fmt.Fprintf(e.stdout, "  bundle           %s: %d bytes, %d entries, %d checkpoints\n", *out, size, sum.entries, sum.checkpoints)
	fmt.Fprintf(e.stdout, "  last checkpoint  size %d, root %s\n", sum.last.Size, b64(sum.last.Root[:]))
	fmt.Fprintf(e.stdout, "  keys             %s: %d node verifier keys", *keysOut, len(vkeys))
	if len(wkeys) > 0 {
		fmt.Fprintf(e.stdout, " (and %d witness keys in the bundle)", len(wkeys))
	}
	fmt.Fprintf(e.stdout, "\nVerify it offline with: vigie audit verify %s --keys %s\n", *out, *keysOut)
	return exitOK
}

// bundleSummary is what a bundle holds, read back after writing it.
type bundleSummary struct {
	entries, checkpoints uint64
	last                 checkpoint.Checkpoint
}

func summariseBundle(path string) (bundleSummary, error) {
	var s bundleSummary
	f, err := os.Open(path)
	if err != nil {
		return s, err
	}
	defer f.Close()
	br := auditlog.NewBundleReader(f)
	var last []byte
	for {
		typ, p, err := br.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return s, err
		}
		switch typ {
		case auditlog.BundleEntry:
			s.entries++
		case auditlog.BundleCheckpoint:
			s.checkpoints++
			last = append(last[:0], p...)
		}
	}
	if last != nil {
		n, err := checkpoint.ParseNote(last)
		if err != nil {
			return s, err
		}
		if s.last, err = checkpoint.ParseCheckpoint(n.Text); err != nil {
			return s, err
		}
	}
	return s, nil
}

// ---------------------------------------------------------------------------
// vigie audit verify

func auditVerifyCommand() *command {
	return &command{name: "verify", summary: "verify an exported audit bundle offline and name the first failure", run: runAuditVerify}
}

func runAuditVerify(_ context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "vigie audit verify BUNDLE [--keys FILE] [--witness-keys FILE] [--witness-quorum N] [--known CHECKPOINT_FILE]... [--json]", `
Verifies an audit bundle written by 'vigie audit export', offline, in one
pass: every entry's encoding and leaf hash, entry numbers dense from 0 (a
dropped or reordered entry is named), the Merkle tree recomputed from the
entries against every checkpoint's root, every checkpoint's signatures by
all the node's keys, the consistency proof between successive checkpoints,
and witness cosignatures. It stops at the first failure and names it: the
entry, or the checkpoint (with the range of entries it covers).

The node's keys come from --keys (default: BUNDLE.keys, if it exists).
Without them, the keys inside the bundle are used, which shows only that the
bundle is internally consistent, not that this node wrote it.

--known gives a checkpoint of this log seen earlier (an earlier export, a
witness, a court record; a signed note): a bundle that ends before it is a
rollback, one that disagrees with it a rewritten log.

With --json, prints {"ok":…,"entries":…,"checkpoints":…,"first_failure":…}.
Exit status: 0 if the bundle verifies, 1 if it does not, 2 on an error
(unreadable file, bad key file).`)
	keys := fs.String("keys", "", "file of the node's checkpoint verifier keys (default BUNDLE.keys if it exists)")
	witnessKeys := fs.String("witness-keys", "", "file of witness verifier keys (default: those in the bundle)")
	quorum := fs.Int("witness-quorum", 0, "require this many witness cosignatures on the newest checkpoint")
	var known pathList
	fs.Var(&known, "known", "a checkpoint (signed note) of this log seen earlier; repeatable")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if code, done := fs.Parse(args); done {
		return code
	}
	if len(fs.Args()) != 1 {
		return fs.usageError("give exactly one BUNDLE")
	}
	if *quorum < 0 {
		return fs.usageError("--witness-quorum must not be negative")
	}
	bundle := fs.Args()[0]
	opts, keysFile, err := auditVerifyOptions(bundle, *keys, *witnessKeys, *quorum, known)
	if err != nil {
		e.errorf("audit verify: %v", err)
		return exitUsage
	}
	res, code := verifyBundleFile(e, bundle, opts...)
	if code != exitOK {
		return code
	}
	out := verifyJSON(bundle, keysFile, res)
	if *asJSON {
		writeJSONLine(e, out)
	} else {
		printVerify(e, out)
	}
	if !out.OK {
		return exitNegative
	}
	return exitOK
}

// auditVerifyOptions reads the key and checkpoint files verify and report
// take. keysFile is the file the node keys came from ("" if none).
func auditVerifyOptions(bundle, keys, witnessKeys string, quorum int, known []string) ([]auditlog.VerifyOption, string, error) {
	var opts []auditlog.VerifyOption
	if keys == "" {
		if _, err := os.Stat(bundle + ".keys"); err == nil {
			keys = bundle + ".keys"
		}
	}
	if keys != "" {
		vkeys, err := readVerifierKeys(keys)
		if err != nil {
			return nil, "", fmt.Errorf("--keys: %w", err)
		}
		opts = append(opts, auditlog.WithTrustedKeys(vkeys...))
	}
	if witnessKeys != "" || quorum > 0 {
		var wkeys []string
		if witnessKeys != "" {
			var err error
			if wkeys, err = readVerifierKeys(witnessKeys); err != nil {
				return nil, "", fmt.Errorf("--witness-keys: %w", err)
			}
		}
		opts = append(opts, auditlog.WithWitnessQuorum(quorum, wkeys...))
	}
	for _, k := range known {
		note, err := readBoundedFile(k, checkpoint.MaxNoteSize)
		if err != nil {
			return nil, "", fmt.Errorf("--known: %w", err)
		}
		opts = append(opts, auditlog.WithKnownCheckpoints(note))
	}
	return opts, keys, nil
}

// auditVerifyOut is the result of verify (its JSON form is a contract).
type auditVerifyOut struct {
	OK                  bool              `json:"ok"`
	Bundle              string            `json:"bundle"`
	Origin              string            `json:"origin,omitempty"`
	Entries             uint64            `json:"entries"`
	Checkpoints         int               `json:"checkpoints"`
	CosignedCheckpoints int               `json:"cosigned_checkpoints"`
	LastSize            uint64            `json:"last_size"`
	LastRoot            string            `json:"last_root,omitempty"`
	LastCosigners       []string          `json:"last_cosigners"`
	KeysFile            string            `json:"keys_file,omitempty"`
	KeysFromBundle      bool              `json:"keys_from_bundle"`
	NodeKeys            []string          `json:"node_keys"`
	FirstFailure        *auditFailureJSON `json:"first_failure"`
}

type auditFailureJSON struct {
	auditlog.Failure
	Message string `json:"message"`
}

func verifyJSON(bundle, keysFile string, res *auditlog.VerifyResult) auditVerifyOut {
	out := auditVerifyOut{Bundle: bundle, KeysFile: keysFile, LastCosigners: []string{}, NodeKeys: []string{}}
	if res == nil {
		return out
	}
	out.Origin, out.Entries, out.Checkpoints = res.Origin, res.Entries, len(res.Checkpoints)
	out.KeysFromBundle = res.KeysFromBundle
	for _, k := range res.NodeKeys {
		out.NodeKeys = append(out.NodeKeys, keyID(k))
	}
	for _, c := range res.Checkpoints {
		if len(c.Cosigners) > 0 {
			out.CosignedCheckpoints++
		}
	}
	if n := len(res.Checkpoints); n > 0 {
		last := res.Checkpoints[n-1]
		out.LastSize, out.LastRoot = last.Size, b64(last.Root[:])
		if last.Cosigners != nil {
			out.LastCosigners = last.Cosigners
		}
	}
	if res.Failure != nil {
		out.FirstFailure = &auditFailureJSON{Failure: *res.Failure, Message: res.Failure.String()}
	} else {
		out.OK = true
	}
	return out
}

func printVerify(e *env, v auditVerifyOut) {
	w := e.stdout
	if v.OK {
		fmt.Fprintf(w, "OK: %s verifies.\n", v.Bundle)
	} else {
		fmt.Fprintf(w, "FAILED: %s does not verify, first at %s.\n", v.Bundle, v.FirstFailure.Message)
		fmt.Fprintf(w, "Verified before the failure:\n")
	}
	if v.Origin != "" {
		fmt.Fprintf(w, "  origin           %s\n", v.Origin)
	}
	fmt.Fprintf(w, "  entries          %d\n", v.Entries)
	fmt.Fprintf(w, "  checkpoints      %d (%d cosigned by witnesses)\n", v.Checkpoints, v.CosignedCheckpoints)
	if v.Checkpoints > 0 {
		fmt.Fprintf(w, "  last checkpoint  size %d, root %s", v.LastSize, v.LastRoot)
		if len(v.LastCosigners) > 0 {
			fmt.Fprintf(w, ", cosigned by %s", strings.Join(v.LastCosigners, ", "))
		}
		fmt.Fprintln(w)
	}
	switch {
	case v.KeysFromBundle:
		fmt.Fprintf(w, "  node keys        %d, taken from the bundle itself\n", len(v.NodeKeys))
		fmt.Fprintf(w, "Note: no trusted keys were given (--keys, or BUNDLE.keys next to the bundle), so the\n"+
			"bundle's own keys were used: this proves only that the bundle is internally consistent,\n"+
			"not that the node whose keys you hold wrote it.\n")
	case v.KeysFile != "":
		fmt.Fprintf(w, "  node keys        %d, from %s\n", len(v.NodeKeys), v.KeysFile)
	}
}

// ---------------------------------------------------------------------------
// vigie audit prove

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

// ---------------------------------------------------------------------------
// vigie audit verify-proof

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

// ---------------------------------------------------------------------------
// vigie audit report

func auditReportCommand() *command {
	return &command{name: "report", summary: "count audit entries per action, category, country and legal ground over a period", run: runAuditReport}
}

func runAuditReport(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "vigie audit report --dir D|--bundle BUNDLE --from DATE --to DATE [--keys FILE] [--json]", `
Counts the audit entries of a period, the shape of a transparency report
under the TCO Regulation (EU 2021/784, Art. 8): per action (the entry kind;
for a policy decision, its action and decision), per category, per country
and per legal ground. An entry listing several categories counts once for
each.

The entries come from the node's own log (--dir; the node must be stopped)
or from an exported bundle (--bundle), which is verified first as 'vigie
audit verify' does (with --keys, default BUNDLE.keys if it exists): a report
from a bundle that does not verify is refused (exit 1).

Dates are 2026-01-31 (a whole day: --to 2026-12-31 includes 31 December) or
RFC 3339 times (2026-01-31T12:00:00Z; --to is then exclusive).
With --json, prints {"from":…,"to":…,"entries":…,"by_action":{…},…}.`)
	var nf nodeFlags
	nf.register(fs)
	bundle := fs.String("bundle", "", "report from this exported bundle instead of the node's log")
	keys := fs.String("keys", "", "with --bundle: the node's verifier keys (default BUNDLE.keys if it exists)")
	fromS := fs.String("from", "", "start of the period, included (required)")
	toS := fs.String("to", "", "end of the period (required; a plain date is included)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if code, done := fs.Parse(args); done {
		return code
	}
	if len(fs.Args()) > 0 {
		return fs.usageError("unexpected argument %q", fs.Args()[0])
	}
	dirSet := false
	fs.Visit(func(f *flag.Flag) { dirSet = dirSet || f.Name == "dir" })
	switch {
	case *bundle != "" && dirSet:
		return fs.usageError("give --dir or --bundle, not both")
	case *bundle == "":
		if code, bad := nf.check(fs); bad {
			return code
		}
		if *keys != "" {
			return fs.usageError("--keys goes with --bundle")
		}
	}
	if *fromS == "" || *toS == "" {
		return fs.usageError("--from and --to are required")
	}
	from, err := parseTime("--from", *fromS)
	if err != nil {
		return fs.usageError("%v", err)
	}
	to, err := parseTime("--to", *toS)
	if err != nil {
		return fs.usageError("%v", err)
	}
	if _, err := time.Parse(time.DateOnly, *toS); err == nil {
		to = to.AddDate(0, 0, 1)
	}
	if !from.Before(to) {
		return fs.usageError("the period is empty: --from must come before --to")
	}

	type reportOut struct {
		*auditlog.Report
		Source string `json:"source"`
		Origin string `json:"origin,omitempty"`
		// Verified is, for a bundle, the verification it passed.
		Verified *auditVerifyOut `json:"verified,omitempty"`
	}
	var out reportOut
	if *bundle != "" {
		opts, keysFile, err := auditVerifyOptions(*bundle, *keys, "", 0, nil)
		if err != nil {
			e.errorf("audit report: %v", err)
			return exitUsage
		}
		res, code := verifyBundleFile(e, *bundle, opts...)
		if code != exitOK {
			return code
		}
		v := verifyJSON(*bundle, keysFile, res)
		if !v.OK {
			if *asJSON {
				writeJSONLine(e, map[string]any{"source": *bundle, "verified": v})
			} else {
				fmt.Fprintf(e.stdout, "FAILED: %s does not verify, first at %s: no report from it.\n", *bundle, v.FirstFailure.Message)
			}
			return exitNegative
		}
		f, err := os.Open(*bundle)
		if err != nil {
			e.errorf("audit report: %v", err)
			return exitUsage
		}
		rep, err := auditlog.ReportBundle(f, from, to)
		f.Close()
		if err != nil {
			e.errorf("audit report: %v", err)
			return exitUsage
		}
		out = reportOut{Report: rep, Source: *bundle, Origin: res.Origin, Verified: &v}
	} else {
		a, ok := openNodeAudit(ctx, e, &nf, "report from its log (or report from an export with --bundle)")
		if !ok {
			return exitUsage
		}
		rep, err := a.log.Report(ctx, from, to)
		origin := a.log.Origin()
		a.close(e)
		if err != nil {
			e.errorf("audit report: %v", err)
			return exitUsage
		}
		out = reportOut{Report: rep, Source: nf.dir, Origin: origin}
	}
	if *asJSON {
		writeJSONLine(e, out)
		return exitOK
	}
	w := e.stdout
	fmt.Fprintf(w, "Audit report from %s (included) to %s (excluded)\n", out.From.Format(time.RFC3339), out.To.Format(time.RFC3339))
	if out.Verified != nil {
		fmt.Fprintf(w, "Source: bundle %s, verified (%d entries, checkpoint of size %d)", out.Source, out.Verified.Entries, out.Verified.LastSize)
		if out.Verified.KeysFromBundle {
			fmt.Fprint(w, " against its own keys only")
		}
		fmt.Fprintln(w)
	} else {
		fmt.Fprintf(w, "Source: the audit log of the node in %s\n", out.Source)
	}
	fmt.Fprintf(w, "Log: %s\nEntries in the period: %d\n", out.Origin, out.Entries)
	for _, sec := range []struct {
		title string
		m     map[string]int
	}{{"action", out.ByAction}, {"category", out.ByCategory}, {"country", out.ByCountry}, {"legal ground", out.ByLegalGround}} {
		fmt.Fprintf(w, "\nBy %s:\n", sec.title)
		printCounts(w, sec.m)
	}
	return exitOK
}

// verifyBundleFile verifies a bundle; code is exitUsage (after a message)
// if it could not be read. A *VerifyError is not an error here: the result
// carries the failure.
func verifyBundleFile(e *env, path string, opts ...auditlog.VerifyOption) (*auditlog.VerifyResult, int) {
	f, err := os.Open(path)
	if err != nil {
		e.errorf("audit: %v", err)
		return nil, exitUsage
	}
	defer f.Close()
	res, err := auditlog.VerifyBundle(f, opts...)
	var ve *auditlog.VerifyError
	if err != nil && !errors.As(err, &ve) {
		e.errorf("audit: verifying %s: %v", path, err)
		return nil, exitUsage
	}
	return res, exitOK
}

func printCounts(w io.Writer, m map[string]int) {
	if len(m) == 0 {
		fmt.Fprintln(w, "  (none)")
		return
	}
	names := make([]string, 0, len(m))
	width := 0
	for k := range m {
		names = append(names, k)
		width = max(width, len(k))
	}
	slices.SortFunc(names, func(a, b string) int {
		if m[a] != m[b] {
			return m[b] - m[a]
		}
		return strings.Compare(a, b)
	})
	for _, k := range names {
		fmt.Fprintf(w, "  %-*s  %d\n", width, k, m[k])
	}
}

// ---------------------------------------------------------------------------
// Shared helpers

// nodeAudit is a node opened with its audit log, both locked against other
// processes while a command reads them.
type nodeAudit struct {
	node *node.Node
	log  *auditlog.Log
}

// close closes the log (which publishes a last checkpoint if entries are
// uncovered) and the node.
func (a *nodeAudit) close(e *env) {
	if err := a.log.Close(); err != nil {
		e.errorf("closing the audit log: %v", err)
	}
	if err := a.node.Close(); err != nil {
		e.errorf("closing the node: %v", err)
	}
}

// openNodeAudit opens the node in nf.dir (for its federation and agency,
// which name the log) and its audit log. A node that is running holds both:
// the message says so, and that it must be stopped to do what.
func openNodeAudit(ctx context.Context, e *env, nf *nodeFlags, what string) (*nodeAudit, bool) {
	log, err := nf.logger(e)
	if err != nil {
		e.errorf("%v", err)
		return nil, false
	}
	running := func(err error) {
		e.errorf("the node in %s is running (another vigie process holds its store and audit log): stop it to %s, then start it again (%v)", nf.dir, what, err)
	}
	n, err := node.Open(ctx, nf.dir, node.WithLogger(log))
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			running(err)
		} else {
			e.errorf("%s", describeOpenError(nf.dir, err))
		}
		return nil, false
	}
	if _, err := os.Stat(filepath.Join(nf.dir, auditlog.NodeDir, auditlog.VerifierKeysFile)); errors.Is(err, os.ErrNotExist) {
		n.Close()
		e.errorf("the node in %s has no audit log yet: it is created when the node first runs (vigie run)", nf.dir)
		return nil, false
	}
	l, err := auditlog.OpenForNode(nf.dir, n.Federation(), n.Agency(), auditlog.WithLogger(log))
	if err != nil {
		n.Close()
		if errors.Is(err, auditlog.ErrLocked) {
			running(err)
		} else {
			e.errorf("opening the audit log of the node in %s: %v", nf.dir, err)
		}
		return nil, false
	}
	return &nodeAudit{node: n, log: l}, true
}

// pathList collects a repeatable file flag (paths may hold commas).
type pathList []string

func (p *pathList) String() string { return strings.Join(*p, " ") }

func (p *pathList) Set(v string) error {
	if v == "" {
		return fmt.Errorf("empty path")
	}
	*p = append(*p, v)
	return nil
}

// readVerifierKeys reads a file of C2SP verifier keys (vkeys), separated by
// white space; lines starting with '#' are comments.
func readVerifierKeys(path string) ([]string, error) {
	b, err := readBoundedFile(path, maxAuditKeyFile)
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, k := range strings.Fields(line) {
			if _, err := checkpoint.NewVerifier(k); err != nil {
				return nil, fmt.Errorf("%s: %v", path, err)
			}
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s holds no verifier key", path)
	}
	return keys, nil
}

func readVerifiers(path string) ([]checkpoint.Verifier, error) {
	keys, err := readVerifierKeys(path)
	if err != nil {
		return nil, err
	}
	vs := make([]checkpoint.Verifier, len(keys))
	for i, k := range keys {
		if vs[i], err = checkpoint.NewVerifier(k); err != nil {
			return nil, err
		}
	}
	return vs, nil
}

// readBoundedFile reads a file of at most limit bytes.
func readBoundedFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return b, nil
}

// writeNewFile creates path, which must not exist, writes it with write,
// and fsyncs it; on failure it removes it. It returns the bytes written.
func writeNewFile(path string, mode os.FileMode, write func(io.Writer) error) (int64, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return 0, err
	}
	cw := &countWriter{w: f}
	err = write(cw)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return 0, err
	}
	return cw.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// keyID shortens a verifier key to its name and key ID ("name+1a2b3c4d").
func keyID(vkey string) string {
	name, rest, ok := strings.Cut(vkey, "+")
	if id, _, ok2 := strings.Cut(rest, "+"); ok && ok2 {
		return name + "+" + id
	}
	return vkey
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func decodeHash(s string) (merkle.Hash, error) {
	var h merkle.Hash
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != len(h) {
		return h, fmt.Errorf("%q is not base64 of %d bytes", s, len(h))
	}
	copy(h[:], b)
	return h, nil
}
