package node

import (
	"context"
	"slices"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/node/store"
	"github.com/vigie-project/vigie/node/syncengine"
	"github.com/vigie-project/vigie/protocol/record"
)

// The reconciliation domain is symmetric, never holds a TLP:RED assertion,
// and covers everything the baseline lets either member send the other.
func TestInSyncDomain(t *testing.T) {
	a, b, c := record.Agency{Country: "FR", Org: "x"}, record.Agency{Country: "DE", Org: "y"}, record.Agency{Country: "IT", Org: "z"}
	kinds := []store.Kind{store.KindAssertion, store.KindRetraction, store.KindSighting, store.KindManifest, store.KindRoster}
	tlps := []record.TLP{record.TLPClear, record.TLPGreen, record.TLPAmber, record.TLPAmberStrict, record.TLPRed}
	onwards := []record.OnwardConsent{record.OnwardDenied, record.OnwardAsk, record.OnwardGranted}
	for _, k := range kinds {
		for _, tlp := range tlps {
			for _, on := range onwards {
				for _, origin := range []record.Agency{a, b, c} {
					f := &RecordFacts{Kind: k, Origin: origin, TLP: tlp, Onward: on}
					in := InSyncDomain(a, b, f)
					if in != InSyncDomain(b, a, f) {
						t.Fatalf("%+v: not symmetric", f)
					}
					if travelling(k) && (MayHold(a, b, f) || MayHold(b, a, f)) && !in {
						t.Fatalf("%+v: may travel between the two but is outside their domain", f)
					}
					if in && k == store.KindAssertion && tlp == record.TLPRed {
						t.Fatalf("%+v: TLP:RED in a domain", f)
					}
					if in && (k == store.KindManifest || k == store.KindRoster) {
						t.Fatalf("%+v: a %s in a domain", f, k)
					}
					if InSyncDomain(a, a, f) {
						t.Fatalf("%+v: in a member's domain with itself", f)
					}
				}
			}
		}
	}
}

func sameCIDs(t *testing.T, what string, got []cid.Cid, want ...cid.Cid) {
	t.Helper()
	key := func(x, y cid.Cid) int {
		switch {
		case x.KeyString() < y.KeyString():
			return -1
		case x.KeyString() > y.KeyString():
			return 1
		}
		return 0
	}
	got, want = slices.SortedFunc(slices.Values(got), key), slices.SortedFunc(slices.Values(want), key)
	if !slices.Equal(got, want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

// bundleCIDs lists the record CIDs of bundles, checking each bundle has its
// manifest (one bundle per manifest) and each record its proof.
func bundleCIDs(t *testing.T, bs []syncengine.Bundle) []cid.Cid {
	t.Helper()
	var out []cid.Cid
	manifests := map[cid.Cid]bool{}
	for _, b := range bs {
		if b.Manifest == nil || b.Manifest.Ref.Kind != store.KindManifest || len(b.Records) == 0 || manifests[b.Manifest.Ref.CID] {
			t.Fatalf("malformed bundle %+v", b)
		}
		manifests[b.Manifest.Ref.CID] = true
		for _, r := range b.Records {
			if len(r.Proof) == 0 || r.Ref.Facts == nil || record.CIDOf(r.Bytes) != r.Ref.CID {
				t.Fatalf("record %s without proof, facts or matching bytes", r.Ref.CID)
			}
			out = append(out, r.Ref.CID)
		}
	}
	return out
}

func TestSyncSetAndBundlesFollowTheBaseline(t *testing.T) {
	_, fr, de, it := syncTrio(t)
	ctx := context.Background()
	assert := func(url string, tlp record.TLP, onward record.OnwardConsent) cid.Cid {
		req := baseRequest()
		req.URL, req.TLP, req.Onward = url, tlp, onward
		res, err := fr.Assert(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return res.Assertion
	}
	open := assert("http://open.example/", record.TLPGreen, record.OnwardGranted)
	red := assert("http://secret.example/", record.TLPRed, record.OnwardGranted)
	strict := assert("http://strict.example/", record.TLPAmberStrict, record.OnwardGranted)
	ask := assert("http://ask.example/", record.TLPAmber, record.OnwardAsk)
	deliverAll(t, de, fr.Agency(), bundleFor(t, fr, de))

	set := func(n *Node, to *Node) []cid.Cid {
		s, err := n.SyncSet(ctx, to.Agency())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// FR and DE hold the same three records and both count them in their
	// domain: nothing to reconcile. TLP:RED is in neither.
	sameCIDs(t, "FR's set for DE", set(fr, de), open, strict, ask)
	sameCIDs(t, "DE's set for FR", set(de, fr), open, strict, ask)
	// With IT, DE shares only what FR let travel onward.
	sameCIDs(t, "DE's set for IT", set(de, it), open)
	sameCIDs(t, "FR's set for itself", set(fr, fr))

	all := []cid.Cid{open, red, strict, ask, open, record.CIDOf([]byte("not stored"))}
	bundles := func(n, to *Node, cids []cid.Cid) []syncengine.Bundle {
		bs, err := n.SyncBundles(to.Agency(), cids)
		if err != nil {
			t.Fatal(err)
		}
		return bs
	}
	frToDE := bundles(fr, de, all)
	sameCIDs(t, "FR's bundles for DE", bundleCIDs(t, frToDE), open, strict, ask)
	// Records of one batch travel under their manifest once.
	var reqs []AssertRequest
	for _, u := range []string{"http://b1.example/", "http://b2.example/", "http://b3.example/"} {
		req := baseRequest()
		req.URL = u
		reqs = append(reqs, req)
	}
	batch, err := fr.AssertMany(ctx, reqs)
	if err != nil {
		t.Fatal(err)
	}
	batchCIDs := []cid.Cid{batch[0].Assertion, batch[1].Assertion, batch[2].Assertion}
	if bs := bundles(fr, de, batchCIDs); len(bs) != 1 || len(bs[0].Records) != 3 {
		t.Fatalf("a batch of three came in %d bundles", len(bs))
	}
	// What SyncBundles serves verifies at the receiver.
	if n := deliverAll(t, it, fr.Agency(), frToDE); n != 3 {
		t.Fatalf("IT stored %d of FR's bundles, want 3", n)
	}
	// A relay: only with onward consent, and never AMBER+STRICT.
	sameCIDs(t, "DE's bundles for IT", bundleCIDs(t, bundles(de, it, all)), open)
	sameCIDs(t, "DE's bundles for FR", bundleCIDs(t, bundles(de, fr, all)), open)
	if bs := bundles(fr, fr, all); len(bs) != 0 {
		t.Fatalf("FR serves itself %d bundles", len(bs))
	}
	if _, err := fr.SyncBundles(de.Agency(), make([]cid.Cid, MaxSyncBundleCIDs+1)); err == nil {
		t.Fatal("SyncBundles took more than MaxSyncBundleCIDs CIDs")
	}

	// A retraction is in every domain and travels by relay; StoreFetched
	// stores it (before its assertion) and announces it.
	ret, err := fr.Retract(ctx, RetractRequest{Assertion: ask, Reason: record.ReasonFalsePositive})
	if err != nil {
		t.Fatal(err)
	}
	deliverAll(t, de, fr.Agency(), bundleFor(t, fr, de))
	sameCIDs(t, "DE's set for IT after the retraction", set(de, it), open, ret)
	var announced []syncengine.Bundle
	de.SetAnnouncer(func(b []syncengine.Bundle) { announced = append(announced, b...) })
	bs := bundles(de, it, []cid.Cid{ret, open})
	sameCIDs(t, "DE's bundles for IT", bundleCIDs(t, bs), ret, open)
	var got []syncengine.Bundle
	it.SetAnnouncer(func(b []syncengine.Bundle) { got = append(got, b...) })
	stored := 0
	for _, b := range bs {
		refs, err := it.StoreFetched(ctx, de.Agency(), b)
		if err != nil {
			t.Fatal(err)
		}
		stored += len(refs)
	}
	// IT already held open (from FR above): only the retraction is new.
	if stored == 0 || len(got) != 1 {
		t.Fatalf("StoreFetched stored %d entries and announced %d bundles; want the retraction, announced once", stored, len(got))
	}
	b := got[0]
	if b.Manifest == nil || b.Manifest.Ref.CID != record.CIDOf(b.Manifest.Bytes) || b.Manifest.Ref.Origin != fr.Agency().String() {
		t.Fatalf("announced manifest %+v", b.Manifest)
	}
	if len(b.Records) != 1 || b.Records[0].Ref.CID != ret || b.Records[0].Ref.LogIndex == 0 || b.Records[0].Ref.Facts == nil ||
		len(b.Records[0].Bytes) == 0 || len(b.Records[0].Proof) == 0 {
		t.Fatalf("announced records %+v", b.Records)
	}
	if len(announced) != 0 {
		t.Fatal("serving bundles announced something")
	}
	// A bundle the node refuses is neither stored nor announced.
	got = nil
	if _, err := it.StoreFetched(ctx, fr.Agency(), syncengine.Bundle{}); err == nil || len(got) != 0 {
		t.Fatalf("an empty bundle: %v, %d announced", err, len(got))
	}
}
