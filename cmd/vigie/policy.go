package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vigie-project/vigie/node"
	"github.com/vigie-project/vigie/policy"
	"github.com/vigie-project/vigie/protocol/record"
)

// exitIndeterminate is explain's exit status for an indeterminate decision.
const exitIndeterminate = 3

// maxPolicyFile bounds the vector and record files the policy commands read.
const maxPolicyFile = 16 << 20

func policyCommand() *command {
	return &command{
		name:    "policy",
		summary: "lint, test, explain, diff, replay, pack, sign and install the legal policy packs (Cedar)",
		subs: []*command{
			{name: "lint", summary: "check a policy bundle: annotations, dates, actions, schema, ownership", run: runPolicyLint},
			{name: "test", summary: "run JSON test vectors against a policy bundle", run: runPolicyTest},
			{name: "explain", summary: "decide one request and show the grounds, bars and obligations", run: runPolicyExplain},
			{name: "diff", summary: "list the decisions that change between two policy bundles", run: runPolicyDiff},
			{name: "replay", summary: "re-run recorded decisions against their bundle or another one", run: runPolicyReplay},
			{name: "pack", summary: "pack a bundle into an archive for the owners to sign", run: runPolicyPack},
			{name: "sign", summary: "sign, as a member, the policies its country owns in an archive", run: runPolicySign},
			{name: "verify", summary: "check an archive's owner signatures against a roster", run: runPolicyVerify},
			{name: "install", summary: "install a checked archive in a node folder", run: runPolicyInstall},
		},
	}
}

const bundleHelp = `A BUNDLE is a folder with schema.cedarschema, baseline/*.cedar,
countries/<CC>.cedar and instruments/*.cedar, or an archive file from 'vigie
policy pack' (its signatures are not checked here: 'vigie policy verify');
without one, the bundle built into this binary is used. "embedded" names the
built-in bundle explicitly.`

// loadBundle loads dir ("" or "embedded": the built-in bundle) and reports
// failures on stderr.
func loadBundle(e *env, dir string) (*policy.Bundle, bool) {
	var b *policy.Bundle
	var err error
	if dir == "" || dir == "embedded" {
		b, err = policy.Default()
	} else if st, serr := os.Stat(dir); serr == nil && st.Mode().IsRegular() {
		b, err = loadArchiveBundle(dir)
	} else {
		b, err = policy.LoadDir(dir)
	}
	if err != nil {
		name := dir
		if name == "" {
			name = "embedded"
		}
		e.errorf("policy bundle %s: %v", name, err)
		return nil, false
	}
	return b, true
}

// isBundleDir reports whether p is a folder laid out as a bundle.
func isBundleDir(p string) bool {
	if p == "embedded" {
		return true
	}
	for _, sub := range []string{"schema.cedarschema", "baseline", "countries", "instruments"} {
		if _, err := os.Stat(filepath.Join(p, sub)); err == nil {
			return true
		}
	}
	return false
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPolicyFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxPolicyFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxPolicyFile)
	}
	return data, nil
}

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// ---------------------------------------------------------------------------
// vigie policy lint

func runPolicyLint(_ context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "vigie policy lint [--json] [BUNDLE]", `
Checks a policy bundle: every permit and forbid has a unique @id, a @cite
and an @owner; @from/@until are YYYY-MM-DD dates; only known annotations and
actions are used; policies type-check against schema.cedarschema; and a
country's (or an instrument's) policies only govern flows that involve that
country (principal.country, context.sender, context.recipient or
resource.originator). Exit status 1 if there is any error (warnings alone
exit 0).

`+bundleHelp)
	asJSON := fs.Bool("json", false, `print {"bundle":…,"policies":N,"problems":[…]}`)
	if code, done := fs.Parse(args); done {
		return code
	}
	if len(fs.Args()) > 1 {
		return fs.usageError("give at most one bundle")
	}
	var fsys iofs.FS = policy.EmbeddedFS()
	name := "embedded"
	if len(fs.Args()) == 1 && fs.Args()[0] != "embedded" {
		name = fs.Args()[0]
		st, err := os.Stat(name)
		switch {
		case err == nil && st.Mode().IsRegular():
			var a *record.PolicyArchive
			if a, err = decodeArchiveFile(name); err == nil {
				fsys, err = node.PolicyArchiveFS(a)
			}
			if err != nil {
				e.errorf("policy lint: %s: %v", name, err)
				return exitUsage
			}
		case err != nil || !st.IsDir():
			return fs.usageError("%s is not a folder or a policy archive file", name)
		default:
			fsys = os.DirFS(name)
		}
	}
	b, probs := policy.Lint(fsys)
	errs := 0
	for _, p := range probs {
		if p.Severity != "warning" {
			errs++
		}
	}
	n, hash := 0, ""
	if b != nil {
		n, hash = len(b.Policies()), b.Hash()
	}
	if *asJSON {
		if probs == nil {
			probs = []policy.Problem{}
		}
		writeJSON(e.stdout, map[string]any{"bundle": hash, "policies": n, "errors": errs, "problems": probs})
	} else {
		for _, p := range probs {
			fmt.Fprintln(e.stdout, p)
		}
		fmt.Fprintf(e.stdout, "%s: %d policies, %d error(s), %d warning(s); bundle %s\n", name, n, errs, len(probs)-errs, hash)
	}
	if errs > 0 {
		return exitNegative
	}
	return exitOK
}

// ---------------------------------------------------------------------------
// vigie policy test

func runPolicyTest(_ context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "vigie policy test [--json] [--verbose] [BUNDLE] VECTORS...", `
Runs JSON test vectors against a bundle. VECTORS are files or folders (every
*.json inside, recursively). A file holds one vector, an array of vectors or
{"vectors": […]}; a vector is
  {"name": …, "request": {…explain's flags…}, "expect": {"decision": …, "grounds": [ids], "bars": [ids]}}
(grounds and bars are compared as sets when given). Prints each failure;
exit status 1 if any vector fails.

`+bundleHelp)
	asJSON := fs.Bool("json", false, `print {"passed":N,"failed":N,"failures":[…]}`)
	verbose := fs.Bool("verbose", false, "print every vector, not only failures")
	bundleDir := fs.String("bundle", "", "the bundle folder (instead of the first argument)")
	if code, done := fs.Parse(args); done {
		return code
	}
	paths := fs.Args()
	if *bundleDir == "" && len(paths) > 1 && isBundleDir(paths[0]) {
		*bundleDir, paths = paths[0], paths[1:]
	}
	if len(paths) == 0 {
		return fs.usageError("give at least one vector file or folder")
	}
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return fs.usageError("%v", err)
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(path, ".json") {
				files = append(files, path)
			}
			return err
		})
		if err != nil {
			return fs.usageError("%v", err)
		}
	}
	if len(files) == 0 {
		return fs.usageError("no *.json vector files in %s", strings.Join(paths, ", "))
	}
	b, ok := loadBundle(e, *bundleDir)
	if !ok {
		return exitUsage
	}
	type failure struct {
		File     string          `json:"file"`
		Name     string          `json:"name"`
		Failures []string        `json:"failures"`
		Decision policy.Decision `json:"decision"`
	}
	failures := []failure{}
	passed := 0
	for _, f := range files {
		data, err := readLimited(f)
		if err != nil {
			e.errorf("%v", err)
			return exitUsage
		}
		vs, err := policy.DecodeVectors(data)
		if err != nil {
			e.errorf("%s: %v", f, err)
			return exitUsage
		}
		for _, v := range vs {
			d, fails := b.Check(v)
			if len(fails) == 0 {
				passed++
				if *verbose && !*asJSON {
					fmt.Fprintf(e.stdout, "ok    %s: %s\n", f, v.Name)
				}
				continue
			}
			failures = append(failures, failure{File: f, Name: v.Name, Failures: fails, Decision: d})
			if !*asJSON {
				fmt.Fprintf(e.stdout, "FAIL  %s: %s\n      %s\n", f, v.Name, strings.Join(fails, "\n      "))
			}
		}
	}
	if *asJSON {
		writeJSON(e.stdout, map[string]any{"bundle": b.Hash(), "passed": passed, "failed": len(failures), "failures": failures})
	} else {
		fmt.Fprintf(e.stdout, "%d passed, %d failed; bundle %s\n", passed, len(failures), b.Hash())
	}
	if len(failures) > 0 {
		return exitNegative
	}
	return exitOK
}

// ---------------------------------------------------------------------------
// vigie policy explain

// requestFlags registers the flags that describe one request.
type requestFlags struct {
	action, sender, recipient, originator, country, org, orgType, date  *string
	tlp, pap, legalStatus, scope, handling, orderRef, expires, purpose  *string
	categories, onwardOK                                                listFlag
	humanReviewed, oversightNotified, specialCategory, excluded, urgent *bool
}

func (rf *requestFlags) register(fs *flagSet) {
	rf.action = fs.String("action", "", "share, accept, disclose, query, act_refer, act_remove, act_block, act_deref, retain or retract (required)")
	rf.sender = fs.String("sender", "", "the sending country (ISO code)")
	rf.recipient = fs.String("recipient", "", "the receiving country")
	rf.originator = fs.String("originator", "", "the country whose agency made the assertion")
	rf.country = fs.String("country", "", "the acting agency's country (default: the sender for share and retract, the recipient otherwise)")
	rf.org = fs.String("org", "", "the acting agency's organisation")
	rf.orgType = fs.String("org-type", "", "the acting agency's kind: police, prosecutor, court, regulator, intelligence, private")
	rf.date = fs.String("date", "", "the decision date, YYYY-MM-DD (default today, UTC)")
	fs.Var(&rf.categories, "category", "a content category (repeatable, or comma-separated)")
	rf.tlp = fs.String("tlp", "", "TLP marking: CLEAR, GREEN, AMBER, AMBER+STRICT, RED")
	rf.pap = fs.String("pap", "", "PAP marking: CLEAR, GREEN, AMBER, RED")
	rf.legalStatus = fs.String("legal-status", "", "intel, referral, national_order, tco_order, tco_order_under_scrutiny, annulled")
	rf.scope = fs.String("scope", "url", "indicator scope: url, prefix or host")
	rf.handling = fs.String("handling", "", "handling code, e.g. H2")
	fs.Var(&rf.onwardOK, "onward-ok", "a country the originator pre-authorised for onward transfer (repeatable)")
	rf.humanReviewed = fs.Bool("human-reviewed", false, "a person reviewed the decision")
	rf.oversightNotified = fs.Bool("oversight-notified", false, "the oversight person was notified")
	rf.specialCategory = fs.Bool("special-category", false, "special-category data (LED Art. 10)")
	rf.excluded = fs.Bool("excluded-purpose", false, "the content serves an excluded purpose (journalism, research, art…)")
	rf.orderRef = fs.String("order-ref", "", "the judicial or administrative order reference")
	rf.urgent = fs.Bool("urgent", false, "urgent: imminent threat to life")
	rf.expires = fs.String("expires", "", "the assertion's expiry date, YYYY-MM-DD")
	rf.purpose = fs.String("purpose", "", "the purpose of the processing")
}

func (rf *requestFlags) request() policy.Request {
	date := *rf.date
	if date == "" {
		date = time.Now().UTC().Format(time.DateOnly)
	}
	return policy.Request{Action: *rf.action, Sender: *rf.sender, Recipient: *rf.recipient, Originator: *rf.originator,
		Country: *rf.country, Org: *rf.org, OrgType: *rf.orgType, Date: date, Categories: rf.categories, TLP: *rf.tlp,
		PAP: *rf.pap, LegalStatus: *rf.legalStatus, Scope: *rf.scope, Handling: *rf.handling, OnwardOK: rf.onwardOK,
		HumanReviewed: *rf.humanReviewed, OversightNotified: *rf.oversightNotified, SpecialCategory: *rf.specialCategory,
		ExcludedPurpose: *rf.excluded, OrderRef: *rf.orderRef, Urgent: *rf.urgent, Expires: *rf.expires, Purpose: *rf.purpose}
}

func runPolicyExplain(_ context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "vigie policy explain --action A [--sender CC] [--recipient CC] [--originator CC] [--date D] [--category C]... [flags]", `
Decides one request and explains it: allow iff some legal ground applies
and no bar does. Prints the grounds relied on, the bars that fired, for a
"no legal basis" denial the grounds checked, the obligations, and the bundle
hash. With --json: {"decision":…, "grounds":[{"id":…,"cite":…}], "bars":[…],
"checked":[…], "obligations":[…], "bundle":…, "engine":…}; with --record:
{"request":…, "decision":…}, which 'vigie policy replay' reads.

Exit status: 0 allow, 1 deny, 3 indeterminate (an evaluation error: never a
silent deny), 2 usage.

`+bundleHelp)
	var rf requestFlags
	rf.register(fs)
	asJSON := fs.Bool("json", false, "print the decision as JSON")
	asRecord := fs.Bool("record", false, "print a replayable record (request and decision) as JSON")
	bundleDir := fs.String("bundle", "", "the bundle folder (default: the built-in bundle)")
	if code, done := fs.Parse(args); done {
		return code
	}
	if len(fs.Args()) > 0 {
		return fs.usageError("unexpected argument %q", fs.Args()[0])
	}
	req := rf.request()
	if _, err := req.Normalize(); err != nil {
		return fs.usageError("%v", err)
	}
	b, ok := loadBundle(e, *bundleDir)
	if !ok {
		return exitUsage
	}
	d := b.Decide(req)
	switch {
	case *asRecord:
		writeJSON(e.stdout, policy.Record{Request: req, Decision: d})
	case *asJSON:
		writeJSON(e.stdout, d)
	default:
		printDecision(e.stdout, req, d)
	}
	switch d.Decision {
	case policy.Allow:
		return exitOK
	case policy.Deny:
		return exitNegative
	}
	return exitIndeterminate
}

func printDecision(w io.Writer, req policy.Request, d policy.Decision) {
	n, _ := req.Normalize()
	flow := n.Sender + " → " + n.Recipient
	fmt.Fprintf(w, "%s: %s %s (%s) on %s", strings.ToUpper(d.Decision), n.Action, flow, strings.Join(n.Categories, ", "), n.Date)
	if d.Decision == policy.Deny && len(d.Grounds) == 0 && len(d.Bars) == 0 {
		fmt.Fprint(w, ": "+d.Reason)
	}
	fmt.Fprintln(w)
	section := func(title string, rules []policy.Rule) {
		if len(rules) == 0 {
			return
		}
		fmt.Fprintf(w, "%s:\n", title)
		for _, r := range rules {
			fmt.Fprintf(w, "  %s — %s\n", r.ID, r.Cite)
			if r.Note != "" {
				fmt.Fprintf(w, "    (%s)\n", r.Note)
			}
		}
	}
	section("grounds relied on", d.Grounds)
	section("bars that fired", d.Bars)
	section("grounds checked, none applicable", d.Checked)
	if len(d.Obligations) > 0 {
		fmt.Fprintf(w, "obligations: %s\n", strings.Join(d.Obligations, ", "))
	}
	for _, err := range d.Errors {
		fmt.Fprintf(w, "error: %s\n", err)
	}
	fmt.Fprintf(w, "bundle %s, %s\n", d.Bundle, d.Engine)
}

// ---------------------------------------------------------------------------
// vigie policy diff

func runPolicyDiff(_ context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "vigie policy diff [flags] OLD NEW", `
Decides the whole finite decision table under the OLD and NEW bundles on
one date and prints every decision that changes, with its old and new
reasons, then a summary. The table is every combination of:
  action        all ten actions
  sender, recipient
                the country owners of both bundles (originator = sender)
  category      one per request: the §4.1 vocabulary plus every category
                the policies test
  tlp, pap      every TLP and PAP level
  legal status  intel, referral, national_order, tco_order,
                tco_order_under_scrutiny, annulled, and any other status
                the policies test
  scope         url, prefix, host
  handling      none, H0, H1, H2, H3, and any other code the policies test
  onward        no onward consent, or consent for the recipient
  flags         every subset of human_reviewed, oversight_notified,
                urgent, special_category, excluded_purpose, order_ref
with no stated purpose, an acting agency of no particular kind and an
expiry one year after the date. Every cell is answered, exactly,
without deciding each: an action whose policies in force are the same in
both bundles is skipped; for each action, sender and recipient, the
policies are partially evaluated with the other dimensions unknown, and
values that no policy in play tells apart are decided once. A change that
holds for every value of a dimension shows it as "*", for several values
as a|b|c; flags show +set, -unset and "*" for any other. Counts are table
cells. Exit status 1 if any decision changed.

OLD and NEW are bundle folders, or "embedded" for the built-in bundle.`)
	asJSON := fs.Bool("json", false, `print {"summary":…, "table":…, "changes":[…]} as JSON`)
	date := fs.String("date", "", "the decision date, YYYY-MM-DD (default today, UTC)")
	var dims diffDims
	dims.register(fs)
	expires := fs.String("expires", "", `the assertions' expiry date, YYYY-MM-DD, or "none" (default: one year after --date)`)
	all := fs.Bool("all", false, "also list requests whose decision is the same but whose reasons changed")
	maxList := fs.Int("max", 0, "list at most this many changes (0: all)")
	if code, done := fs.Parse(args); done {
		return code
	}
	if len(fs.Args()) != 2 {
		return fs.usageError("give the OLD and NEW bundles")
	}
	if *date == "" {
		*date = time.Now().UTC().Format(time.DateOnly)
	}
	old, ok := loadBundle(e, fs.Args()[0])
	if !ok {
		return exitUsage
	}
	cur, ok := loadBundle(e, fs.Args()[1])
	if !ok {
		return exitUsage
	}
	t := policy.DefaultTable(*date, old, cur)
	dims.apply(&t)
	switch *expires {
	case "":
	case "none":
		t.Expires = ""
	default:
		t.Expires = *expires
	}
	if err := t.Check(); err != nil {
		return fs.usageError("%v", err)
	}
	start := time.Now()
	res, err := policy.Diff(old, cur, t)
	if err != nil {
		return fs.usageError("%v", err)
	}
	elapsed := time.Since(start)
	var listed []policy.Change
	for _, c := range res.Changes {
		if (c.DecisionChanged || *all) && (*maxList == 0 || len(listed) < *maxList) {
			listed = append(listed, c)
		}
	}
	if *asJSON {
		res.Changes = nil
		if listed == nil {
			listed = []policy.Change{}
		}
		writeJSON(e.stdout, map[string]any{"summary": res, "table": t, "changes": listed, "seconds": elapsed.Seconds()})
	} else {
		printDiff(e.stdout, t, res, listed, elapsed)
	}
	if res.Changed > 0 {
		return exitNegative
	}
	return exitOK
}

// diffDims are the flags that restrict the table's dimensions.
type diffDims struct {
	actions, countries, categories, tlps, paps, statuses, scopes, handlings, onward, flags listFlag
}

func (d *diffDims) register(fs *flagSet) {
	fs.Var(&d.actions, "action", "restrict to these actions (repeatable)")
	fs.Var(&d.countries, "country", "use these countries as senders and recipients (repeatable)")
	fs.Var(&d.categories, "category", "use these categories (repeatable)")
	fs.Var(&d.tlps, "tlp", "use these TLP markings (repeatable)")
	fs.Var(&d.paps, "pap", "use these PAP markings (repeatable)")
	fs.Var(&d.statuses, "legal-status", "use these legal statuses (repeatable)")
	fs.Var(&d.scopes, "scope", "use these scopes (repeatable)")
	fs.Var(&d.handlings, "handling", `use these handling codes, "none" for none (repeatable)`)
	fs.Var(&d.onward, "onward", `use these onward-consent cases: "none", "recipient" (repeatable)`)
	fs.Var(&d.flags, "flags", `flag combinations, each "+"-joined from `+strings.Join(policy.FlagNames, ", ")+
		`, "none" for none (repeatable; default: every combination)`)
}

// apply replaces the dimensions of t that flags were given for.
func (d *diffDims) apply(t *policy.Table) {
	noneIsEmpty := func(s string) string {
		if s == "none" {
			return ""
		}
		return s
	}
	for _, o := range []struct {
		set  listFlag
		dst  *[]string
		norm func(string) string
	}{
		{d.actions, &t.Actions, strings.ToLower}, {d.countries, &t.Countries, strings.ToUpper},
		{d.categories, &t.Categories, strings.ToLower}, {d.tlps, &t.TLPs, strings.ToUpper}, {d.paps, &t.PAPs, strings.ToUpper},
		{d.statuses, &t.LegalStatuses, strings.ToLower}, {d.scopes, &t.Scopes, strings.ToLower},
		{d.handlings, &t.Handlings, func(s string) string { return strings.ToUpper(noneIsEmpty(strings.ToLower(s))) }},
		{d.onward, &t.Onward, strings.ToLower}, {d.flags, &t.Flags, noneIsEmpty},
	} {
		if len(o.set) > 0 {
			*o.dst = nil
			for _, v := range o.set {
				*o.dst = append(*o.dst, o.norm(v))
			}
		}
	}
}

func printDiff(w io.Writer, t policy.Table, res policy.DiffResult, listed []policy.Change, elapsed time.Duration) {
	for _, c := range listed {
		fmt.Fprintf(w, "%s %s→%s %s: %s → %s (%d cell(s))\n", c.Request.Action, c.Request.Sender, c.Request.Recipient,
			describeCell(t, c), c.Old.Decision, c.New.Decision, c.Cells)
		fmt.Fprintf(w, "    old: %s\n    new: %s\n", reasons(c.Old), reasons(c.New))
	}
	fmt.Fprintf(w, "%d decision(s) changed, %d with only reasons changed, in %d change(s) listed; table cells counted\n",
		res.Changed, res.ReasonsOnly, len(listed))
	fmt.Fprintf(w, "table of %d cells on %s: %d evaluated under both bundles, %d (action, sender, recipient) group(s) proven unchanged, "+
		"%d action(s) skipped as unchanged (%s), in %s\n", res.TableSize, res.Date, res.Evaluated, res.Unchanged,
		len(res.SkippedActions), strings.Join(res.SkippedActions, ","), elapsed.Round(time.Millisecond))
	for _, a := range res.PerAction {
		fmt.Fprintf(w, "  %-10s %d cells, %d evaluated, %d changed, %d reasons only\n", a.Action, a.Cells, a.Evaluated, a.Changed, a.ReasonsOnly)
	}
	fmt.Fprintf(w, "old %s\nnew %s\n", res.OldBundle, res.NewBundle)
}

// describeCell shows the cells a change stands for: each dimension's value,
// "*" for any, a|b for some.
func describeCell(t policy.Table, c policy.Change) string {
	r := c.Request
	onward := policy.OnwardNone
	if len(r.OnwardOK) > 0 {
		onward = policy.OnwardRecipient
	}
	noneIfEmpty := func(s string) string {
		if s == "" {
			return "none"
		}
		return s
	}
	var parts []string
	for _, d := range []struct{ name, label, value string }{
		{"category", "category=", r.Categories[0]}, {"tlp", "tlp=", r.TLP}, {"pap", "pap=", r.PAP}, {"legal_status", "status=", r.LegalStatus},
		{"scope", "scope=", r.Scope}, {"handling", "handling=", r.Handling}, {"onward", "onward=", onward},
	} {
		v := noneIfEmpty(d.value)
		switch {
		case slices.Contains(c.Wildcards, d.name):
			v = "*"
		case len(c.Classes[d.name]) > 0:
			var vs []string
			for _, x := range c.Classes[d.name] {
				vs = append(vs, noneIfEmpty(x))
			}
			v = strings.Join(vs, "|")
		}
		parts = append(parts, d.label+v)
	}
	return strings.Join(append(parts, "flags="+describeFlags(t, c)), " ")
}

// describeFlags shows +flag for a flag set, -flag for one unset (among those
// the table varies), and a final "*" when other flags may take any value.
func describeFlags(t policy.Table, c policy.Change) string {
	r := c.Request
	on := []bool{r.HumanReviewed, r.OversightNotified, r.Urgent, r.SpecialCategory, r.ExcludedPurpose, r.OrderRef != ""}
	var out []string
	wild := false
	for i, f := range policy.FlagNames {
		switch {
		case slices.Contains(c.Wildcards, f):
			wild = true
		case on[i]:
			out = append(out, "+"+f)
		case flagVaries(t, f):
			out = append(out, "-"+f)
		}
	}
	if wild {
		out = append(out, "*")
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ",")
}

// flagVaries reports whether the table has combinations with and without f.
func flagVaries(t policy.Table, f string) bool {
	with := 0
	for _, combo := range t.Flags {
		if slices.Contains(strings.Split(combo, "+"), f) {
			with++
		}
	}
	return with > 0 && with < len(t.Flags)
}

func reasons(d policy.Decision) string {
	switch {
	case len(d.Errors) > 0:
		return "errors: " + strings.Join(d.Errors, "; ")
	case len(d.Bars) > 0:
		return "bars " + strings.Join(policy.IDs(d.Bars), ", ") + groundsSuffix(d)
	case len(d.Grounds) > 0:
		return "grounds " + strings.Join(policy.IDs(d.Grounds), ", ")
	}
	return "no legal basis (checked " + strings.Join(policy.IDs(d.Checked), ", ") + ")"
}

func groundsSuffix(d policy.Decision) string {
	if len(d.Grounds) == 0 {
		return ""
	}
	return "; grounds " + strings.Join(policy.IDs(d.Grounds), ", ")
}

// ---------------------------------------------------------------------------
// vigie policy replay

func runPolicyReplay(_ context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "vigie policy replay [--bundle DIR] [--json] RECORD.json...", `
Re-runs recorded decisions ({"request":…, "decision":…}, as 'vigie policy
explain --record' prints and the decision log keeps). Against the bundle the
decision was taken under (same hash), the decision must be identical: any
difference is reported and the exit status is 1. Against another bundle,
prints what would change (exit status 0).

`+bundleHelp)
	asJSON := fs.Bool("json", false, "print one JSON object per record")
	bundleDir := fs.String("bundle", "", "the bundle folder (default: the built-in bundle)")
	if code, done := fs.Parse(args); done {
		return code
	}
	if len(fs.Args()) == 0 {
		return fs.usageError("give at least one record file")
	}
	b, ok := loadBundle(e, *bundleDir)
	if !ok {
		return exitUsage
	}
	code := exitOK
	for _, f := range fs.Args() {
		data, err := readLimited(f)
		if err != nil {
			e.errorf("%v", err)
			return exitUsage
		}
		rec, err := policy.DecodeRecord(data)
		if err != nil {
			e.errorf("%s: %v", f, err)
			return exitUsage
		}
		d := b.Decide(rec.Request)
		same := rec.Decision.Bundle == d.Bundle
		changes := policy.Changes(rec.Decision, d)
		if changes == nil {
			changes = []string{}
		}
		mismatch := same && len(changes) > 0
		if mismatch {
			code = exitNegative
		}
		if *asJSON {
			enc := json.NewEncoder(e.stdout)
			enc.SetEscapeHTML(false)
			enc.Encode(map[string]any{"record": f, "same_bundle": same, "recorded_bundle": rec.Decision.Bundle,
				"bundle": d.Bundle, "match": len(changes) == 0, "changes": changes, "decision": d})
			continue
		}
		switch {
		case mismatch:
			fmt.Fprintf(e.stdout, "%s: MISMATCH under the same bundle %s:\n    %s\n", f, d.Bundle, strings.Join(changes, "\n    "))
		case same:
			fmt.Fprintf(e.stdout, "%s: reproduced (%s) under bundle %s\n", f, d.Decision, d.Bundle)
		case len(changes) == 0:
			fmt.Fprintf(e.stdout, "%s: no change under bundle %s (recorded under %s): %s\n", f, d.Bundle, rec.Decision.Bundle, d.Decision)
		default:
			fmt.Fprintf(e.stdout, "%s: would change under bundle %s (recorded under %s):\n    %s\n", f, d.Bundle, rec.Decision.Bundle, strings.Join(changes, "\n    "))
		}
	}
	return code
}
