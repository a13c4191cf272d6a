package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/vigie-project/vigie/node"
)

func federationCommand() *command {
	return &command{
		name:    "federation",
		summary: "found and manage a federation of nodes",
		subs:    []*command{federationInitCommand()},
	}
}

func federationInitCommand() *command {
	return &command{name: "init", summary: "run the founding ceremony: keys, issuer shares and the signed genesis roster", run: runFederationInit}
}

// maxMembersFile bounds the members file; it lists at most a few hundred agencies.
const maxMembersFile = 1 << 20

func runFederationInit(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "vigie federation init --members FILE --issuers T-of-N --out DIR [--federation ID] [--json]", `
Runs the founding ceremony with a dealer. FILE is a JSON array of members:

  [{"country":"FR","org":"pharos","name":"PHAROS","org_type":"police",
    "issuer":true,"witness":true,"addrs":["/ip4/192.0.2.10/udp/4001/quic-v1"]}, ...]

For each member, DIR/<CC>-<org>/ receives its agency signing key, its libp2p
peer key and, for issuers, its share of the federation's OPRF key (T of N
issuers are needed for every token). DIR/roster.cbor is the genesis roster,
signed by every founding member. Hand each member its own folder only, then
destroy the shares here: a dealer that keeps them could tokenise alone.
Each member then runs 'vigie init --dir D --roster DIR/roster.cbor --keys
DIR/<CC>-<org>'. If no member is marked "issuer", the first N are.`)
	members := fs.String("members", "", "JSON file listing the founding members (required)")
	issuers := fs.String("issuers", "", "threshold and issuer count, e.g. 3-of-5 (required)")
	out := fs.String("out", "", "folder to write the roster and member folders into (required)")
	federation := fs.String("federation", "vigie-federation", "the federation's id")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if code, done := fs.Parse(args); done {
		return code
	}
	if *members == "" || *issuers == "" || *out == "" {
		return fs.usageError("--members, --issuers and --out are required")
	}
	t, n, err := parseThreshold(*issuers)
	if err != nil {
		return fs.usageError("--issuers: %v", err)
	}
	specs, err := readMembers(*members)
	if err != nil {
		e.errorf("federation init: %v", err)
		return exitUsage
	}
	r, err := node.Genesis(ctx, *out, node.GenesisOptions{Federation: *federation, Members: specs, Threshold: t, Issuers: n})
	if err != nil {
		e.errorf("federation init: %s", strings.TrimPrefix(err.Error(), "node: "))
		return exitUsage
	}
	if *asJSON {
		writeJSONLine(e, map[string]any{"federation": r.Federation, "members": len(r.Members), "threshold": r.Threshold, "issuers": r.Shares, "roster": *out + "/roster.cbor"})
		return exitOK
	}
	fmt.Fprintf(e.stdout, "Federation %q: %d members, tokens need %d of %d issuers.\nRoster: %s/roster.cbor\n", r.Federation, len(r.Members), r.Threshold, r.Shares, *out)
	for _, m := range r.Members {
		fmt.Fprintf(e.stdout, "  %-12s vigie init --dir NODE_DIR --roster %s/roster.cbor --keys %s/%s-%s\n", m.Agency, *out, *out, m.Agency.Country, m.Agency.Org)
	}
	return exitOK
}

// parseThreshold reads "T-of-N".
func parseThreshold(s string) (t, n int, err error) {
	a, b, ok := strings.Cut(s, "-of-")
	if ok {
		t, err = strconv.Atoi(a)
		if err == nil {
			n, err = strconv.Atoi(b)
		}
	}
	if !ok || err != nil || t < 1 || n < t {
		return 0, 0, fmt.Errorf("%q is not T-of-N with 1 <= T <= N, e.g. 3-of-5", s)
	}
	return t, n, nil
}

func readMembers(path string) ([]node.MemberSpec, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if info.Size() > maxMembersFile {
		return nil, fmt.Errorf("%s is %d bytes, at most %d", path, info.Size(), maxMembersFile)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var specs []node.MemberSpec
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&specs); err != nil {
		return nil, fmt.Errorf("%s: not a JSON array of members: %v", path, err)
	}
	return specs, nil
}
