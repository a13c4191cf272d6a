package policy_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigie-project/vigie/policy"
)

// TestDecisionInvariants puts random requests (every action, the bundle's
// countries and categories, every marking, status, scope, handling code,
// flag, dates 2014–2027) to the embedded bundle and checks invariants that
// must hold whatever the packs say. The oracle below is written from the
// rules' statement, not from the packs: it never reads a policy.
func TestDecisionInvariants(t *testing.T) {
	b, err := policy.Default()
	if err != nil {
		t.Fatal(err)
	}
	countries := b.Countries()
	categories := b.Categories()
	if len(countries) == 0 || len(categories) == 0 {
		t.Fatalf("bundle has %d countries, %d categories", len(countries), len(categories))
	}
	// @from / @until of every policy, by id (days since 1970-01-01).
	type validity struct{ from, until int }
	valid := map[string]validity{}
	policies := b.Policies()
	for _, p := range policies {
		v := validity{from: -1 << 30, until: 1 << 30}
		if p.From != "" {
			v.from = day(t, p.From)
		}
		if p.Until != "" {
			v.until = day(t, p.Until)
		}
		valid[p.ID] = v
	}

	rng := rand.New(rand.NewPCG(2026, 5))
	pick := func(ss []string) string { return ss[rng.IntN(len(ss))] }
	maybe := func(p float64) bool { return rng.Float64() < p }
	first := day(t, "2014-01-01")
	last := day(t, "2027-12-31")
	date := func() string {
		return time.Unix(int64(first+rng.IntN(last-first+1))*86400, 0).UTC().Format(time.DateOnly)
	}

	const n = 2000
	counts := map[string]int{}
	noBasis := 0 // denials without bars and without any ground to check
	for i := range n {
		req := policy.Request{
			Action:            policy.Actions[i%len(policy.Actions)],
			Sender:            pick(countries),
			Recipient:         pick(countries),
			Originator:        pick(countries),
			Date:              date(),
			TLP:               pick(policy.TLPLevels),
			PAP:               pick(policy.PAPLevels),
			LegalStatus:       pick([]string{"intel", "referral", "national_order", "tco_order", "tco_order_under_scrutiny", "annulled"}),
			Scope:             pick(policy.Scopes),
			Handling:          pick([]string{"", "", "H0", "H1", "H2", "H3"}),
			OrgType:           pick([]string{"", "police", "intelligence", "regulator"}),
			Purpose:           pick([]string{"", "prevention", "investigation", "research", "judicial_proceedings"}),
			HumanReviewed:     maybe(0.5),
			OversightNotified: maybe(0.5),
			SpecialCategory:   maybe(0.2),
			ExcludedPurpose:   maybe(0.2),
			Urgent:            maybe(0.2),
		}
		if maybe(0.3) {
			req.Originator = req.Sender
		}
		if maybe(0.1) {
			req.Country = pick(countries)
		}
		for range 1 + rng.IntN(2) {
			req.Categories = append(req.Categories, pick(categories))
		}
		for range rng.IntN(4) {
			req.OnwardOK = append(req.OnwardOK, pick(countries))
		}
		if maybe(0.3) {
			req.OnwardOK = append(req.OnwardOK, req.Recipient)
		}
		if maybe(0.8) {
			req.Expires = date()
		}
		if maybe(0.3) {
			req.OrderRef = fmt.Sprintf("R-%d", i)
		}

		d := b.Decide(req)
		counts[req.Action+"/"+d.Decision]++
		fail := func(format string, args ...any) {
			t.Helper()
			t.Errorf("request %+v\ndecision %s grounds %v bars %v checked %v errors %v\n%s", req, d.Decision,
				policy.IDs(d.Grounds), policy.IDs(d.Bars), policy.IDs(d.Checked), d.Errors, fmt.Sprintf(format, args...))
		}
		allowed := d.Decision == policy.Allow

		// A well-formed request is never indeterminate.
		if d.Decision != policy.Allow && d.Decision != policy.Deny {
			fail("well-formed request, decision %q", d.Decision)
		}
		// TLP:RED is never shared.
		if req.Action == "share" && req.TLP == "RED" && allowed {
			fail("TLP:RED shared")
		}
		// A relay needs the recipient in onward_ok.
		if req.Action == "share" && req.Sender != req.Originator && !slices.Contains(req.OnwardOK, req.Recipient) && allowed {
			fail("relayed without onward-transfer consent for the recipient")
		}
		// No measure on material disseminated for an excluded purpose.
		if strings.HasPrefix(req.Action, "act_") && req.ExcludedPurpose && allowed {
			fail("act on excluded-purpose material")
		}
		// Only the originator retracts (the acting country is Country,
		// else the sender).
		actor := req.Country
		if actor == "" {
			actor = req.Sender
		}
		if req.Action == "retract" && actor != req.Originator && allowed {
			fail("retracted by %s, not the originator %s", actor, req.Originator)
		}
		// An allow rests on a ground and no bar; a deny on a bar, or on no
		// ground with the grounds checked listed.
		if allowed && (len(d.Grounds) == 0 || len(d.Bars) != 0) {
			fail("allow with %d grounds, %d bars", len(d.Grounds), len(d.Bars))
		}
		today := day(t, req.Date)
		// A "no legal basis" denial names what it checked: the grounds in
		// force for the flow or, when none is in force on the date, those
		// that are not; an empty list is accepted only when no ground of any
		// date could apply, which no federation-owned ground (it governs
		// every flow) allows. Every denial says why in one sentence.
		if d.Decision == policy.Deny && d.Reason == "" {
			fail("deny without a reason")
		}
		if d.Decision == policy.Deny && len(d.Bars) == 0 {
			if len(d.Grounds) != 0 {
				fail("deny without a bar but with %d grounds", len(d.Grounds))
			}
			if len(d.Checked) == 0 {
				noBasis++
				for _, p := range policies {
					if p.Owner == "federation" && p.Kind == "ground" && (p.Actions == nil || slices.Contains(p.Actions, req.Action)) {
						fail("deny with nothing checked, but federation ground %s exists for %s", p.ID, req.Action)
					}
				}
			}
			for _, c := range d.Checked {
				inForce := valid[c.ID].from <= today && today < valid[c.ID].until
				if inForce == (c.Note != "") {
					fail("checked ground %s in force %v but note %q", c.ID, inForce, c.Note)
				}
			}
		}
		// Deterministic.
		if again := b.Decide(req); !reflect.DeepEqual(d, again) {
			fail("second decision differs: %+v", again)
		}
		// Only policies in force on the date are relied on (checked grounds
		// out of force carry a note, tested above).
		for _, rules := range [][]policy.Rule{d.Grounds, d.Bars} {
			for _, r := range rules {
				v, ok := valid[r.ID]
				switch {
				case !ok:
					fail("cites unknown policy %s", r.ID)
				case today < v.from:
					fail("cites %s before its @from", r.ID)
				case today >= v.until:
					fail("cites %s on or after its @until", r.ID)
				}
			}
		}
		if t.Failed() && i > 50 {
			t.FailNow()
		}
	}
	// The generator must reach both outcomes for the actions that matter.
	for _, a := range []string{"share", "accept", "retract"} {
		if counts[a+"/allow"] == 0 || counts[a+"/deny"] == 0 {
			t.Errorf("%s: %d allow, %d deny: the generator does not explore both", a, counts[a+"/allow"], counts[a+"/deny"])
		}
	}
	t.Logf("decisions: %v; denials with no ground of any date to check: %d", counts, noBasis)
}

func day(t *testing.T, s string) int {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatal(err)
	}
	return int(d.Unix() / 86400)
}
