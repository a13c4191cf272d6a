package simulations

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/vigie-project/vigie/node/syncengine"
)

// small sizes keep `go test -race ./simulations/` short; -short trims
// them further.
func testNodes(name string) int {
	sizes := map[string]int{"eu28": 16, "churn": 12, "partition": 12, "byzantine": 12, "retraction": 12, "scale": 40}
	if testing.Short() {
		sizes = map[string]int{"eu28": 8, "churn": 6, "partition": 6, "byzantine": 8, "retraction": 6, "scale": 16}
	}
	return sizes[name]
}

func run(t *testing.T, o Options) *Report {
	t.Helper()
	r, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestScenariosPassTheOracle(t *testing.T) {
	for _, info := range Scenarios() {
		for _, seed := range []uint64{1, 2, 3} {
			t.Run(fmt.Sprintf("%s/seed%d", info.Name, seed), func(t *testing.T) {
				t.Parallel()
				r := run(t, Options{Scenario: info.Name, Seed: seed, Nodes: testNodes(info.Name)})
				if r.OracleViolations != 0 || r.LostRecords != 0 || !r.Converged {
					t.Fatalf("violations %d, lost %d, converged %t, quiet %t: %v", r.OracleViolations, r.LostRecords, r.Converged, r.Quiet, r.Violations)
				}
				if r.Samples == 0 || r.Records == 0 || r.Events == 0 {
					t.Fatalf("nothing happened: %+v", r)
				}
				if len(r.NodeNames) != r.Nodes || len(r.MessagesPerNode) != r.Nodes {
					t.Fatalf("per-node slices: %d names, %d counts, %d nodes", len(r.NodeNames), len(r.MessagesPerNode), r.Nodes)
				}
				switch info.Name {
				case "byzantine":
					if len(r.Byzantine) == 0 || r.RejectedInvalid == 0 || r.WireRejected == 0 || r.PolicyRefused == 0 {
						t.Fatalf("the byzantine peers were not noticed: %d byzantine, %d rejected, %d refused on the wire, %d by policy", len(r.Byzantine), r.RejectedInvalid, r.WireRejected, r.PolicyRefused)
					}
				case "retraction":
					if len(r.RetractionMs) != r.Nodes-1 {
						t.Fatalf("%d retraction samples, want one per node but the origin (%d)", len(r.RetractionMs), r.Nodes-1)
					}
				case "churn", "partition":
					if len(r.Faults) == 0 || r.BytesPerDiff == 0 {
						t.Fatalf("no faults or no catch-up: %v, %v bytes per diff", r.Faults, r.BytesPerDiff)
					}
				}
			})
		}
	}
}

func TestDeterministic(t *testing.T) {
	for _, name := range []string{"churn", "byzantine"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			o := Options{Scenario: name, Seed: 42, Nodes: testNodes(name)}
			a, _ := json.Marshal(run(t, o))
			calls := 0
			o.Progress = func(done, total int) { calls++ }
			b, _ := json.Marshal(run(t, o))
			if !bytes.Equal(a, b) {
				t.Fatalf("same seed, different reports:\n%s\n%s", a, b)
			}
			if calls == 0 {
				t.Error("Progress never called")
			}
			o.Seed = 43
			c, _ := json.Marshal(run(t, o))
			if bytes.Equal(a, c) {
				t.Fatal("different seeds, same report")
			}
		})
	}
}

// The oracle must be able to fail: a policy that lets TLP:RED through is
// caught on the wire and in the stores.
func TestOracleCatchesBrokenPolicy(t *testing.T) {
	r := run(t, Options{Scenario: "eu28", Seed: 1, Nodes: 6, brokenPolicy: true})
	if r.OracleViolations == 0 || r.Converged {
		t.Fatalf("a policy leaking TLP:RED went unnoticed: %d violations, converged %t", r.OracleViolations, r.Converged)
	}
	t.Logf("%d violations, first: %v", r.OracleViolations, r.Violations[:min(3, len(r.Violations))])
}

// ... and a lost record, a forged record and a retraction that did not
// arrive are each caught at the end.
func TestOracleCatchesBadStores(t *testing.T) {
	cases := map[string]struct {
		mutate         func(s *sim)
		lost, violated bool
	}{
		"lost record": {mutate: func(s *sim) {
			n := s.nodes[1]
			for _, u := range s.universe {
				if u.origin != n && u.f.tlp != tlpRed {
					delete(n.store.byCID, u.cid)
					return
				}
			}
		}, lost: true},
		"forged record": {mutate: func(s *sim) {
			n, v := s.nodes[1], s.nodes[2]
			b := newBundle(s.keys[n.origin], v.origin, 99, []recordSpec{{kind: syncengine.KindAssertion, tlp: tlpGreen, onward: onwardGranted, indicator: "x"}})
			n.store.put(b, []*facts{b.Records[0].Ref.Facts.(*facts)})
		}, violated: true},
		"red record held elsewhere": {mutate: func(s *sim) {
			n, v := s.nodes[1], s.nodes[2]
			b := newBundle(s.keys[v.origin], v.origin, 1<<30, []recordSpec{{kind: syncengine.KindAssertion, tlp: tlpRed, onward: onwardGranted, indicator: "x"}})
			n.store.put(b, []*facts{b.Records[0].Ref.Facts.(*facts)})
		}, violated: true},
		"retraction missing": {mutate: func(s *sim) {
			n := s.nodes[1]
			for _, u := range s.universe {
				if u.target != nil && u.origin != n && n.store.has(u.target.cid) {
					delete(n.store.byCID, u.cid)
					return
				}
			}
			panic("no retraction to remove")
		}, lost: true, violated: true},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := run(t, Options{Scenario: "eu28", Seed: 1, Nodes: 6, beforeCheck: c.mutate})
			if (r.LostRecords > 0) != c.lost || (r.OracleViolations > 0) != c.violated || r.Converged {
				t.Fatalf("lost %d, violations %d, converged %t: %v", r.LostRecords, r.OracleViolations, r.Converged, r.Violations)
			}
		})
	}
}

func TestOptions(t *testing.T) {
	names := map[string]bool{}
	for _, s := range Scenarios() {
		names[s.Name] = true
		if s.Description == "" || s.DefaultNodes < 2 {
			t.Errorf("%s: %+v", s.Name, s)
		}
	}
	for _, want := range []string{"eu28", "churn", "partition", "byzantine", "retraction", "scale"} {
		if !names[want] {
			t.Errorf("scenario %s missing", want)
		}
	}
	for _, o := range []Options{{Scenario: "nope"}, {Scenario: "scale", Nodes: MaxNodes + 1}, {Scenario: "eu28", Nodes: 1}} {
		if _, err := Run(context.Background(), o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, Options{Scenario: "eu28", Nodes: 31}); err == nil {
		t.Error("a cancelled context did not stop the run")
	}
}

func TestLatencyModel(t *testing.T) {
	at := func(code string) capital {
		for _, c := range capitals {
			if c.code == code {
				return c
			}
		}
		t.Fatalf("no %s", code)
		return capital{}
	}
	for _, c := range []struct {
		a, b     string
		min, max float64 // ms
	}{{"FR", "DE", 5, 8}, {"FR", "US", 30, 45}, {"FR", "AU", 80, 95}} {
		x, y := at(c.a), at(c.b)
		ms := float64(oneWay(x.lat, x.lon, y.lat, y.lon)) / 1e6
		if ms < c.min || ms > c.max {
			t.Errorf("%s–%s: %.1f ms, want %v–%v", c.a, c.b, ms, c.min, c.max)
		}
	}
	if len(capitals) != 31 {
		t.Fatalf("%d capitals", len(capitals))
	}
}

// The smallest federations each scenario accepts.
func TestEdgeSizes(t *testing.T) {
	for _, sc := range scenarios {
		for _, n := range []int{sc.minNodes, sc.minNodes + 1} {
			r, err := Run(context.Background(), Options{Scenario: sc.info.Name, Seed: 5, Nodes: n})
			if err != nil {
				t.Fatal(err)
			}
			if r.OracleViolations != 0 || r.LostRecords != 0 || !r.Converged {
				t.Errorf("%s/%d: violations %d lost %d converged %t %v", sc.info.Name, n, r.OracleViolations, r.LostRecords, r.Converged, r.Violations)
			}
		}
	}
}
