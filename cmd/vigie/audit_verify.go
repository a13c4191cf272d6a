package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/vigie-project/vigie/crypto/checkpoint"
	"github.com/vigie-project/vigie/node/auditlog"
)

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
