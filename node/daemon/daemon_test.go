package daemon

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/vigie-project/vigie/node"
	"github.com/vigie-project/vigie/node/syncengine"
	"github.com/vigie-project/vigie/protocol/record"
)

// fast makes reconnections and the engine's first feed request quick, as a
// test on loopback can afford.
func fast(int, string) []Option {
	return []Option{
		WithBackoff(50*time.Millisecond, 500*time.Millisecond),
		WithEngineConfig(syncengine.Config{DirectDelay: 50 * time.Millisecond, RetryDelay: 100 * time.Millisecond}),
	}
}

func startLocal(t *testing.T, threshold, issuers int, countries ...string) *Local {
	t.Helper()
	l, err := StartLocal(context.Background(), t.TempDir(), LocalOptions{Countries: countries, Threshold: threshold, Issuers: issuers, PerMember: fast})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	waitConnected(t, l)
	return l
}

// waitConnected waits until every running member has every other running
// member up.
func waitConnected(t *testing.T, l *Local) {
	t.Helper()
	if err := l.WaitConnected(context.Background(), 20*time.Second); err != nil {
		t.Fatal(err)
	}
}

func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func request(url string) node.AssertRequest {
	return node.AssertRequest{
		URL: url,
		// Actionable in the EU and in the US, so that the Cedar packs'
		// minimisation bars (DE-, US-minimisation) let every test member
		// receive it.
		Categories:  []record.Category{record.CatIncitement, record.CatIncitementImminent},
		LegalStatus: record.StatusReferral,
		LegalBasis:  []string{"TCO:Art.5"},
		TLP:         record.TLPGreen, PAP: record.PAPGreen,
		SourceEval: "B", InfoEval: "2", Onward: record.OnwardGranted,
		// The federation's Cedar baseline shares nothing without a time
		// limit (fed-time-limit-required).
		Expires: time.Now().Add(30 * 24 * time.Hour),
	}
}

// holdsAll reports whether every running member except skip holds every CID.
func holdsAll(l *Local, cids []cid.Cid, skip ...int) func() bool {
	return func() bool {
		for i, d := range l.Members {
			if d == nil || contains(skip, i) {
				continue
			}
			for _, c := range cids {
				if ok, err := d.Node().Store().Has(c); err != nil || !ok {
					return false
				}
			}
		}
		return true
	}
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func lookup(t *testing.T, d *Daemon, url string) *node.LookupResult {
	t.Helper()
	res, err := d.Node().Lookup(context.Background(), node.LookupRequest{URL: url, Purpose: "test", Requester: "t"})
	if err != nil {
		t.Fatalf("%s: lookup: %v", d.Node().Agency(), err)
	}
	return res
}

// The same URL asserted by FR and DE is one indicator everywhere, with two
// assertions; FR's retraction reaches every member; a TLP:RED assertion
// never leaves DE.
func TestSameURLOneIndicatorAndRetractionEverywhere(t *testing.T) {
	// The baseline only: the Cedar packs have no legal basis for an EU
	// member to share with AU, and this test is about sync, not the law.
	l, err := StartLocal(context.Background(), t.TempDir(), LocalOptions{Countries: []string{"FR", "DE", "IT", "US", "AU"}, Threshold: 2, Issuers: 3,
		PerMember: func(i int, c string) []Option { return append(fast(i, c), WithoutPolicy()) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	waitConnected(t, l)
	fr, de := l.Members[0], l.Members[1]
	ctx := context.Background()
	const url = "http://www.propaganda.example/videos/1.html"
	a1, err := fr.Node().Assert(ctx, request(url))
	if err != nil {
		t.Fatal(err)
	}
	a2, err := de.Node().Assert(ctx, request(url))
	if err != nil {
		t.Fatal(err)
	}
	if a1.Indicator != a2.Indicator {
		t.Fatal("FR and DE got different indicators for one URL")
	}
	red := request("http://secret.example/")
	red.TLP = record.TLPRed
	r, err := de.Node().Assert(ctx, red)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "both assertions everywhere", holdsAll(l, []cid.Cid{a1.Assertion, a2.Assertion}))
	for _, d := range l.Members {
		res := lookup(t, d, url)
		if len(res.Matches) != 1 || len(res.Matches[0].Assertions) != 2 || !res.Live() {
			t.Fatalf("%s: want one live indicator with two assertions, got %+v", d.Node().Agency(), res.Matches)
		}
	}
	ret, err := fr.Node().Retract(ctx, node.RetractRequest{Assertion: a1.Assertion, Reason: record.ReasonFalsePositive})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the retraction everywhere", holdsAll(l, []cid.Cid{ret}))
	for _, d := range l.Members {
		res := lookup(t, d, url)
		live := 0
		for _, a := range res.Matches[0].Assertions {
			if a.Live {
				live++
			}
		}
		if live != 1 {
			t.Fatalf("%s: %d live assertions after FR's retraction, want DE's only", d.Node().Agency(), live)
		}
	}
	for i, d := range l.Members {
		if ok, _ := d.Node().Store().Has(r.Assertion); ok != (i == 1) {
			t.Fatalf("%s holds DE's TLP:RED assertion: %v", d.Node().Agency(), ok)
		}
	}
	for _, d := range l.Members {
		if c := d.Node().SyncCounters(); c.BundlesRejected != 0 || c.PolicyViolations != 0 {
			t.Fatalf("%s: %+v", d.Node().Agency(), c)
		}
	}
}

// assertMany asserts n synthetic URLs at d and returns their assertion CIDs.
func assertMany(t *testing.T, d *Daemon, prefix string, n int) []cid.Cid {
	t.Helper()
	var out []cid.Cid
	for start := 0; start < n; start += 500 {
		reqs := make([]node.AssertRequest, 0, 500)
		for i := start; i < min(start+500, n); i++ {
			reqs = append(reqs, request(fmt.Sprintf("http://%s-%d.example/page.html", prefix, i)))
		}
		res, err := d.Node().AssertMany(context.Background(), reqs)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				t.Fatal(r.Err)
			}
			out = append(out, r.Assertion)
		}
	}
	return out
}

// A member offline while records were added catches up after restart.
func TestOfflineMemberCatchesUp(t *testing.T) {
	n := 10_000
	if testing.Short() {
		n = 1_000
	}
	l := startLocal(t, 1, 2, "FR", "DE", "IT")
	if err := l.Stop(2); err != nil {
		t.Fatal(err)
	}
	added := assertMany(t, l.Members[0], "offline", n)
	eventually(t, 30*time.Second, "DE has everything", holdsAll(l, added, 2))
	if err := l.Start(context.Background(), 2, fast); err != nil {
		t.Fatal(err)
	}
	if err := l.Mesh(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	eventually(t, 60*time.Second, "IT caught up", holdsAll(l, added))
	t.Logf("IT caught up on %d records in %s", n, time.Since(start).Round(time.Millisecond))
}

// Two halves that cannot reach each other both go on asserting; once they
// can, every member holds everything.
func TestPartitionHeals(t *testing.T) {
	l := startLocal(t, 1, 4, "FR", "DE", "IT", "ES")
	halves := [][]int{{0, 1}, {2, 3}}
	for _, h := range halves {
		partition(t, l, h)
	}
	a := assertMany(t, l.Members[0], "left", 50)
	b := assertMany(t, l.Members[2], "right", 50)
	eventually(t, 10*time.Second, "left half converged", holdsAll(l, a, 2, 3))
	eventually(t, 10*time.Second, "right half converged", holdsAll(l, b, 0, 1))
	for _, i := range []int{2, 3} {
		if ok, _ := l.Members[i].Node().Store().Has(a[0]); ok {
			t.Fatal("a record crossed the partition")
		}
	}
	if err := l.Mesh(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the federation converged", holdsAll(l, append(a, b...)))
}

// partition gives the members of half only each other's addresses and
// closes their connections to everyone else.
func partition(t *testing.T, l *Local, half []int) {
	t.Helper()
	book := map[peer.ID][]ma.Multiaddr{}
	for _, i := range half {
		book[l.Members[i].Host().ID()] = l.Members[i].Host().Addrs()
	}
	for _, i := range half {
		h := l.Members[i].Host()
		if err := h.SetPeerAddrs(book); err != nil {
			t.Fatal(err)
		}
		for _, d := range l.Members {
			if _, in := book[d.Host().ID()]; !in {
				_ = h.LibP2P().Network().ClosePeer(d.Host().ID())
			}
		}
	}
}

// The measurement `vigie demo --check` runs, at a size CI affords.
func TestCheckReportsConvergence(t *testing.T) {
	countries := Federation31[:7]
	a := NewArrivals(len(countries))
	l, err := StartLocal(context.Background(), t.TempDir(), LocalOptions{Countries: countries, Threshold: 2, Issuers: 3,
		PerMember: func(i int, c string) []Option { return append(fast(i, c), a.Option(i)) }})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	waitConnected(t, l)
	rep, err := Check(context.Background(), l, a, 300, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", rep)
	if !rep.Converged || rep.PolicyViolations != 0 || rep.InvalidAccepted != 0 || len(rep.Problems) != 0 {
		t.Fatalf("report %+v", rep)
	}
	if rep.IndicatorsAsserted <= 300 || rep.UniqueIndicators != 300 {
		t.Fatalf("asserted %d (want overlaps beyond 300), unique %d (want 300)", rep.IndicatorsAsserted, rep.UniqueIndicators)
	}
	if rep.PushP99ms <= 0 || rep.RetractionP99ms <= 0 || rep.Retractions == 0 {
		t.Fatalf("latencies not measured: %+v", rep)
	}
}
