package daemon

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/node"
	"github.com/vigie-project/vigie/node/syncengine"
	"github.com/vigie-project/vigie/protocol/record"
)

// assertWith asserts n synthetic URLs at d, each with the request mk
// builds, and returns their assertion CIDs.
func assertWith(t *testing.T, d *Daemon, mk func(url string) node.AssertRequest, prefix string, n int) []cid.Cid {
	t.Helper()
	reqs := make([]node.AssertRequest, n)
	for i := range reqs {
		reqs[i] = mk(fmt.Sprintf("http://%s-%d.example/page.html", prefix, i))
	}
	res, err := d.Node().AssertMany(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]cid.Cid, len(res))
	for i, r := range res {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		out[i] = r.Assertion
	}
	return out
}

// euOnly is request without the category actionable in the US: the
// Cedar bundle lets EU members share it with each other, never with the
// US (US-minimisation).
func euOnly(url string) node.AssertRequest {
	req := request(url)
	req.Categories = []record.Category{record.CatIncitement}
	return req
}

// reconcileWith runs one anti-entropy session of d with peer, as the
// engine starts it after an EpochReset, and returns the differences the
// reconciler found: ids only peer held, and ids only d held.
func reconcileWith(t *testing.T, d, peer *Daemon) (theirs, ours uint64) {
	t.Helper()
	before := d.AntiEntropyStats()
	if _, err := d.ae.Reconcile(context.Background(), syncengine.PeerID(peer.Host().ID().String()), syncengine.Epoch{}, 0); err != nil {
		t.Fatalf("%s reconciling with %s: %v", d.Node().Agency(), peer.Node().Agency(), err)
	}
	after := d.AntiEntropyStats()
	return after.Theirs - before.Theirs, after.Ours - before.Ours
}

// Reconciliation covers only what the Cedar bundle lets the two members
// hold: FR and DE hold FR's EU-only records, which the US may not receive,
// and yet the US converges with both in one session, and a second session
// with either, started from either side, finds no difference at all.
// Under the baseline alone every session with the US would count the
// EU-only records as differences and never fetch them.
func TestReconciliationDomainFollowsCedar(t *testing.T) {
	const nShared, nEUOnly = 40, 5
	l := startLocal(t, 1, 3, "FR", "DE", "US")
	if err := l.Stop(2); err != nil {
		t.Fatal(err)
	}
	fr, de := l.Members[0], l.Members[1]
	shared := assertMany(t, fr, "shared", nShared)
	eu := assertWith(t, fr, euOnly, "eu-only", nEUOnly)
	eventually(t, 30*time.Second, "DE has FR's records", holdsAll(l, append(shared, eu...)))

	// The US comes back but asks for no feed for an hour, and nothing new
	// is pushed: what it lacks, only reconciliation brings.
	slowFeed := func(i int, c string) []Option {
		return append(fast(i, c), WithEngineConfig(syncengine.Config{DirectDelay: time.Hour, RetryDelay: time.Hour}))
	}
	if err := l.Start(context.Background(), 2, slowFeed); err != nil {
		t.Fatal(err)
	}
	if err := l.Mesh(); err != nil {
		t.Fatal(err)
	}
	waitConnected(t, l)
	us := l.Members[2]
	for _, c := range shared {
		if ok, err := us.Node().Store().Has(c); err != nil || ok {
			t.Fatalf("the US holds %s before reconciling (%v): the test cannot tell what reconciliation brought", c, err)
		}
	}

	theirs, ours := reconcileWith(t, us, fr)
	if theirs != nShared || ours != 0 {
		t.Fatalf("first session of the US with FR: %d only at FR, %d only at the US; want %d and 0", theirs, ours, nShared)
	}
	if s := us.AntiEntropyStats(); s.Fetched != nShared {
		t.Fatalf("the US fetched %d records, want %d: %+v", s.Fetched, nShared, s)
	}
	if !holdsAll(l, shared)() {
		t.Fatal("the US does not hold FR's shared records after reconciling")
	}

	for _, pair := range [][2]*Daemon{{us, fr}, {fr, us}, {us, de}, {de, us}, {fr, de}, {de, fr}} {
		if theirs, ours := reconcileWith(t, pair[0], pair[1]); theirs != 0 || ours != 0 {
			t.Fatalf("%s reconciling with %s again: %d only at the peer, %d only here; want none",
				pair[0].Node().Agency(), pair[1].Node().Agency(), theirs, ours)
		}
	}
	for _, c := range eu {
		if ok, err := us.Node().Store().Has(c); err != nil || ok {
			t.Fatalf("the US holds the EU-only record %s (%v)", c, err)
		}
	}
	noRejections(t, l)
}
