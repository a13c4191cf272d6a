package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/vigie-project/vigie/crypto/checkpoint"
	"github.com/vigie-project/vigie/node/auditlog"
)

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
