package simulations

import (
	"fmt"
	"slices"
	"testing"

	legal "github.com/vigie-project/vigie/policy"
)

// eu28 with the Cedar layer passes the oracle (which decides with Cedar
// on its own) and converges.
func TestCedarPassesTheOracle(t *testing.T) {
	for _, seed := range []uint64{1, 2} {
		t.Run(fmt.Sprintf("eu28/seed%d", seed), func(t *testing.T) {
			t.Parallel()
			r := run(t, Options{Scenario: "eu28", Seed: seed, Nodes: testNodes("eu28"), Cedar: true})
			if r.OracleViolations != 0 || r.LostRecords != 0 || !r.Converged {
				t.Fatalf("violations %d, lost %d, converged %t, quiet %t: %v", r.OracleViolations, r.LostRecords, r.Converged, r.Quiet, r.Violations)
			}
			if r.Samples == 0 || r.Records == 0 {
				t.Fatalf("nothing happened: %+v", r)
			}
			t.Logf("samples %d, records %d, policy refused %d", r.Samples, r.Records, r.PolicyRefused)
		})
	}
}

// Cedar withholds something the baseline alone would share: fewer
// deliveries than the same run without it.
func TestCedarWithholds(t *testing.T) {
	off := run(t, Options{Scenario: "eu28", Seed: 1, Nodes: 8})
	on := run(t, Options{Scenario: "eu28", Seed: 1, Nodes: 8, Cedar: true})
	if on.OracleViolations != 0 || on.Samples >= off.Samples {
		t.Fatalf("%d violations, deliveries with Cedar %d, without %d", on.OracleViolations, on.Samples, off.Samples)
	}
	t.Logf("deliveries: %d without Cedar, %d with", off.Samples, on.Samples)
}

// A wrong Cedar decision at the nodes (one share Cedar denies, let
// through) is caught by the oracle, which decides on its own.
func TestOracleCatchesWrongCedarDecision(t *testing.T) {
	type key struct {
		origin   string
		seq      uint64
		from, to string
	}
	var flipped *key
	o := Options{Scenario: "eu28", Seed: 1, Nodes: 8, Cedar: true}
	o.cedarFlip = func(from, to string, f *facts, allow bool) bool {
		k := key{f.origin, f.seq, from, to}
		if flipped == nil && !allow && from == f.origin && mayHold(from, to, f, false) {
			flipped = &k
		}
		if flipped != nil && *flipped == k {
			return !allow
		}
		return allow
	}
	r := run(t, o)
	if flipped == nil {
		t.Fatal("Cedar denied nothing the baseline allows: nothing to flip")
	}
	if r.OracleViolations == 0 || r.Converged {
		t.Fatalf("a wrong Cedar decision went unnoticed: %d violations, converged %t", r.OracleViolations, r.Converged)
	}
	t.Logf("flipped %+v: %d violations, first: %v", *flipped, r.OracleViolations, r.Violations[:min(3, len(r.Violations))])
}

// The simulator draws categories the packs know.
func TestCedarVocabulary(t *testing.T) {
	b, err := legal.Default()
	if err != nil {
		t.Fatal(err)
	}
	known := b.Categories()
	for _, c := range cedarCategories {
		if !slices.Contains(known, c) {
			t.Errorf("category %q is not in the packs' vocabulary %v", c, known)
		}
	}
}
