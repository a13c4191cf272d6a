package policy

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/ast"
	"github.com/cedar-policy/cedar-go/types"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
)

// embeddedWith loads the embedded packs without the files in drop and with
// edit applied to the text of file (if any).
func embeddedWith(t testing.TB, file string, edit func(string) string, drop ...string) *Bundle {
	t.Helper()
	fsys := EmbeddedCopy(drop...)
	if file != "" {
		before := string(fsys[file].Data)
		after := edit(before)
		if after == before {
			t.Fatalf("the edit of %s changed nothing", file)
		}
		fsys[file] = &fstest.MapFile{Data: []byte(after)}
	}
	b, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func defaultBundleT(t testing.TB) *Bundle {
	t.Helper()
	b, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// cellNames are the parts of a cell key, in order; then come the flags.
var cellNames = []string{"action", "sender", "recipient", "category", "tlp", "pap", "legal_status", "scope", "handling", "onward"}

// cellKey names one table cell, with the parts named in wild (dimensions
// or flags) replaced by "*" and those whose value is in one of classes by
// the class.
func cellKey(r Request, wild []string, classes map[string][]string) string {
	onward := OnwardNone
	if len(r.OnwardOK) > 0 {
		onward = OnwardRecipient
	}
	parts := []string{r.Action, r.Sender, r.Recipient, r.Categories[0], r.TLP, r.PAP, r.LegalStatus, r.Scope, r.Handling, onward}
	for i, n := range cellNames {
		if slices.Contains(wild, n) {
			parts[i] = "*"
		} else if slices.Contains(classes[n], parts[i]) {
			parts[i] = "{" + strings.Join(classes[n], ",") + "}"
		}
	}
	for i, on := range []bool{r.HumanReviewed, r.OversightNotified, r.Urgent, r.SpecialCategory, r.ExcludedPurpose, r.OrderRef != ""} {
		switch {
		case slices.Contains(wild, FlagNames[i]):
			parts = append(parts, "*")
		case on:
			parts = append(parts, "1")
		default:
			parts = append(parts, "0")
		}
	}
	return strings.Join(parts, "|")
}

// shape is what a change leaves open.
type shape struct {
	wild    []string
	classes map[string][]string
}

// reducedIndex finds the change that stands for a cell: per group, per
// distinct shape, the changes by their key.
type reducedIndex map[group]map[string]*shapeIndex

type shapeIndex struct {
	shape
	byKey map[string]int
}

func indexChanges(changes []Change) reducedIndex {
	idx := reducedIndex{}
	for i, c := range changes {
		g := group{c.Request.Action, c.Request.Sender, c.Request.Recipient}
		if idx[g] == nil {
			idx[g] = map[string]*shapeIndex{}
		}
		name := fmt.Sprint(c.Wildcards, c.Classes)
		if idx[g][name] == nil {
			idx[g][name] = &shapeIndex{shape{c.Wildcards, c.Classes}, map[string]int{}}
		}
		idx[g][name].byKey[cellKey(c.Request, c.Wildcards, c.Classes)] = i
	}
	return idx
}

// lookup returns the changes that claim the cell r.
func (idx reducedIndex) lookup(r Request) []int {
	var out []int
	for _, si := range idx[group{r.Action, r.Sender, r.Recipient}] {
		if i, ok := si.byKey[cellKey(r, si.wild, si.classes)]; ok {
			out = append(out, i)
		}
	}
	return out
}

// checkAgainstBruteForce decides every cell of t under both bundles and
// compares with res: each changed cell is claimed by exactly one change,
// with the same differences, and every change claims as many cells as it
// says.
func checkAgainstBruteForce(t *testing.T, old, new *Bundle, tbl Table, res DiffResult) {
	t.Helper()
	idx := indexChanges(res.Changes)
	claimed := make([]int64, len(res.Changes))
	var changed, reasonsOnly int64
	for _, a := range tbl.Actions {
		for _, s := range tbl.Countries {
			tbl.each(a, s, func(r Request) {
				o, n := old.Decide(r), new.Decide(r)
				want := Changes(o, n)
				if len(want) > 0 && o.Decision != n.Decision {
					changed++
				} else if len(want) > 0 {
					reasonsOnly++
				}
				got := idx.lookup(r)
				if len(got) > 1 {
					t.Fatalf("cell %s claimed by %d changes", cellKey(r, nil, nil), len(got))
				}
				if len(got) == 0 {
					if len(want) > 0 {
						t.Fatalf("cell %s: %q, but no change reported", cellKey(r, nil, nil), want)
					}
					return
				}
				claimed[got[0]]++
				if c := res.Changes[got[0]]; !slices.Equal(c.Changes, want) {
					t.Fatalf("cell %s: %q, reported %q (for %s)", cellKey(r, nil, nil), want, c.Changes, cellKey(c.Request, c.Wildcards, c.Classes))
				}
			})
		}
	}
	for i, c := range res.Changes {
		if claimed[i] != c.Cells {
			t.Fatalf("%s stands for %d cells, says %d", cellKey(c.Request, c.Wildcards, c.Classes), claimed[i], c.Cells)
		}
	}
	if changed != res.Changed || reasonsOnly != res.ReasonsOnly {
		t.Fatalf("changed %d (brute force %d), reasons only %d (brute force %d)", res.Changed, changed, res.ReasonsOnly, reasonsOnly)
	}
	if changed == 0 {
		t.Fatal("no decision differs on this table: the test proves too little")
	}
}

// The reduced diff answers for every cell exactly as deciding each cell
// would: same cells changed, same changes, same counts.
func TestDiffMatchesBruteForce(t *testing.T) {
	emb := defaultBundleT(t)
	noUmbrella := embeddedWith(t, "", nil, "instruments/eu-us-umbrella.cedar")
	// Flag-dependent bars edited: an urgent case no longer needs human
	// review, and host blocking needs the oversight person too (a flag no
	// act_block policy read before) while prefix blocking needs nothing.
	measures := embeddedWith(t, "baseline/measures.cedar", func(s string) string {
		s = strings.Replace(s, "when { !context.human_reviewed };", "when { !context.human_reviewed && !context.urgent };", 1)
		return strings.Replace(s, `when { (resource.scope == "host" || resource.scope == "prefix") && !context.human_reviewed };`,
			`when { resource.scope == "host" && !(context.human_reviewed && context.oversight_notified) };`, 1)
	})
	// A bar of every action widened: handling code H0 now also refuses an
	// unstated purpose. Only H0 cells can change.
	h0 := embeddedWith(t, "baseline/markings.cedar", func(s string) string {
		return strings.Replace(s, `"administrative", "commercial"].contains(context.purpose)`,
			`"administrative", "commercial", ""].contains(context.purpose)`, 1)
	})
	// Two values per dimension, so that each may collapse or not.
	small := func(actions []string, categories []string, flags []string) Table {
		return Table{Date: "2024-03-01", Expires: "2025-03-01", Actions: actions, Countries: []string{"DK", "FR", "US"},
			Categories: categories, TLPs: []string{"GREEN", "RED"}, PAPs: []string{"GREEN", "AMBER"},
			LegalStatuses: []string{"referral", "annulled"}, Scopes: []string{"url", "host"}, Handlings: []string{"", "H3"},
			Onward: []string{OnwardNone, OnwardRecipient}, Flags: flags}
	}
	subsets := func(names ...string) []string {
		var out []string
		for _, c := range FlagSubsets() {
			if m := flagMask(c); m&flagMask(strings.Join(names, "+")) == m {
				out = append(out, c)
			}
		}
		return out
	}
	every := small([]string{"share"}, []string{"true_threat"}, FlagSubsets())
	every.TLPs, every.LegalStatuses, every.Scopes = []string{"GREEN"}, []string{"referral"}, []string{"url"}
	// Every value of the dimensions some policy tells apart only in part.
	levels := small([]string{"share"}, []string{"true_threat", "symbols"}, subsets("human_reviewed", "special_category"))
	levels.TLPs, levels.PAPs, levels.Scopes = TLPLevels, []string{"GREEN"}, []string{"url"}
	levels.LegalStatuses, levels.Handlings = append(slices.Clone(LegalStatuses), "under_scrutiny"), HandlingCodes
	handlings := small([]string{"share", "act_refer"}, []string{"apologie", "symbols"}, subsets("human_reviewed", "urgent"))
	handlings.Handlings = HandlingCodes
	for _, c := range []struct {
		name     string
		old, new *Bundle
		t        Table
	}{
		{"umbrella removed", emb, noUmbrella, small([]string{"share"}, []string{"true_threat", "symbols"},
			subsets("human_reviewed", "special_category", "urgent", "order_ref"))},
		{"umbrella removed, every flag combination", emb, noUmbrella, every},
		{"umbrella removed, every level", emb, noUmbrella, levels},
		{"human-review bars edited", emb, measures, small([]string{"act_refer", "act_block"}, []string{"apologie", "symbols"},
			subsets("human_reviewed", "oversight_notified", "urgent"))},
		{"handling bar edited", emb, h0, handlings},
		{"some flag combinations", emb, measures, small([]string{"act_refer"}, []string{"apologie", "incitement"},
			[]string{"", "human_reviewed", "urgent+order_ref", "human_reviewed+oversight_notified+urgent", "excluded_purpose+oversight_notified"})},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, err := Diff(c.old, c.new, c.t)
			if err != nil {
				t.Fatal(err)
			}
			checkAgainstBruteForce(t, c.old, c.new, c.t, res)
			if len(c.t.TLPs) > 2 && !slices.ContainsFunc(res.Changes, func(ch Change) bool { return len(ch.Classes) > 0 }) {
				t.Error("no change stands for part of a dimension: the test proves too little")
			}
			if res.Evaluated >= res.TableSize {
				t.Errorf("evaluated %d of %d cells: nothing was reduced", res.Evaluated, res.TableSize)
			}
			t.Logf("%d cells, %d evaluated, %d changed, %d reasons only, %d changes listed", res.TableSize, res.Evaluated,
				res.Changed, res.ReasonsOnly, len(res.Changes))
		})
	}
}

func TestPolicyReads(t *testing.T) {
	b := loadFixture(t, "basic")
	an := analyseRules(b)
	for id, want := range map[string][]string{
		"fed-tlp-red-bar":        {"resource.tlp"},
		"fed-retract-originator": {"principal.country", "resource.originator"},
		"FR-apologie-block":      {"principal.country", "resource.categories", "context.human_reviewed"},
		"FR-block-needs-pq":      {"principal.country", "context.oversight_notified"},
	} {
		got := an[b.byID[id].idx].reads.Names()
		if !sameSet(got, want) {
			t.Errorf("%s reads %v, want %v", id, got, want)
		}
	}
	// Reads through a whole record, or in residues where variables became
	// values, are all found.
	for src, want := range map[string][]string{
		`permit (principal, action, resource) when { context == {} };`: allAttrs("context").Names(),
		`permit (principal == Vigie::Agency::"FR/", action, resource) when { resource has scope && (if context.urgent then resource else resource).tlp == "RED" };`: {
			"principal.country", "principal.org", "resource.tlp", "resource.scope", "context.urgent"},
	} {
		p := mustPolicy(t, src)
		reads, _ := policyReads(p)
		if !sameSet(reads.Names(), want) {
			t.Errorf("%s reads %v, want %v", src, reads.Names(), want)
		}
	}
}

func sameSet(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

func mustPolicy(t *testing.T, src string) *xast.Policy {
	t.Helper()
	list, err := cedar.NewPolicyListFromBytes("test.cedar", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return (*xast.Policy)(list[0].AST())
}

// Partial evaluation drops a policy only when it can neither match nor
// fail for any value of the table's dimensions.
func TestLiveReads(t *testing.T) {
	tbl := Table{Date: "2024-03-01", Expires: "2025-03-01"}
	env := tbl.partialEnv(group{"share", "FR", "DE"}, nil, 0)
	for src, want := range map[string]string{
		`permit (principal, action, resource) when { context.recipient == "US" && context.urgent };`:                 "dead",
		`permit (principal, action, resource) when { context.recipient == "DE" && context.urgent };`:                 "context.urgent",
		`permit (principal, action, resource) when { principal.country == "FR" } unless { resource.tlp_level < 3 };`: "resource.tlp_level",
		// The first condition may fail (overflow) before the second is
		// known false: Cedar would report the error, so the policy stays.
		`permit (principal, action, resource) when { resource.tlp_level * 9223372036854775807 > 0 } when { false };`: "resource.tlp_level",
		`permit (principal, action, resource) when { context.sender == resource.originator };`:                       "",
		`permit (principal, action, resource) when { context has urgent };`:                                          "",
	} {
		p := mustPolicy(t, src)
		r := &rule{}
		r.eval = cedar.NewPolicyFromAST((*ast.Policy)(p))
		reads, whole := policyReads(p)
		live, rs := liveReads(r, ruleAttrs{reads: reads, whole: whole}, env)
		got := strings.Join(rs.Names(), ",")
		if !live {
			got = "dead"
		}
		if got != want {
			t.Errorf("%s: %s, want %s", src, got, want)
		}
	}
}

func TestDefaultTableCoversEverything(t *testing.T) {
	b := defaultBundleT(t)
	tbl := DefaultTable("2024-03-01", b)
	if err := tbl.Check(); err != nil {
		t.Fatal(err)
	}
	if len(tbl.Flags) != 64 || !slices.Contains(tbl.Flags, "") || !slices.Contains(tbl.Flags, strings.Join(FlagNames, "+")) {
		t.Errorf("flags: %v", tbl.Flags)
	}
	for _, s := range append(slices.Clone(LegalStatuses), "under_scrutiny") {
		if !slices.Contains(tbl.LegalStatuses, s) {
			t.Errorf("legal statuses %v lack %q", tbl.LegalStatuses, s)
		}
	}
	if !slices.Equal(tbl.Handlings, HandlingCodes) || !slices.Equal(tbl.Scopes, Scopes) || len(tbl.Onward) != 2 {
		t.Errorf("handlings %v scopes %v onward %v", tbl.Handlings, tbl.Scopes, tbl.Onward)
	}
	want := int64(len(Actions)) * int64(len(tbl.Countries)*len(tbl.Countries)*len(tbl.Categories)*len(TLPLevels)*len(PAPLevels)*
		len(tbl.LegalStatuses)*len(Scopes)*len(HandlingCodes)*2*64)
	if tbl.Size() != want {
		t.Errorf("size %d, want %d", tbl.Size(), want)
	}
	bad := tbl
	bad.Onward = []string{"everyone"}
	if bad.Check() == nil {
		t.Error("unknown onward consent accepted")
	}
	bad = tbl
	bad.TLPs = []string{"PURPLE"}
	if bad.Check() == nil {
		t.Error("unknown TLP accepted")
	}
}

// The embedded bundle against itself: every action skipped, nothing
// evaluated, nothing changed.
func TestDiffSameBundle(t *testing.T) {
	b := defaultBundleT(t)
	res, err := Diff(b, b, DefaultTable("2024-03-01", b))
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed != 0 || res.ReasonsOnly != 0 || res.Evaluated != 0 || len(res.SkippedActions) != len(Actions) {
		t.Fatalf("%+v", res)
	}
	var cells int64
	for _, a := range res.PerAction {
		cells += a.Cells
	}
	if cells != res.TableSize {
		t.Fatalf("per-action cells %d, table %d", cells, res.TableSize)
	}
}

func TestDiffUmbrellaRemoved(t *testing.T) {
	emb := defaultBundleT(t)
	noUmbrella := embeddedWith(t, "", nil, "instruments/eu-us-umbrella.cedar")
	tbl := DefaultTable("2024-03-01", emb, noUmbrella)
	res, err := Diff(emb, noUmbrella, tbl)
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed == 0 || res.ByAction["share"] != res.Changed || len(res.SkippedActions) != len(Actions)-1 ||
		res.TableSize != tbl.Size() || res.Evaluated == 0 || res.Evaluated > res.TableSize/100000 {
		t.Fatalf("changed %d by action %v skipped %v, %d of %d cells evaluated", res.Changed, res.ByAction, res.SkippedActions,
			res.Evaluated, res.TableSize)
	}
	senders := map[string]bool{}
	for _, c := range res.Changes {
		if c.Cells < 1 || c.Wildcards == nil {
			t.Fatalf("change without cells or wildcards: %+v", c)
		}
		if !c.DecisionChanged {
			continue
		}
		if c.Request.Recipient != "US" || c.Old.Decision != Allow || c.New.Decision != Deny ||
			!slices.Contains(IDs(c.Old.Grounds), "EU-US-umbrella-transfer") {
			t.Fatalf("unexpected change %+v", c)
		}
		senders[c.Request.Sender] = true
	}
	// Denmark does not take part; the United Kingdom left in 2021.
	if !senders["FR"] || !senders["DE"] || senders["DK"] || senders["GB"] {
		t.Fatalf("senders losing the Umbrella ground: %v", slices.Sorted(maps.Keys(senders)))
	}
	t.Logf("%d cells, %d evaluated, %d changed, %d reasons only, %d changes listed, %d groups unchanged",
		res.TableSize, res.Evaluated, res.Changed, res.ReasonsOnly, len(res.Changes), res.Unchanged)
}

// Two runs list the same changes in the same order, whatever the workers'
// memos held.
func TestDiffDeterministic(t *testing.T) {
	emb := defaultBundleT(t)
	noUmbrella := embeddedWith(t, "", nil, "instruments/eu-us-umbrella.cedar")
	tbl := DefaultTable("2024-03-01", emb, noUmbrella)
	tbl.Countries = []string{"AT", "DE", "DK", "FR", "GB", "US"}
	first, _ := Diff(emb, noUmbrella, tbl)
	again, _ := Diff(emb, noUmbrella, tbl)
	if len(first.Changes) == 0 || fmt.Sprint(again.Changes) != fmt.Sprint(first.Changes) || again.Evaluated != first.Evaluated {
		t.Fatal("two runs differ")
	}
}

// The analysis knows every attribute Decide sets: one it missed would look
// like a constant to the partial evaluation, and a dimension setting it
// could be collapsed wrongly.
func TestRequestAttrsAreDecides(t *testing.T) {
	n, err := base().Normalize()
	if err != nil {
		t.Fatal(err)
	}
	creq, entities := n.cedarRequest()
	var got []string
	for prefix, rec := range map[string]types.Record{"principal": entities[creq.Principal].Attributes,
		"resource": entities[creq.Resource].Attributes, "context": creq.Context} {
		for k := range rec.Keys() {
			got = append(got, prefix+"."+string(k))
		}
	}
	if !sameSet(got, requestAttrs[:]) {
		t.Fatalf("cedarRequest sets %v, the analysis knows %v", got, requestAttrs)
	}
	// Each dimension's values differ only in the attributes it declares.
	tbl := DefaultTable("2024-03-01", defaultBundleT(t))
	every := attrsOf(requestAttrs[:]...)
	dims := tbl.dimensions()
	for i := range FlagNames {
		dims = append(dims, flagDimension(i))
	}
	for _, d := range dims {
		if d.attrs == 0 || d.attrs&fixedAttrs != 0 {
			t.Errorf("dimension %s declares %v", d.name, d.attrs.Names())
		}
		first := tbl.request(group{"share", "FR", "DE"})
		d.set(&first, d.values[0])
		want := knownValues(first, every)
		for _, v := range d.values[1:] {
			r := tbl.request(group{"share", "FR", "DE"})
			d.set(&r, v)
			for name, val := range knownValues(r, every) {
				if !val.Equal(want[name]) && d.attrs&attrsOf(name) == 0 {
					t.Errorf("dimension %s = %q sets %s, which it does not declare", d.name, v, name)
				}
			}
		}
	}
}
