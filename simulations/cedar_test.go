package simulations

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/vigie-project/vigie/node/syncengine"
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

// overlayNodes is the scale scenario's size for the Cedar tests: large
// enough for a sparse overlay (beyond 23 nodes) where most deliveries are
// relays, small enough to run in seconds.
func overlayNodes() int {
	if testing.Short() {
		return 40
	}
	return 60
}

// overlayStats is what a scale run under Cedar did with relays, counted
// from the stores and the topology just before the oracle's final check.
type overlayStats struct {
	relayed int // (record, node) held by a node that is not its origin's peer
	// walledOff counts (record, node) where the origin's own hop to the
	// node is allowed and the baseline lets the record be relayed, yet no
	// path of allowed hops leads there: owed nothing in an overlay, though
	// a full mesh would owe it the record.
	walledOff int
	leaked    int // ... of which the node holds the record all the same
}

// aRelay stands for any holder but the origin, for the baseline.
const aRelay = "a relay"

func countOverlay(s *sim, st *overlayStats) {
	for _, u := range s.universe {
		e, _ := u.origin.store.get(u.cid)
		r := s.oracle.readCID(u.cid, e.Record.Bytes)
		must, _ := s.oracle.reach(r)
		for _, v := range s.nodes {
			if v == u.origin || s.peered(u.origin, v) {
				continue
			}
			has := v.store.has(u.cid)
			if has {
				st.relayed++
			}
			if !must[v.i] && u.f.kind == syncengine.KindAssertion && mayHold(aRelay, v.origin, u.f, false) && s.oracle.hopWhy(r, u.origin, v) == "" {
				st.walledOff++
				if has {
					st.leaked++
				}
			}
		}
	}
}

// The scale scenario's overlay under Cedar: records reach most nodes by
// relay, each hop decided by the relay's Cedar layer and re-checked by the
// receiver; the oracle computes each record's reach on its own and finds
// every store exactly right, including nodes a full mesh would owe a
// record that no allowed path reaches here.
func TestCedarInAnOverlay(t *testing.T) {
	t.Parallel()
	seeds := []uint64{1, 2, 3}
	stats := make([]overlayStats, len(seeds))
	t.Run("scale", func(t *testing.T) {
		for i, seed := range seeds {
			t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
				t.Parallel()
				st := &stats[i]
				o := Options{Scenario: "scale", Seed: seed, Nodes: overlayNodes(), Cedar: true}
				o.beforeCheck = func(s *sim) { countOverlay(s, st) }
				r := run(t, o)
				if r.OracleViolations != 0 || r.LostRecords != 0 || !r.Converged {
					t.Fatalf("violations %d, lost %d, converged %t, quiet %t: %v", r.OracleViolations, r.LostRecords, r.Converged, r.Quiet, r.Violations)
				}
				if !slices.ContainsFunc(r.Faults, func(f string) bool { return strings.Contains(f, "overlay") }) {
					t.Fatalf("no overlay: %v", r.Faults)
				}
				if st.relayed == 0 || st.leaked != 0 {
					t.Fatalf("no relays, or records where no allowed path leads: %+v", *st)
				}
				t.Logf("samples %d, wire records %d, policy refused %d, %+v", r.Samples, r.WireChecked, r.PolicyRefused, *st)
			})
		}
	})
	walledOff := 0
	for _, st := range stats {
		walledOff += st.walledOff
	}
	if !t.Failed() && walledOff == 0 {
		t.Fatal("no seed has a node that only forbidden hops lead to: the reach was not put to the test")
	}
}

// Cedar in an overlay keeps runs reproducible: same seed, same report
// bytes (TestDeterministic shows that another seed gives another).
func TestCedarDeterministicInAnOverlay(t *testing.T) {
	t.Parallel()
	o := Options{Scenario: "scale", Seed: 42, Nodes: 30, Cedar: true}
	a, _ := json.Marshal(run(t, o))
	b, _ := json.Marshal(run(t, o))
	if !bytes.Equal(a, b) {
		t.Fatalf("same seed, different reports:\n%s\n%s", a, b)
	}
	if !bytes.Contains(a, []byte("overlay")) {
		t.Fatalf("no overlay: %s", a)
	}
}

// Wrong relay decisions in an overlay (hops Cedar denies, let through by
// the relay's layer) are caught on the wire at their hop. Both halves of
// a relay's rule are broken, once each, in one run: the relay's own
// country may not share with the recipient's (though the origin's may),
// and the origin's may not (though the relay's may). A record a relay
// brought, removed from its store, is counted lost.
func TestOracleCatchesWrongRelays(t *testing.T) {
	t.Parallel()
	wrong := map[string]func(h cedarHop) bool{
		"relay's own share": func(h cedarHop) bool { return !h.own && h.origin },
		"origin's share":    func(h cedarHop) bool { return h.own && !h.origin },
	}
	names := slices.Sorted(maps.Keys(wrong))
	flipped := map[string]*cedarHop{}
	o := Options{Scenario: "scale", Seed: 1, Nodes: 30, Cedar: true}
	var removed string
	o.beforeCheck = func(s *sim) {
		for _, u := range s.universe {
			if slices.ContainsFunc(slices.Collect(maps.Values(flipped)), func(h *cedarHop) bool { return h.f.origin == u.f.origin && h.f.seq == u.f.seq }) {
				continue // its holders may hold it wrongly
			}
			for _, v := range s.nodes {
				if v != u.origin && !s.peered(u.origin, v) && v.store.has(u.cid) && removed == "" {
					delete(v.store.byCID, u.cid)
					removed = fmt.Sprintf("%s lost %s's record %s", v.origin, u.origin.origin, u.cid)
				}
			}
		}
	}
	o.cedarFlip = func(h cedarHop) bool {
		for _, name := range names {
			f := flipped[name]
			if f == nil && h.from != h.f.origin && mayHold(h.from, h.to, h.f, false) && wrong[name](h) {
				f = &h
				flipped[name] = f
			}
			if f != nil && f.from == h.from && f.to == h.to && f.f.origin == h.f.origin && f.f.seq == h.f.seq {
				return true
			}
		}
		return h.allow()
	}
	r := run(t, o)
	if r.Converged || r.LostRecords != 1 || !slices.Contains(r.Violations, removed) {
		t.Fatalf("converged %t, %d lost, want %q: %v", r.Converged, r.LostRecords, removed, r.Violations)
	}
	for _, name := range names {
		f := flipped[name]
		if f == nil {
			t.Errorf("%s: no relay decision to flip", name)
			continue
		}
		hop := f.from + "→" + f.to + ":"
		if !slices.ContainsFunc(r.Violations, func(v string) bool { return strings.Contains(v, hop) }) {
			t.Errorf("%s: relay %s of %s/%d let through unnoticed: %v", name, hop, f.f.origin, f.f.seq, r.Violations)
			continue
		}
		t.Logf("%s: flipped %s→%s of %s/%d", name, f.from, f.to, f.f.origin, f.f.seq)
	}
	t.Logf("%d violations, first: %v", r.OracleViolations, r.Violations[:min(4, len(r.Violations))])
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
	o.cedarFlip = func(h cedarHop) bool {
		k := key{h.f.origin, h.f.seq, h.from, h.to}
		if flipped == nil && !h.allow() && h.from == h.f.origin && mayHold(h.from, h.to, h.f, false) {
			flipped = &k
		}
		if flipped != nil && *flipped == k {
			return !h.allow()
		}
		return h.allow()
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
