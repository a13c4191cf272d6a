package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/vigie-project/vigie/crypto/hybrid"
	"github.com/vigie-project/vigie/node"
	"github.com/vigie-project/vigie/node/daemon"
	"github.com/vigie-project/vigie/node/localapi"
	"github.com/vigie-project/vigie/protocol/record"
)

func federationCommand() *command {
	return &command{
		name:    "federation",
		summary: "found and manage a federation of nodes",
		subs: []*command{federationInitCommand(), federationMemberCommand(), federationAmendCommand(),
			federationSignCommand(), federationAdoptCommand()},
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
	witnessQuorum := fs.Int("witness-quorum", 0, `cosignatures each member's audit checkpoints need, from the members marked "witness": true (0: no witnessing)`)
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
	r, err := node.Genesis(ctx, *out, node.GenesisOptions{Federation: *federation, Members: specs, Threshold: t, Issuers: n, WitnessQuorum: *witnessQuorum})
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

func federationMemberCommand() *command {
	return &command{name: "member", summary: "create the keys of an agency joining an existing federation", run: runFederationMember}
}

func federationAmendCommand() *command {
	return &command{name: "amend", summary: "draft the next roster version, adding or removing members", run: runFederationAmend}
}

func federationSignCommand() *command {
	return &command{name: "sign", summary: "add a member's signature to a draft roster version", run: runFederationSign}
}

func federationAdoptCommand() *command {
	return &command{name: "adopt", summary: "make a node, stopped or running, follow a new roster version", run: runFederationAdopt}
}

func runFederationMember(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "vigie federation member --federation ID --country CC --org ID --out DIR [--name NAME] [--org-type TYPE] [--witness] [--addr MULTIADDR]... [--json]", `
Creates the key folder DIR of an agency joining an existing federation:
its agency signing key (agency.key), its libp2p peer key (peer.key), both
mode 0600 and to be kept on the agency's side, and member.json, the public
part a current member adds to the roster with 'vigie federation amend
--add DIR/member.json'. Once a strict majority of the current members have
signed that roster, the agency runs 'vigie init --dir NODE_DIR --roster
NEXT.cbor --keys DIR'. A new member cannot be an issuer: issuer shares
come from a resharing ceremony, not from a roster amendment.`)
	federation := fs.String("federation", "", "the federation's id, as in its roster (required: it names the audit-log keys)")
	country := fs.String("country", "", "ISO 3166-1 alpha-2 country code of the agency, e.g. ES (required)")
	org := fs.String("org", "", "short lower-case id of the organisation within its country (required)")
	name := fs.String("name", "", "the organisation's name, for people")
	orgType := fs.String("org-type", string(record.OrgPolice), "organisation type: police, intelligence, ministry, regulator, europol, other")
	witness := fs.Bool("witness", false, "the member also cosigns other nodes' audit checkpoints")
	var addrs listFlag
	fs.Var(&addrs, "addr", "a libp2p multiaddr other members dial, e.g. /dns4/vigie.example.es/udp/4001/quic-v1 (repeatable)")
	out := fs.String("out", "", "the key folder to create; it must not exist (required)")
	asJSON := fs.Bool("json", false, "print member.json instead of a summary")
	if code, done := fs.Parse(args); done {
		return code
	}
	if len(fs.Args()) > 0 {
		return fs.usageError("unexpected argument %q", fs.Args()[0])
	}
	if *federation == "" || *country == "" || *org == "" || *out == "" {
		return fs.usageError("--federation, --country, --org and --out are required")
	}
	spec := node.MemberSpec{Country: *country, Org: *org, Name: *name, OrgType: record.OrgType(*orgType), Witness: *witness, Addrs: addrs}
	f, err := node.CreateMember(*out, *federation, spec)
	if err != nil {
		e.errorf("federation member: %s", strings.TrimPrefix(err.Error(), "node: "))
		return exitUsage
	}
	if *asJSON {
		writeJSONLine(e, f)
		return exitOK
	}
	memberJSON := filepath.Join(*out, "member.json")
	fmt.Fprintf(e.stdout, "Created %s for %s/%s (peer %s).\nKeep agency.key and peer.key there; send %s to a current member, who runs:\n", *out, f.Country, f.Org, f.PeerID, memberJSON)
	fmt.Fprintf(e.stdout, "  vigie federation amend --roster CURRENT.cbor --add %s --out NEXT.cbor\n", memberJSON)
	fmt.Fprintf(e.stdout, "Once a majority of the current members have signed NEXT.cbor:\n  vigie init --dir NODE_DIR --roster NEXT.cbor --keys %s\n", *out)
	return exitOK
}

func runFederationAmend(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "vigie federation amend --roster CURRENT.cbor [--add MEMBER.json]... [--remove CC-ORG]... [--policy ARCHIVE] --out NEXT.cbor [--json]", `
Drafts the roster version that follows CURRENT.cbor, with the members
described by the --add files (member.json from 'vigie federation member')
added and the --remove agencies (e.g. FR-pharos) removed, and writes it,
unsigned, to NEXT.cbor, which must not exist. The OPRF key and threshold are
unchanged: new members are not issuers, and an issuer can be removed only
while the threshold of issuers remains and only the issuers holding the
highest share indices (otherwise the shares must be dealt again).

--policy names a new policy bundle (an archive from 'vigie policy pack'),
which must already carry its owners' signatures ('vigie policy verify'):
members sign the roster, and with it the whole bundle, only after reviewing
'vigie policy diff' against the bundle in force. Give the archive to the
members adopting by hand ('vigie policy install'); running members fetch it
from their peers.

A strict majority of CURRENT's members must then sign NEXT.cbor, one after
the other, with 'vigie federation sign'; each node then adopts it with
'vigie federation adopt'.`)
	rosterPath := fs.String("roster", "", "the current roster (required)")
	var adds, removes listFlag
	fs.Var(&adds, "add", "member.json of an agency to add (repeatable)")
	fs.Var(&removes, "remove", "agency to remove, as CC-ORG (repeatable)")
	policyPath := fs.String("policy", "", "archive of the policy bundle the new version names")
	out := fs.String("out", "", "file to write the draft to; it must not exist (required)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if code, done := fs.Parse(args); done {
		return code
	}
	if len(fs.Args()) > 0 {
		return fs.usageError("unexpected argument %q", fs.Args()[0])
	}
	if *rosterPath == "" || *out == "" {
		return fs.usageError("--roster and --out are required")
	}
	if len(adds) == 0 && len(removes) == 0 && *policyPath == "" {
		return fs.usageError("nothing to do: give --add, --remove or --policy")
	}
	var add []record.Member
	for _, path := range adds {
		f, err := node.ReadMemberFile(path)
		if err == nil {
			var m record.Member
			if m, err = f.RosterMember(); err == nil {
				add = append(add, m)
			}
		}
		if err != nil {
			e.errorf("federation amend: --add %s: %s", path, strings.TrimPrefix(err.Error(), "node: "))
			return exitUsage
		}
	}
	var remove []record.Agency
	for _, s := range removes {
		a, err := parseAgency(s)
		if err != nil {
			return fs.usageError("--remove: %v", err)
		}
		remove = append(remove, a)
	}
	cur, err := node.ReadRosterFile(*rosterPath)
	if err != nil {
		e.errorf("federation amend: %s", strings.TrimPrefix(err.Error(), "node: "))
		return exitUsage
	}
	if _, err := os.Stat(*out); err == nil {
		e.errorf("federation amend: %s already exists; it may hold signatures, so it is not overwritten", *out)
		return exitUsage
	}
	amendment := node.RosterAmendment{Add: add, Remove: remove}
	if *policyPath != "" {
		a, ok := readArchive(e, "federation amend", *policyPath)
		if !ok {
			return exitUsage
		}
		if _, err := node.VerifyPolicyArchive(a, cur); err != nil {
			e.errorf("federation amend: --policy %s: %s", *policyPath, strings.TrimPrefix(err.Error(), "node: "))
			return exitNegative
		}
		amendment.Policy = a.CID()
	}
	next, err := node.AmendRosterWith(cur, amendment)
	if err == nil {
		err = node.WriteRosterFile(*out, next)
	}
	if err != nil {
		e.errorf("federation amend: %s", strings.TrimPrefix(err.Error(), "node: "))
		return exitUsage
	}
	change := node.DiffRosters(cur, next)
	need := len(cur.Members)/2 + 1
	if *asJSON {
		v := changeJSON(change)
		v["roster"], v["signatures"], v["needed"] = *out, 0, need
		writeJSONLine(e, v)
		return exitOK
	}
	fmt.Fprintf(e.stdout, "Drafted roster version %d of %q in %s (unsigned):\n", next.Version, next.Federation, *out)
	printChange(e, change)
	fmt.Fprintf(e.stdout, "It needs the signatures of %d of the %d members of version %d; each runs:\n  vigie federation sign --roster %s --prev %s --key MEMBER_DIR/agency.key --as CC-ORG\n",
		need, len(cur.Members), cur.Version, *out, *rosterPath)
	return exitOK
}

func runFederationSign(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "vigie federation sign --roster NEXT.cbor --prev CURRENT.cbor --key MEMBER_DIR/agency.key [--as CC-ORG] [--json]", `
Adds one member's signature to NEXT.cbor, a draft from 'vigie federation
amend', rewriting the file in place (atomically), and prints what the new
version changes, how many signatures it has and how many it needs: a
strict majority of the members of CURRENT.cbor, the version it follows
(which is why --prev is required; the signer's key is checked against it
too). --as defaults to the member whose key it is. Signing twice replaces
the earlier signature. The command refuses a draft that does not follow
CURRENT.cbor or that carries an invalid signature.`)
	rosterPath := fs.String("roster", "", "the draft roster to sign, rewritten in place (required)")
	prevPath := fs.String("prev", "", "the roster version the draft follows (required)")
	keyPath := fs.String("key", "", "the signing member's agency.key (required)")
	as := fs.String("as", "", "the signing member, as CC-ORG (default: the member whose key --key is)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if code, done := fs.Parse(args); done {
		return code
	}
	if len(fs.Args()) > 0 {
		return fs.usageError("unexpected argument %q", fs.Args()[0])
	}
	if *rosterPath == "" || *prevPath == "" || *keyPath == "" {
		return fs.usageError("--roster, --prev and --key are required")
	}
	fail := func(err error) int {
		e.errorf("federation sign: %s", strings.TrimPrefix(err.Error(), "node: "))
		return exitUsage
	}
	next, err := node.ReadRosterFile(*rosterPath)
	if err != nil {
		return fail(err)
	}
	prev, err := node.ReadRosterFile(*prevPath)
	if err != nil {
		return fail(err)
	}
	if _, _, err := node.QuorumProgress(prev, next); err != nil {
		return fail(fmt.Errorf("%s: %w", *rosterPath, err))
	}
	key, err := hybrid.ReadKeyFile(*keyPath)
	if err != nil {
		return fail(err)
	}
	signer, err := signingMember(prev, key.Public(), *as)
	if err != nil {
		return fail(err)
	}
	if err := next.Sign(key, signer); err != nil {
		return fail(err)
	}
	have, need, err := node.QuorumProgress(prev, next)
	if err == nil {
		err = node.WriteRosterFile(*rosterPath, next)
	}
	if err != nil {
		return fail(err)
	}
	change := node.DiffRosters(prev, next)
	if *asJSON {
		v := changeJSON(change)
		v["roster"], v["signer"], v["signatures"], v["needed"], v["complete"] = *rosterPath, signer.String(), have, need, have >= need
		writeJSONLine(e, v)
		return exitOK
	}
	fmt.Fprintf(e.stdout, "%s signed roster version %d of %q:\n", signer, next.Version, next.Federation)
	printChange(e, change)
	fmt.Fprintf(e.stdout, "%d of the %d signatures needed (a strict majority of the %d members of version %d).\n", have, need, len(prev.Members), prev.Version)
	if have >= need {
		fmt.Fprintf(e.stdout, "Complete (CID %s). Each node adopts it with:\n  vigie federation adopt --dir NODE_DIR %s\n", change.CID, *rosterPath)
	}
	return exitOK
}

// signingMember is the member of prev that signs with pub: the one named
// by as, whose key must be pub, or else the one whose key pub is.
func signingMember(prev *record.Roster, pub *hybrid.PublicKey, as string) (record.Agency, error) {
	if as != "" {
		a, err := parseAgency(as)
		if err != nil {
			return record.Agency{}, fmt.Errorf("--as: %w", err)
		}
		m, ok := prev.Member(a)
		if !ok {
			return record.Agency{}, fmt.Errorf("%s is not a member of roster version %d, so it cannot sign the next one", a, prev.Version)
		}
		if k, err := m.PublicKey(); err != nil || !k.Equal(pub) {
			return record.Agency{}, fmt.Errorf("the key is not the signing key roster version %d names for %s", prev.Version, a)
		}
		return a, nil
	}
	for _, m := range prev.Members {
		if k, err := m.PublicKey(); err == nil && k.Equal(pub) {
			return m.Agency, nil
		}
	}
	return record.Agency{}, fmt.Errorf("the key is no member's signing key in roster version %d", prev.Version)
}

func runFederationAdopt(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "vigie federation adopt --dir D [--json] ROSTER.cbor...", `
Makes the node in D follow a new roster version. Each version must follow
the one the node holds and carry valid signatures of a strict majority of
that version's members; several files are adopted in version order (versions
the node already holds are skipped), so a node that missed versions catches
up in one command. If 'vigie run' holds the node, the running process adopts
them through its local API and its connections follow at once (a removed
member is cut off); a stopped node follows them when it is next started.
Every version adopted is kept in D/rosters/.

A roster is refused, and nothing changes, if it is another federation's, not
newer than the node's, skips a version, lacks signatures, or removes this
node (or changes its own keys).

Exit status: 0 adopted, 1 refused, 2 usage error or unreadable node or file.`)
	var nf nodeFlags
	nf.register(fs)
	asJSON := fs.Bool("json", false, "print one JSON object per version adopted")
	if code, done := fs.Parse(args); done {
		return code
	}
	if code, bad := nf.check(fs); bad {
		return code
	}
	if len(fs.Args()) == 0 {
		return fs.usageError("name the roster file(s) to adopt")
	}
	type rosterFile struct {
		path string
		r    *record.Roster
	}
	var files []rosterFile
	for _, path := range fs.Args() {
		r, err := node.ReadRosterFile(path)
		if err != nil {
			e.errorf("federation adopt: %s", strings.TrimPrefix(err.Error(), "node: "))
			return exitUsage
		}
		files = append(files, rosterFile{path, r})
	}
	slices.SortStableFunc(files, func(a, b rosterFile) int { return cmp.Compare(a.r.Version, b.r.Version) })
	api, ok := nf.connect(ctx, e)
	if !ok {
		return exitUsage
	}
	defer api.Close()
	adopter, ok := api.(localapi.RosterAdopter)
	if !ok {
		e.errorf("federation adopt: the node in %s cannot adopt rosters this way", nf.dir)
		return exitUsage
	}
	// n is the node itself, or nil when the running process holds it; then
	// the version held is known only once one is adopted here.
	var n *node.Node
	if an, ok := api.(*daemon.AuditedNode); ok {
		n = an.Node
	}
	var held uint64
	if n != nil {
		held = n.Roster().Version
	}
	adopted := 0
	var stale error // the last version the running process held already
	for _, f := range files {
		if len(files) > 1 && f.r.Version <= held {
			continue
		}
		data, err := f.r.Encode()
		if err != nil {
			e.errorf("federation adopt: %s: %v", f.path, err)
			return exitUsage
		}
		change, err := adopter.AdoptRoster(ctx, data)
		if err != nil && n == nil {
			switch {
			case len(files) > 1 && errors.Is(err, node.ErrStaleRoster):
				stale = err // already held: skipped, as for a stopped node
				continue
			case change != nil:
				// Adopted, but the running process could not apply all of it.
				e.errorf("federation adopt: %s: %s", f.path, strings.TrimPrefix(err.Error(), "daemon: "))
				return exitUsage
			case !isRosterRefusal(err):
				e.errorf("federation adopt: %s: adopting through the running node: %v", f.path, err)
				return exitUsage
			}
		}
		if err != nil {
			e.errorf("federation adopt: %s refused: %s", f.path, strings.TrimPrefix(err.Error(), "node: "))
			return exitNegative
		}
		adopted++
		held = change.Version
		if *asJSON {
			writeJSONLine(e, changeJSON(change))
			continue
		}
		fmt.Fprintf(e.stdout, "Adopted roster version %d of %q (was %d) from %s:\n", change.Version, change.Federation, change.From, f.path)
		printChange(e, change)
	}
	if adopted == 0 {
		if n == nil && stale != nil {
			e.errorf("federation adopt: nothing to adopt: %s", strings.TrimPrefix(stale.Error(), "node: "))
		} else {
			e.errorf("federation adopt: nothing to adopt: the node already holds roster version %d", held)
		}
		return exitNegative
	}
	if !*asJSON {
		if n == nil {
			fmt.Fprintf(e.stdout, "The running node now follows roster version %d; its connections follow it already.\n", held)
		} else {
			fmt.Fprintf(e.stdout, "The node now follows roster version %d; restart it ('vigie run') for its connections to follow.\n", held)
		}
	}
	return exitOK
}

// isRosterRefusal tells whether err, from a running node, is the node
// refusing a roster (exit status 1) rather than failing to answer.
func isRosterRefusal(err error) bool {
	for _, s := range []error{node.ErrStaleRoster, node.ErrRosterQuorum, node.ErrRosterGap, node.ErrWrongFederation,
		node.ErrRemovedFromFederation, node.ErrInvalidInput} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// parseAgency reads CC-ORG (a member folder's name) or CC/ORG.
func parseAgency(s string) (record.Agency, error) {
	s = strings.TrimSpace(s)
	if len(s) < 4 || (s[2] != '-' && s[2] != '/') {
		return record.Agency{}, fmt.Errorf("%q is not an agency such as FR-pharos", s)
	}
	return record.Agency{Country: strings.ToUpper(s[:2]), Org: strings.ToLower(s[3:])}, nil
}

func printChange(e *env, c *node.RosterChange) {
	for _, l := range []struct {
		sign string
		ms   []node.MemberRef
	}{{"+", c.Added}, {"-", c.Removed}, {"~", c.Changed}} {
		for _, m := range l.ms {
			fmt.Fprintf(e.stdout, "  %s %-14s peer %s\n", l.sign, m.Agency, m.PeerID)
		}
	}
	if c.Policy.Defined() {
		fmt.Fprintf(e.stdout, "  policy bundle %s\n", c.Policy)
	}
}

func changeJSON(c *node.RosterChange) map[string]any {
	refs := func(ms []node.MemberRef) []map[string]string {
		out := make([]map[string]string, 0, len(ms))
		for _, m := range ms {
			out = append(out, map[string]string{"agency": m.Agency.String(), "peer_id": m.PeerID})
		}
		return out
	}
	v := map[string]any{"federation": c.Federation, "version": c.Version, "from": c.From,
		"added": refs(c.Added), "removed": refs(c.Removed), "changed": refs(c.Changed)}
	if c.CID.Defined() {
		v["cid"] = c.CID.String()
	}
	if c.Policy.Defined() {
		v["policy"] = c.Policy.String()
	}
	return v
}
