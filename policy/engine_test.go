package policy

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/cedar-policy/cedar-go"
)

func loadFixture(t testing.TB, name string) *Bundle {
	t.Helper()
	b, err := LoadDir("testdata/engine/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func base() Request {
	return Request{Action: "share", Sender: "FR", Recipient: "DE", Originator: "FR", Date: "2024-03-01",
		Categories: []string{"incitement"}, TLP: "GREEN", PAP: "GREEN", LegalStatus: "referral", Scope: "url"}
}

func TestGroundAndBar(t *testing.T) {
	b := loadFixture(t, "basic")
	d := b.Decide(base())
	if d.Decision != Allow || !slices.Equal(IDs(d.Grounds), []string{"fed-intra-eu-share"}) || len(d.Bars) != 0 || len(d.Checked) != 0 {
		t.Fatalf("intra-EU share: %+v", d)
	}
	if d.Bundle != b.Hash() || !strings.HasPrefix(d.Bundle, "sha256:") || d.Engine != Engine {
		t.Fatalf("bundle/engine: %q %q", d.Bundle, d.Engine)
	}
	r := base()
	r.TLP = "tlp:red"
	d = b.Decide(r)
	if d.Decision != Deny || !slices.Equal(IDs(d.Bars), []string{"fed-tlp-red-bar"}) || !slices.Equal(IDs(d.Grounds), []string{"fed-intra-eu-share"}) {
		t.Fatalf("RED share: %+v", d)
	}
	if !slices.Equal(d.Obligations, []string{"log_refusal"}) || len(d.Checked) != 0 {
		t.Fatalf("RED share obligations/checked: %+v", d)
	}
	if d.Bars[0].Cite == "" {
		t.Fatal("bar without cite")
	}
}

func TestNoLegalBasisListsChecked(t *testing.T) {
	b := loadFixture(t, "basic")
	r := base()
	r.Recipient = "AU"
	d := b.Decide(r)
	if d.Decision != Deny || len(d.Grounds) != 0 || len(d.Bars) != 0 {
		t.Fatalf("FR→AU: %+v", d)
	}
	// Grounds in force for share on 2024-03-01: the intra-EU one and the
	// Umbrella one; the FD 2008/977 one lapsed in 2017.
	if got := IDs(d.Checked); !slices.Equal(got, []string{"EU-US-umbrella-share", "fed-intra-eu-share"}) {
		t.Fatalf("checked = %v", got)
	}
}

func TestValidityDates(t *testing.T) {
	b := loadFixture(t, "basic")
	r := base()
	r.Recipient = "US"
	for _, tc := range []struct {
		date, urgent string
		want         string
		grounds      []string
	}{
		{"2016-06-01", "", Deny, nil},
		{"2016-06-01", "urgent", Allow, []string{"EU-US-fd2008-adequacy"}},
		{"2017-01-31", "urgent", Allow, []string{"EU-US-fd2008-adequacy"}},
		{"2017-02-01", "urgent", Allow, []string{"EU-US-umbrella-share"}}, // until is exclusive, from inclusive
		{"2017-02-01", "", Allow, []string{"EU-US-umbrella-share"}},
	} {
		r.Date, r.Urgent = tc.date, tc.urgent != ""
		d := b.Decide(r)
		if d.Decision != tc.want || !slices.Equal(IDs(d.Grounds), tc.grounds) && len(tc.grounds) > 0 {
			t.Errorf("%s %s: %+v", tc.date, tc.urgent, d)
		}
	}
	// The FR apologie block is in force only from 2015-02-07.
	blk := Request{Action: "act_block", Sender: "DE", Recipient: "FR", Originator: "DE", Categories: []string{"apologie"},
		HumanReviewed: true, OversightNotified: true}
	blk.Date = "2015-02-06"
	// Before that date the denial still names the ground the law would
	// need, marked as not yet in force.
	if d := b.Decide(blk); d.Decision != Deny || !slices.Equal(IDs(d.Checked), []string{"FR-apologie-block"}) ||
		!strings.Contains(d.Checked[0].Note, "from 2015-02-07") || !strings.Contains(d.Reason, "no ground for act_block is in force") {
		t.Fatalf("before 2015-02-07: %+v", d)
	}
	blk.Date = "2015-02-07"
	d := b.Decide(blk)
	if d.Decision != Allow || !slices.Equal(d.Obligations, []string{"notify_originator", "notify_oversight"}) {
		t.Fatalf("from 2015-02-07: %+v", d)
	}
	blk.OversightNotified = false
	if d := b.Decide(blk); d.Decision != Deny || !slices.Equal(IDs(d.Bars), []string{"FR-block-needs-pq"}) {
		t.Fatalf("without PQ: %+v", d)
	}
}

func TestErrorIsIndeterminate(t *testing.T) {
	b := loadFixture(t, "erroring")
	d := b.Decide(base())
	if d.Decision != Indeterminate || len(d.Errors) != 1 || !strings.HasPrefix(d.Errors[0], "fed-overflow: ") {
		t.Fatalf("overflow: %+v", d)
	}
	// A malformed request is indeterminate too, never a silent deny.
	r := base()
	r.Date = "2024-02-30"
	if d := b.Decide(r); d.Decision != Indeterminate || len(d.Errors) != 1 {
		t.Fatalf("bad date: %+v", d)
	}
	r = base()
	r.Action = "shred"
	if d := b.Decide(r); d.Decision != Indeterminate {
		t.Fatalf("bad action: %+v", d)
	}
}

func TestLintCatchesForeignFlow(t *testing.T) {
	_, probs := Lint(os.DirFS("testdata/engine/foreign"))
	var got []string
	for _, p := range probs {
		got = append(got, p.String())
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{
		"FR-veto-DE-US: owned by \"FR\" but governs flows that need not involve FR",
		"FR-ok: @id already used",
		"FR-sahre: no @cite",
		"FR-sahre: @from(\"2015-13-01\") is not a YYYY-MM-DD date",
		"FR-sahre: unknown annotation @cites",
		"FR-sahre: unknown action Vigie::Action::\"sahre\"",
		"warning: no schema.cedarschema",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("lint did not report %q; got:\n%s", want, all)
		}
	}
	for _, ok := range []string{"FR-ok: owned", "FR-disjunction"} {
		if strings.Contains(all, ok) {
			t.Errorf("lint wrongly reported %q:\n%s", ok, all)
		}
	}
	_, err := LoadDir("testdata/engine/foreign")
	var le *LoadError
	if !errors.As(err, &le) || len(le.Problems) == 0 {
		t.Fatalf("Load accepted a bundle with lint errors: %v", err)
	}
}

func TestLintCleanFixture(t *testing.T) {
	b, probs := Lint(os.DirFS("testdata/engine/basic"))
	if len(probs) != 0 {
		t.Fatalf("basic fixture: %v", probs)
	}
	if !slices.Equal(b.Countries(), []string{"FR", "US"}) || !slices.Equal(b.Owners(), []string{"EU-US", "FR", "US", "federation"}) {
		t.Fatalf("owners %v countries %v", b.Owners(), b.Countries())
	}
	if !slices.Equal(b.Categories(), []string{"apologie", "true_threat"}) {
		t.Fatalf("categories %v", b.Categories())
	}
}

// The per-country index only skips policies that cannot apply: deciding
// with it gives the same decision, grounds and bars as evaluating every
// policy in force for the action.
func TestIndexMatchesFullEvaluation(t *testing.T) {
	b, _ := Lint(EmbeddedFS())
	if b == nil || len(b.Countries()) < 2 {
		b = loadFixture(t, "basic")
	}
	countries := append(b.Countries(), "EU", "AU", "XX")
	cats := append(DefaultCategories, b.Categories()...)
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(ss []string) string { return ss[rng.IntN(len(ss))] }
	dates := []string{"2014-06-01", "2016-03-01", "2018-06-01", "2020-06-01", "2021-03-01", "2022-01-01", "2024-03-01"}
	for range 3000 {
		r := Request{Action: pick(Actions), Sender: pick(countries), Recipient: pick(countries), Originator: pick(countries),
			Date: pick(dates), Categories: []string{pick(cats), pick(cats)}, TLP: pick(TLPLevels), PAP: pick(PAPLevels),
			LegalStatus: pick([]string{"intel", "referral", "national_order", "tco_order"}), Scope: pick(Scopes),
			HumanReviewed: rng.IntN(2) == 0, OversightNotified: rng.IntN(2) == 0, Urgent: rng.IntN(4) == 0,
			SpecialCategory: rng.IntN(4) == 0, ExcludedPurpose: rng.IntN(8) == 0, OnwardOK: []string{pick(countries)}}
		if rng.IntN(3) == 0 {
			r.OrderRef = "ORD-1"
		}
		if rng.IntN(3) == 0 {
			r.Country = pick(countries)
		}
		got := b.Decide(r)
		want := decideWithoutIndex(b, r)
		if got.Decision != want.Decision || !slices.Equal(IDs(got.Grounds), IDs(want.Grounds)) || !slices.Equal(IDs(got.Bars), IDs(want.Bars)) {
			t.Fatalf("%+v:\nindexed %+v\nfull    %+v", r, got, want)
		}
	}
}

func decideWithoutIndex(b *Bundle, req Request) Decision {
	n, _ := req.Normalize()
	day, _ := ParseDay(n.Date)
	var set ruleList
	for _, r := range b.byAction[n.Action] {
		if r.inForce(day) {
			set = append(set, &rule{PolicyInfo: r.PolicyInfo, ground: r.ground, eval: r.policy})
		}
	}
	creq, entities := n.cedarRequest()
	d := Decision{}
	var permits, forbids ruleList
	for _, r := range set {
		if r.ground {
			permits = append(permits, r)
		} else {
			forbids = append(forbids, r)
		}
	}
	for _, s := range []ruleList{permits, forbids} {
		_, diag := cedar.Authorize(s, entities, creq)
		for _, e := range diag.Errors {
			d.Errors = append(d.Errors, string(e.PolicyID))
		}
		for _, reason := range diag.Reasons {
			r := b.byID[string(reason.PolicyID)]
			if r.ground {
				d.Grounds = append(d.Grounds, r.Rule)
			} else {
				d.Bars = append(d.Bars, r.Rule)
			}
		}
	}
	switch {
	case len(d.Errors) > 0:
		d.Decision = Indeterminate
	case len(d.Bars) > 0:
		d.Decision = Deny
	case len(d.Grounds) > 0:
		d.Decision = Allow
	default:
		d.Decision = Deny
	}
	return d
}

func TestOwnerDigestFollowsOnlyTheOwnersPolicies(t *testing.T) {
	base, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	// Edit FR's pack: FR's digest changes, DE's and the federation's do not.
	fsys := EmbeddedCopy()
	fr := string(fsys["countries/FR.cedar"].Data)
	fsys["countries/FR.cedar"] = &fstest.MapFile{Data: []byte(strings.Replace(fr, "@id(\"FR-", "@id(\"FR-x-", 1))}
	edited, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	for owner, changed := range map[string]bool{"FR": true, "DE": false, "federation": false, "EU-US": false} {
		a, err := base.OwnerDigest(owner)
		if err != nil {
			t.Fatal(err)
		}
		b, err := edited.OwnerDigest(owner)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) != changed {
			t.Errorf("%s: digest changed %v, want %v", owner, !bytes.Equal(a, b), changed)
		}
	}
	if _, err := base.OwnerDigest("JP"); err == nil {
		t.Error("digest of an owner without policies")
	}
	for owner, want := range map[string][]string{"FR": {"FR"}, "EU-US": {"US"}, "EU-GB": {"GB"}, "EU": nil, "federation": nil} {
		if got := OwnerSigners(owner); !slices.Equal(got, want) {
			t.Errorf("OwnerSigners(%s) = %v, want %v", owner, got, want)
		}
	}
}
