package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/vigie-project/vigie/node"
	"github.com/vigie-project/vigie/protocol/record"
)

func initCommand() *command {
	return &command{name: "init", summary: "create a node folder for an agency", run: runInit}
}

func runInit(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "vigie init --dir D (--country CC [--org ID] [--org-name NAME] [--org-type TYPE] | --roster FILE --keys DIR) [--json]", `
Creates a node folder: the agency's hybrid signing key, the libp2p peer key,
and an embedded store. Without a roster the node is a standalone federation
of one, holding the only issuer share (1 of 1), so every command works on
this machine without peers. With --roster and --keys the node joins an
existing federation, using the key folder 'vigie federation init' (or, for
a later member, 'vigie federation member') wrote for this member; the keys
must be the ones the roster names. A genesis roster (version 1) must carry
a majority of its members' signatures. A later version can only be checked
against the version before it, which a joining node does not have: it is
trusted as the operator gives it, so take it from the members who signed it
and compare the CID printed here with theirs. Later versions are then
checked one by one ('vigie federation adopt'). Key files are written with
mode 0600.`)
	var nf nodeFlags
	nf.register(fs)
	country := fs.String("country", "", "ISO 3166-1 alpha-2 country code of the agency, e.g. FR (required)")
	org := fs.String("org", "national", "short lower-case id of the organisation within its country")
	orgName := fs.String("org-name", "", "the organisation's name, for people")
	orgType := fs.String("org-type", string(record.OrgPolice), "organisation type: police, intelligence, ministry, regulator, europol, other")
	rosterPath := fs.String("roster", "", "join the federation whose signed roster this is")
	keys := fs.String("keys", "", "this member's key folder from 'vigie federation init' (with --roster)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if code, done := fs.Parse(args); done {
		return code
	}
	if code, bad := nf.check(fs); bad {
		return code
	}
	if len(fs.Args()) > 0 {
		return fs.usageError("unexpected argument %q", fs.Args()[0])
	}
	switch {
	case (*rosterPath == "") != (*keys == ""):
		return fs.usageError("--roster and --keys go together")
	case *rosterPath != "":
		if err := node.Join(ctx, nf.dir, *rosterPath, *keys); err != nil {
			e.errorf("init: %v", err)
			return exitUsage
		}
	case *country == "":
		return fs.usageError("--country is required (or --roster and --keys to join a federation)")
	default:
		opts := node.InitOptions{Country: *country, Org: *org, OrgName: *orgName, OrgType: record.OrgType(*orgType)}
		if err := node.Init(ctx, nf.dir, opts); err != nil {
			e.errorf("init: %v", err)
			return exitUsage
		}
	}
	n, ok := nf.open(ctx, e)
	if !ok {
		return exitUsage
	}
	defer n.Close()
	if *asJSON {
		json.NewEncoder(e.stdout).Encode(map[string]string{"dir": nf.dir, "agency": n.Agency().String(), "federation": n.Federation()})
		return exitOK
	}
	if *rosterPath != "" {
		r := n.Roster()
		c, _ := r.CID()
		fmt.Fprintf(e.stdout, "Roster version %d, CID %s.\n", r.Version, c)
	}
	fmt.Fprintf(e.stdout, "Initialised %s for %s (federation %q).\nNext: vigie assert --dir %s --url URL --category incitement --tlp amber --legal-status referral --legal-basis TCO:Art.5\n",
		nf.dir, n.Agency(), n.Federation(), nf.dir)
	return exitOK
}
