package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/vigie-project/vigie/crypto/hybrid"
	"github.com/vigie-project/vigie/internal/atomicfile"
	"github.com/vigie-project/vigie/node"
	"github.com/vigie-project/vigie/policy"
	"github.com/vigie-project/vigie/protocol/record"
)

// The policy lifecycle after review (legal-rules.md §3.6): pack the bundle
// into an archive, have each owner sign its part, check the signatures,
// name the bundle in a roster version ('vigie federation amend --policy'),
// and install it where a node can find it.

const archiveHelp = `An ARCHIVE is the file 'vigie policy pack' writes: the bundle's files
and the owners' signatures. Its CID is what a roster names. A country signs
the policies it owns; for an instrument, the parties other than the Union
sign (EU-US: US); the federation's and the Union's policies are approved by
the majority that signs the roster naming the bundle.`

func runPolicyPack(_ context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "vigie policy pack [BUNDLE] --out ARCHIVE [--json]", `
Packs BUNDLE (a folder; the built-in bundle if omitted or "embedded") into
ARCHIVE, unsigned, after checking that it loads (lint clean). Prints the
bundle's CID and which countries must sign which owner's policies.
ARCHIVE must not exist.

`+archiveHelp)
	out := fs.String("out", "", "archive file to write; it must not exist (required)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if code, done := fs.Parse(args); done {
		return code
	}
	if *out == "" || len(fs.Args()) > 1 {
		return fs.usageError("give at most one BUNDLE folder, and --out")
	}
	if _, err := os.Stat(*out); err == nil {
		e.errorf("policy pack: %s already exists; it may hold signatures, so it is not overwritten", *out)
		return exitUsage
	}
	dir := "embedded"
	if len(fs.Args()) == 1 {
		dir = fs.Args()[0]
	}
	fsys := policy.EmbeddedFS()
	if dir != "embedded" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			e.errorf("policy pack: %s is not a folder", dir)
			return exitUsage
		}
		fsys = os.DirFS(dir)
	}
	a, b, err := node.PackPolicy(fsys)
	if err != nil {
		e.errorf("policy pack: %s: %v", dir, err)
		return exitUsage
	}
	if !writeArchive(e, "policy pack", *out, a) {
		return exitUsage
	}
	signers := map[string][]string{}
	for _, owner := range b.Owners() {
		if cc := policy.OwnerSigners(owner); len(cc) > 0 {
			signers[owner] = cc
		}
	}
	if *asJSON {
		writeJSONLine(e, map[string]any{"archive": *out, "cid": a.CID().String(), "bundle": b.Hash(), "owners": b.Owners(), "signers": signers})
		return exitOK
	}
	fmt.Fprintf(e.stdout, "Packed %s into %s: bundle %s (%s), %d owners.\n", dir, *out, a.CID(), b.Hash(), len(b.Owners()))
	fmt.Fprintf(e.stdout, "Owners whose policies need their own signature: %d; each signs with\n  vigie policy sign --key MEMBER_DIR/agency.key --as CC-ORG %s\n", len(signers), *out)
	return exitOK
}

func runPolicySign(_ context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "vigie policy sign --key MEMBER_DIR/agency.key --as CC-ORG [--json] ARCHIVE", `
Adds the member's signature for every owner of the bundle it signs for (its
country's pack, the instruments its country is the non-EU party to),
rewriting ARCHIVE in place (atomically). Signing again replaces the earlier
signature. Review first what you sign: 'vigie policy diff' against the
bundle in force, 'vigie policy test' with your vectors.

`+archiveHelp)
	keyPath := fs.String("key", "", "the signing member's agency.key (required)")
	as := fs.String("as", "", "the signing member, as CC-ORG (required)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if code, done := fs.Parse(args); done {
		return code
	}
	if *keyPath == "" || *as == "" || len(fs.Args()) != 1 {
		return fs.usageError("--key, --as and one ARCHIVE are required")
	}
	signer, err := parseAgency(*as)
	if err != nil {
		return fs.usageError("--as: %v", err)
	}
	path := fs.Args()[0]
	a, ok := readArchive(e, "policy sign", path)
	if !ok {
		return exitUsage
	}
	key, err := hybrid.ReadKeyFile(*keyPath)
	if err != nil {
		e.errorf("policy sign: %v", err)
		return exitUsage
	}
	owners, err := node.SignPolicyArchive(a, key, signer)
	if err != nil {
		e.errorf("policy sign: %s", strings.TrimPrefix(err.Error(), "node: "))
		return exitNegative
	}
	if !writeArchive(e, "policy sign", path, a) {
		return exitUsage
	}
	if *asJSON {
		writeJSONLine(e, map[string]any{"archive": path, "cid": a.CID().String(), "signer": signer.String(), "owners": owners})
		return exitOK
	}
	fmt.Fprintf(e.stdout, "%s signed the policies of %s in %s (bundle %s).\n", signer, strings.Join(owners, ", "), path, a.CID())
	return exitOK
}

func runPolicyVerify(_ context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "vigie policy verify --roster ROSTER.cbor [--json] ARCHIVE", `
Checks ARCHIVE against a roster: the bundle loads (lint clean), and every
owner whose countries are members has a valid signature by a member of each
of them over its current policies. Lists each owner with who signed.

`+archiveHelp+`

Exit status: 0 complete, 1 a signature is missing or invalid, 2 usage error
or unreadable file.`)
	rosterPath := fs.String("roster", "", "the roster whose members' keys check the signatures (required)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if code, done := fs.Parse(args); done {
		return code
	}
	if *rosterPath == "" || len(fs.Args()) != 1 {
		return fs.usageError("--roster and one ARCHIVE are required")
	}
	roster, err := node.ReadRosterFile(*rosterPath)
	if err != nil {
		e.errorf("policy verify: %s", strings.TrimPrefix(err.Error(), "node: "))
		return exitUsage
	}
	a, ok := readArchive(e, "policy verify", fs.Args()[0])
	if !ok {
		return exitUsage
	}
	_, verr := node.VerifyPolicyArchive(a, roster)
	signedBy := map[string][]string{}
	for _, s := range a.Signatures {
		signedBy[s.Owner] = append(signedBy[s.Owner], s.Agency.String())
	}
	if *asJSON {
		v := map[string]any{"cid": a.CID().String(), "valid": verr == nil, "signatures": signedBy}
		if verr != nil {
			v["error"] = strings.TrimPrefix(verr.Error(), "node: ")
		}
		writeJSONLine(e, v)
	} else {
		fmt.Fprintf(e.stdout, "bundle %s, %d signature(s)\n", a.CID(), len(a.Signatures))
		owners := make([]string, 0, len(signedBy))
		for o := range signedBy {
			owners = append(owners, o)
		}
		slices.Sort(owners)
		for _, o := range owners {
			fmt.Fprintf(e.stdout, "  %-10s signed by %s\n", o, strings.Join(signedBy[o], ", "))
		}
		if verr == nil {
			fmt.Fprintf(e.stdout, "complete for roster version %d\n", roster.Version)
		}
	}
	if verr != nil {
		e.errorf("policy verify: %s", strings.TrimPrefix(verr.Error(), "node: "))
		return exitNegative
	}
	return exitOK
}

func runPolicyInstall(_ context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "vigie policy install --dir D [--roster ROSTER.cbor] [--json] ARCHIVE", `
Checks ARCHIVE against the node's roster (or --roster, e.g. the version
about to be adopted) and installs it in D/policy/, where the node looks for
the bundle its roster names. A node adopts a roster that names a bundle only
once the bundle is installed; running members fetch it from the peer that
gave them the roster, so this is for nodes adopting by hand. Works whether
or not the node is running.

`+archiveHelp)
	var nf nodeFlags
	nf.register(fs)
	rosterPath := fs.String("roster", "", "roster to check the signatures against (default: the node's)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if code, done := fs.Parse(args); done {
		return code
	}
	if code, bad := nf.check(fs); bad {
		return code
	}
	if len(fs.Args()) != 1 {
		return fs.usageError("name one ARCHIVE")
	}
	var roster *record.Roster
	if *rosterPath != "" {
		var err error
		if roster, err = node.ReadRosterFile(*rosterPath); err != nil {
			e.errorf("policy install: %s", strings.TrimPrefix(err.Error(), "node: "))
			return exitUsage
		}
	}
	data, err := readBoundedFile(fs.Args()[0], record.MaxPolicyArchiveSize)
	if err != nil {
		e.errorf("policy install: %v", err)
		return exitUsage
	}
	c, b, err := node.InstallPolicy(nf.dir, data, roster)
	if err != nil {
		e.errorf("policy install: %s refused: %s", fs.Args()[0], strings.TrimPrefix(err.Error(), "node: "))
		return exitNegative
	}
	if *asJSON {
		writeJSONLine(e, map[string]any{"cid": c.String(), "bundle": b.Hash(), "dir": nf.dir})
		return exitOK
	}
	fmt.Fprintf(e.stdout, "Installed policy bundle %s (%s) in %s.\n", c, b.Hash(), nf.dir)
	return exitOK
}

func readArchive(e *env, cmd, path string) (*record.PolicyArchive, bool) {
	a, err := decodeArchiveFile(path)
	if err != nil {
		e.errorf("%s: %s: %v", cmd, path, err)
		return nil, false
	}
	return a, true
}

func decodeArchiveFile(path string) (*record.PolicyArchive, error) {
	data, err := readBoundedFile(path, record.MaxPolicyArchiveSize)
	if err != nil {
		return nil, err
	}
	return record.DecodePolicyArchive(data)
}

func writeArchive(e *env, cmd, path string, a *record.PolicyArchive) bool {
	data, err := a.Encode()
	if err == nil {
		err = atomicfile.Write(path, data, 0o644)
	}
	if err != nil {
		e.errorf("%s: writing %s: %v", cmd, path, err)
		return false
	}
	return true
}

// loadArchiveBundle loads the bundle an archive file carries.
func loadArchiveBundle(path string) (*policy.Bundle, error) {
	a, err := decodeArchiveFile(path)
	if err != nil {
		return nil, err
	}
	return node.LoadPolicyArchive(a)
}
