package node

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/node/store"
	"github.com/vigie-project/vigie/node/syncengine"
	"github.com/vigie-project/vigie/policy"
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

// cedarTrio is FR, DE and US, each enforcing the default bundle and
// reporting its audit events to its own sink.
func cedarTrio(t *testing.T) (fr, de, us *Node, sinks map[*Node]*eventSink) {
	t.Helper()
	out, _ := genesis(t, 1, 3, MemberSpec{Country: "FR", Org: "pharos"}, MemberSpec{Country: "DE", Org: "bka"}, MemberSpec{Country: "US", Org: "fbi"})
	sinks = map[*Node]*eventSink{}
	open := func(member string) *Node {
		s := &eventSink{}
		n := joinWith(t, out, member, WithPolicy(defaultBundle(t)), WithAuditSink(s))
		sinks[n] = s
		return n
	}
	return open("FR-pharos"), open("DE-bka"), open("US-fbi"), sinks
}

// usActionable is policyAssertRequest made actionable in the US too, so
// that US-minimisation lets the US receive it.
func usActionable(url string) AssertRequest {
	req := policyAssertRequest(url)
	req.Categories = []record.Category{record.CatIncitement, record.CatIncitementImminent}
	return req
}

// With a Cedar bundle, the reconciliation domain holds only what the
// bundle lets travel between the two members, and both compute the same
// one: a record FR may not share with the US is in neither FR's set for
// the US nor the US's for FR (nor, relayed, DE's for the US), though it is
// in FR's and DE's sets for each other.
func TestSyncSetFollowsCedar(t *testing.T) {
	fr, de, us, sinks := cedarTrio(t)
	ctx := context.Background()
	assert := func(req AssertRequest) cid.Cid {
		res, err := fr.Assert(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return res.Assertion
	}
	shared := assert(usActionable("http://shared.example/"))
	euOnly := assert(policyAssertRequest("http://eu-only.example/"))
	deliverAll(t, de, fr.Agency(), bundleFor(t, fr, de))
	deliverAll(t, us, fr.Agency(), bundleFor(t, fr, us))
	if !isStored(t, us, shared) || isStored(t, us, euOnly) || !isStored(t, de, euOnly) {
		t.Fatal("FR's feed did not follow the bundle")
	}
	reported := map[*Node]int{}
	for n, s := range sinks {
		reported[n] = len(s.decisions())
	}

	set := func(n, to *Node) []cid.Cid {
		t.Helper()
		s, err := n.SyncSet(ctx, to.Agency())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// DE first, before anything enforced a DE→US flow of the EU-only
	// record: its predicted denial must not hide the real one below.
	sameCIDs(t, "DE's set for the US", set(de, us), shared)
	sameCIDs(t, "US's set for DE", set(us, de), shared)
	sameCIDs(t, "FR's set for the US", set(fr, us), shared)
	sameCIDs(t, "US's set for FR", set(us, fr), shared)
	sameCIDs(t, "FR's set for DE", set(fr, de), shared, euOnly)
	sameCIDs(t, "DE's set for FR", set(de, fr), shared, euOnly)
	for n, s := range sinks {
		if got := len(s.decisions()); got != reported[n] {
			t.Fatalf("%s: computing sync sets reported %d policy decisions: %+v", n.Agency(), got-reported[n], s.decisions()[reported[n]:])
		}
	}
	// The baseline alone would have put the EU-only record in the US's
	// pairs' domains: it is the bundle that keeps it out.
	if f := factsOf(t, fr, euOnly); !InSyncDomain(fr.Agency(), us.Agency(), f) || !InSyncDomain(de.Agency(), us.Agency(), f) {
		t.Fatal("the baseline domain does not hold the EU-only record")
	}
	// The relay DE would refuse is still withheld and reported when the
	// feed asks, although the sync set cached its decision first.
	if got := bundleCIDs(t, bundleFor(t, de, us)); len(got) != 1 || got[0] != shared {
		t.Fatalf("DE's feed for the US: %v", got)
	}
	evs := sinks[de].decisions()[reported[de]:]
	if len(evs) != 1 || evs[0].Fields["action"] != "share" || evs[0].Fields["record"] != euOnly.String() ||
		evs[0].Fields["country"] != "US" || !slices.Contains(strings.Split(evs[0].Fields["bars"], ","), "US-minimisation") {
		t.Fatalf("DE's decisions on its feed for the US: %+v", evs)
	}
}

// factsOf returns the facts of the record c stored at n.
func factsOf(t *testing.T, n *Node, c cid.Cid) *RecordFacts {
	t.Helper()
	_, f, ok, err := n.storedEntry(c)
	if err != nil || !ok {
		t.Fatalf("%s: record %s: %v", n.Agency(), c, err)
	}
	return f
}

// Over every pair of members and a grid of facts, the Cedar domain is
// symmetric, within the baseline's, and holds an origin's assertion only
// if the origin may share it with the other member and that member accept
// it; a third party's only if both may send it to each other.
func TestCedarSyncDomainRule(t *testing.T) {
	fr, de, us, _ := cedarTrio(t)
	members := []record.Agency{fr.Agency(), de.Agency(), us.Agency()}
	third := record.Agency{Country: "IT", Org: "polpost"}
	now := fr.now()
	expiry := uint64(now.Add(30 * 24 * time.Hour).Unix())
	decide := func(action string, principal, sender, recipient record.Agency, f *RecordFacts) bool {
		return fr.Policy().Decide(fr.policyRequest(action, principal, sender.Country, recipient.Country, f, now, "")).Decision == policy.Allow
	}
	hop := func(from, to record.Agency, f *RecordFacts) bool {
		return decide("share", from, from, to, f) && decide("accept", to, from, to, f)
	}
	var in, out int
	for _, cats := range [][]record.Category{{record.CatIncitement}, {record.CatIncitement, record.CatIncitementImminent}} {
		for _, tlp := range []record.TLP{record.TLPGreen, record.TLPAmber, record.TLPAmberStrict, record.TLPRed} {
			for _, onward := range []record.OnwardConsent{record.OnwardGranted, record.OnwardAsk} {
				for _, expires := range []uint64{0, expiry} {
					for _, origin := range append(members, third) {
						f := &RecordFacts{Kind: store.KindAssertion, Origin: origin, TLP: tlp, Onward: onward, Categories: cats,
							PAP: record.PAPGreen, LegalStatus: record.StatusReferral, Expr: record.ExprHost, Expires: expires}
						for _, a := range members {
							for _, b := range members {
								got := fr.InSyncDomain(a, b, cid.Undef, f)
								var want bool
								switch {
								case !InSyncDomain(a, b, f):
								case origin == a:
									want = hop(a, b, f)
								case origin == b:
									want = hop(b, a, f)
								default:
									want = hop(a, b, f) && hop(b, a, f)
								}
								if got != want || got != de.InSyncDomain(b, a, cid.Undef, f) {
									t.Fatalf("%s–%s, %+v: in = %v, want %v, symmetric %v", a, b, f, got, want, de.InSyncDomain(b, a, cid.Undef, f))
								}
								if got {
									in++
								} else if InSyncDomain(a, b, f) {
									out++
								}
							}
						}
					}
				}
			}
		}
	}
	// The grid must exercise both outcomes within the baseline domain.
	if in == 0 || out == 0 {
		t.Fatalf("%d in, %d kept out by the bundle", in, out)
	}
	// Retractions and sightings stay in; without a bundle, the baseline.
	ret := &RecordFacts{Kind: store.KindRetraction, Origin: third}
	if !fr.InSyncDomain(fr.Agency(), us.Agency(), cid.Undef, ret) {
		t.Fatal("a retraction is out of the domain")
	}
}

// BenchmarkSyncSetCedar reads DE's sync set for the US over 10,000
// assertions DE received from FR, half of them actionable in the US: under
// the baseline alone, under the default bundle with its decisions cached
// (a session after another), and with the cache emptied first (the first
// session of the day: four Cedar decisions per third party's record).
// Compare the three in one run.
func BenchmarkSyncSetCedar(b *testing.B) {
	const records, batch = 10_000, 500
	ctx := context.Background()
	root := b.TempDir()
	out := filepath.Join(root, "genesis")
	if _, err := Genesis(ctx, out, GenesisOptions{Federation: "eu-bench", Threshold: 1, Issuers: 3,
		Members: []MemberSpec{{Country: "FR", Org: "pharos"}, {Country: "DE", Org: "bka"}, {Country: "US", Org: "fbi"}}}); err != nil {
		b.Fatal(err)
	}
	open := func(member string, opts ...Option) *Node {
		dir := filepath.Join(root, member)
		if _, err := os.Stat(dir); err != nil {
			if err := Join(ctx, dir, filepath.Join(out, rosterFile), filepath.Join(out, member)); err != nil {
				b.Fatal(err)
			}
		}
		n, err := Open(ctx, dir, opts...)
		if err != nil {
			b.Fatal(err)
		}
		return n
	}
	bundle, err := policy.Default()
	if err != nil {
		b.Fatal(err)
	}
	fr, de := open("FR-pharos"), open("DE-bka")
	defer fr.Close()
	expiry := uint64(time.Now().Add(30 * 24 * time.Hour).Unix())
	for first := 0; first < records; first += batch {
		bt := signedBatchWith(b, fr, uint64(first+1), batch, strconv.Itoa(first), func(i int, a *record.Assertion) {
			a.Expires, a.TLP, a.Onward = expiry, record.TLPGreen, record.OnwardGranted
			if i%2 == 0 {
				a.Categories = []record.Category{record.CatIncitement, record.CatIncitementImminent}
			}
		})
		if _, err := de.Ingest(ctx, bt); err != nil {
			b.Fatal(err)
		}
	}
	if err := de.Close(); err != nil {
		b.Fatal(err)
	}
	us := record.Agency{Country: "US", Org: "fbi"}
	run := func(b *testing.B, n *Node, cold bool) {
		var size int
		for b.Loop() {
			if cold {
				n.decisions.mu.Lock()
				n.decisions.m = nil
				n.decisions.mu.Unlock()
			}
			set, err := n.SyncSet(ctx, us)
			if err != nil {
				b.Fatal(err)
			}
			size = len(set)
		}
		b.ReportMetric(float64(size), "set")
	}
	b.Run("baseline", func(b *testing.B) {
		n := open("DE-bka")
		defer n.Close()
		run(b, n, false)
	})
	b.Run("cedar-cached", func(b *testing.B) {
		n := open("DE-bka", WithPolicy(bundle))
		defer n.Close()
		run(b, n, false)
	})
	b.Run("cedar-cold", func(b *testing.B) {
		n := open("DE-bka", WithPolicy(bundle))
		defer n.Close()
		run(b, n, true)
	})
}
