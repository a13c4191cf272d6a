package policy

import (
	"encoding/json"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkDecide measures one explained decision (entities, two Cedar
// passes, grounds/bars/checked/obligations) with the embedded bundle when it
// has policies, else the basic fixture.
func BenchmarkDecide(b *testing.B) {
	bundle := benchBundle(b)
	reqs := []Request{base(), base(), base()}
	reqs[1].Recipient, reqs[1].TLP = "US", "RED"
	reqs[2].Action, reqs[2].Recipient, reqs[2].Categories = "act_block", "FR", []string{"apologie"}
	for i := 0; b.Loop(); i++ {
		if d := bundle.Decide(reqs[i%len(reqs)]); d.Decision == "" {
			b.Fatal("no decision")
		}
	}
	b.ReportMetric(float64(len(bundle.rules)), "policies")
}

// BenchmarkShareTable decides a share table cell by cell (every pair of the
// bundle's countries × category × TLP × PAP × two flag combinations, for
// a referral of a URL without handling code or onward consent).
func BenchmarkShareTable(b *testing.B) {
	bundle := benchBundle(b)
	t := DefaultTable("2024-03-01", bundle)
	t.Actions, t.LegalStatuses, t.Scopes = []string{"share"}, []string{"referral"}, []string{"url"}
	t.Handlings, t.Onward = []string{""}, []string{OnwardNone}
	t.Flags = []string{"", "human_reviewed+oversight_notified+order_ref"}
	for b.Loop() {
		var n atomic.Int64
		var wg sync.WaitGroup
		workers := runtime.GOMAXPROCS(0)
		for w := range workers {
			wg.Go(func() {
				for i := w; i < len(t.Countries); i += workers {
					t.each("share", t.Countries[i], func(r Request) { bundle.Decide(r); n.Add(1) })
				}
			})
		}
		wg.Wait()
		if n.Load() != t.Size() {
			b.Fatal(n.Load(), t.Size())
		}
	}
	b.ReportMetric(float64(t.Size()), "decisions/op")
	b.ReportMetric(float64(len(t.Countries)), "countries")
}

// BenchmarkDiffDefaultTable diffs the whole default table of the embedded
// bundle against the same bundle without the EU-US Umbrella Agreement.
func BenchmarkDiffDefaultTable(b *testing.B) {
	old := defaultBundleT(b)
	cur := embeddedWith(b, "", nil, "instruments/eu-us-umbrella.cedar")
	t := DefaultTable("2024-03-01", old, cur)
	var res DiffResult
	for b.Loop() {
		var err error
		if res, err = Diff(old, cur, t); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(res.TableSize), "cells/op")
	b.ReportMetric(float64(res.Evaluated), "evaluated/op")
	b.ReportMetric(float64(res.Changed), "changed/op")
}

func benchBundle(b *testing.B) *Bundle {
	// The embedded packs, even while they still have lint errors.
	if d, _ := Lint(EmbeddedFS()); d != nil && len(d.Countries()) > 1 {
		return d
	}
	return loadFixture(b, "basic")
}

func FuzzDecodeVectors(f *testing.F) {
	f.Add([]byte(`{"name":"x","request":{"action":"share","sender":"FR","legal-status":"referral","category":"apologie"},"expect":{"decision":"deny","bars":[]}}`))
	f.Add([]byte(`[{"name":"y","request":{"action":"act_block","date":"2015-02-07"},"expect":{"decision":"allow","grounds":["a"]}}]`))
	f.Add([]byte(`{"vectors":[]}`))
	f.Add([]byte(`{"name":"z","request":{"onward_ok":"DE","Onward-OK":"FR"},"expect":{"decision":"x"}}`))
	if data, err := os.ReadFile("testdata/engine/vectors.json"); err == nil {
		f.Add(data)
	}
	bundle, err := LoadDir("testdata/engine/basic")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		vs, err := DecodeVectors(data)
		if err != nil {
			return
		}
		for _, v := range vs {
			d, _ := bundle.Check(v)
			if d.Decision != Allow && d.Decision != Deny && d.Decision != Indeterminate {
				t.Fatalf("decision %q", d.Decision)
			}
			// A decoded request re-encodes and decodes to the same request.
			enc, err := json.Marshal(v.Request)
			if err != nil {
				t.Fatal(err)
			}
			var back Request
			if err := json.Unmarshal(enc, &back); err != nil {
				t.Fatalf("re-decode %s: %v", enc, err)
			}
		}
	})
}

func FuzzDecodeRecord(f *testing.F) {
	bundle, err := LoadDir("testdata/engine/basic")
	if err != nil {
		f.Fatal(err)
	}
	rec, _ := json.Marshal(Record{Request: base(), Decision: bundle.Decide(base())})
	f.Add(rec)
	f.Add([]byte(`{"request":{"action":"share"},"decision":{"decision":"allow","bundle":"sha256:00"}}`))
	f.Add([]byte(`{"request":{},"decision":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeRecord(data)
		if err != nil {
			return
		}
		d := bundle.Decide(r.Request)
		_ = Changes(r.Decision, d)
	})
}

// BenchmarkDecideColdRecords is BenchmarkDecide with every request unseen,
// so that no cached Cedar record helps.
func BenchmarkDecideColdRecords(b *testing.B) {
	bundle := benchBundle(b)
	r := base()
	for i := 0; b.Loop(); i++ {
		r.Handling, r.Purpose, r.Org = "H"+strconv.Itoa(i), strconv.Itoa(i), strconv.Itoa(i)
		if d := bundle.Decide(r); d.Decision == "" {
			b.Fatal("no decision")
		}
	}
}
