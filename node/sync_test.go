package node

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/vigie-project/vigie/crypto/hybrid"
	"github.com/vigie-project/vigie/node/store"
	"github.com/vigie-project/vigie/node/syncengine"
	"github.com/vigie-project/vigie/protocol/record"
)

// syncTrio is three members, each able to tokenise alone (t=1).
func syncTrio(t *testing.T) (out string, fr, de, it *Node) {
	t.Helper()
	out, _ = genesis(t, 1, 3, MemberSpec{Country: "FR", Org: "pharos"}, MemberSpec{Country: "DE", Org: "bka"}, MemberSpec{Country: "IT", Org: "polpost"})
	return out, join(t, out, "FR-pharos"), join(t, out, "DE-bka"), join(t, out, "IT-polpost")
}

// bundleFor reads holder's whole log and keeps what its policy shares with
// the member to, one bundle per manifest: what a feed would send.
func bundleFor(t *testing.T, holder, to *Node) []syncengine.Bundle {
	t.Helper()
	entries, err := holder.SyncLog().Range(0, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	pol := holder.SyncPolicy()
	peer := peerIDOf(t, to)
	var out []syncengine.Bundle
	byMan := map[string]int{}
	for _, en := range entries {
		if en.Erased || en.Manifest == nil || !pol.MayShare(peer, &en.Record) {
			continue
		}
		k, ok := byMan[en.Manifest.Ref.CID.KeyString()]
		if !ok {
			k = len(out)
			byMan[en.Manifest.Ref.CID.KeyString()] = k
			out = append(out, syncengine.Bundle{Manifest: en.Manifest})
		}
		out[k].Records = append(out[k].Records, en.Record)
	}
	return out
}

func peerIDOf(t *testing.T, n *Node) syncengine.PeerID {
	t.Helper()
	m, ok := n.Roster().Member(n.Agency())
	if !ok {
		t.Fatal("node not in its roster")
	}
	return syncengine.PeerID(m.PeerID)
}

func deliverAll(t *testing.T, to *Node, from record.Agency, bundles []syncengine.Bundle) int {
	t.Helper()
	stored := 0
	for _, b := range bundles {
		refs, err := to.DeliverBundle(context.Background(), from, b)
		if err != nil {
			t.Fatalf("%s refused a bundle from %s: %v", to.Agency(), from, err)
		}
		for _, r := range refs {
			if r.Kind != store.KindManifest {
				stored++
			}
			if r.LogIndex == 0 || r.Facts == nil && r.Kind != store.KindManifest {
				t.Fatalf("stored ref %+v lacks its log index or facts", r)
			}
		}
	}
	return stored
}

func TestFeedBundlesVerifyAndRespectTheBaseline(t *testing.T) {
	_, fr, de, it := syncTrio(t)
	ctx := context.Background()
	assert := func(url string, tlp record.TLP, onward record.OnwardConsent) {
		req := baseRequest()
		req.URL, req.TLP, req.Onward = url, tlp, onward
		if _, err := fr.Assert(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	assert("http://open.example/", record.TLPGreen, record.OnwardGranted)
	assert("http://secret.example/", record.TLPRed, record.OnwardGranted)
	assert("http://strict.example/", record.TLPAmberStrict, record.OnwardGranted)
	assert("http://ask.example/", record.TLPAmber, record.OnwardAsk)

	if n := deliverAll(t, de, fr.Agency(), bundleFor(t, fr, de)); n != 3 {
		t.Fatalf("DE stored %d records from FR; want 3 (everything but TLP:RED)", n)
	}
	if got := mustLookup(t, de, "http://secret.example/"); len(got.Matches) != 0 {
		t.Fatal("a TLP:RED assertion left its origin")
	}
	if got := mustLookup(t, de, "http://open.example/x"); !got.Live() {
		t.Fatal("DE does not match what FR shared")
	}
	// DE relays to IT only what FR let travel onward.
	if n := deliverAll(t, it, de.Agency(), bundleFor(t, de, it)); n != 1 {
		t.Fatalf("IT got %d records relayed by DE; want 1 (onward granted, not AMBER+STRICT)", n)
	}
	if got := mustLookup(t, it, "http://open.example/"); !got.Live() {
		t.Fatal("the relayed assertion does not match at IT")
	}
	// Delivering again stores nothing new.
	if n := deliverAll(t, de, fr.Agency(), bundleFor(t, fr, de)); n != 0 {
		t.Fatalf("a replayed feed stored %d records again", n)
	}
}

func TestDeliverRejectsForgeries(t *testing.T) {
	out, fr, de, it := syncTrio(t)
	ctx := context.Background()
	req := baseRequest()
	req.URL, req.TLP, req.Onward = "http://evil.example/", record.TLPRed, record.OnwardDenied
	red, err := fr.Assert(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	req.URL, req.TLP, req.Onward = "http://other.example/", record.TLPGreen, record.OnwardAsk
	green, err := fr.Assert(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := fr.SyncLog().Range(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var redRec, greenRec syncengine.Record
	var manifest, redManifest *syncengine.Record
	for _, en := range entries {
		switch {
		case en.Record.Ref.CID.Equals(red.Assertion):
			redRec, redManifest = en.Record, en.Manifest
		case en.Record.Ref.CID.Equals(green.Assertion):
			greenRec, manifest = en.Record, en.Manifest
		}
	}
	if manifest == nil || redRec.Bytes == nil {
		t.Fatal("log entries not found")
	}
	flip := func(b []byte, i int) []byte { c := bytes.Clone(b); c[i] ^= 1; return c }
	deKey, err := hybrid.ReadKeyFile(filepath.Join(out, "DE-bka", agencyKey))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := record.SignBatch(deKey, de.Agency(), [][]byte{greenRec.Bytes}, uint64(de.now().Unix())); err == nil {
		t.Fatal("SignBatch signed another origin's record")
	}
	// DE claims FR's record under a manifest of its own (a batch of one
	// DE record) with FR's record in place of DE's.
	req.URL = "http://de.example/"
	deA, err := de.Assert(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	deEntries, _ := de.SyncLog().Range(0, 100)
	var deManifest *syncengine.Record
	var deRec syncengine.Record
	for _, en := range deEntries {
		if en.Record.Ref.CID.Equals(deA.Assertion) {
			deManifest, deRec = en.Manifest, en.Record
		}
	}
	swapped := deRec
	swapped.Bytes = greenRec.Bytes

	cases := map[string]syncengine.Bundle{
		"record bytes altered":        {Manifest: manifest, Records: []syncengine.Record{{Ref: greenRec.Ref, Bytes: flip(greenRec.Bytes, 20), Proof: greenRec.Proof}}},
		"proof altered":               {Manifest: manifest, Records: []syncengine.Record{{Ref: greenRec.Ref, Bytes: greenRec.Bytes, Proof: flip(greenRec.Proof, len(greenRec.Proof)-1)}}},
		"manifest signature altered":  {Manifest: &syncengine.Record{Ref: manifest.Ref, Bytes: flip(manifest.Bytes, len(manifest.Bytes)-5)}, Records: []syncengine.Record{greenRec}},
		"record under another origin": {Manifest: deManifest, Records: []syncengine.Record{swapped}},
		"no manifest":                 {Records: []syncengine.Record{greenRec}},
		"no proof":                    {Manifest: manifest, Records: []syncengine.Record{{Ref: greenRec.Ref, Bytes: greenRec.Bytes}}},
	}
	before, _ := it.Store().Stats()
	for name, b := range cases {
		if _, err := it.DeliverBundle(ctx, de.Agency(), b); !errors.Is(err, ErrRejected) {
			t.Errorf("%s: got %v, want ErrRejected", name, err)
		}
	}
	// A TLP:RED record is a policy violation even with a valid signature.
	if _, err := it.DeliverBundle(ctx, fr.Agency(), syncengine.Bundle{Manifest: redManifest, Records: []syncengine.Record{redRec}}); !errors.Is(err, ErrPolicyViolation) {
		t.Errorf("TLP:RED from its origin: got %v, want ErrPolicyViolation", err)
	}
	after, _ := it.Store().Stats()
	if after.LogLength != before.LogLength {
		t.Fatalf("rejected bundles stored %d log entries", after.LogLength-before.LogLength)
	}
	if c := it.SyncCounters(); c.BundlesRejected != uint64(len(cases))+1 || c.PolicyViolations != 1 {
		t.Fatalf("counters %+v", c)
	}
	// The genuine record is still accepted afterwards.
	if _, err := it.DeliverBundle(ctx, fr.Agency(), syncengine.Bundle{Manifest: manifest, Records: []syncengine.Record{greenRec}}); err != nil {
		t.Fatalf("genuine bundle after forgeries: %v", err)
	}
}

func TestRetractionOnlyByTheAssertionsOrigin(t *testing.T) {
	_, fr, de, it := syncTrio(t)
	ctx := context.Background()
	req := baseRequest()
	req.URL, req.TLP, req.Onward = "http://evil.example/", record.TLPGreen, record.OnwardGranted
	a, err := fr.Assert(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	deliverAll(t, de, fr.Agency(), bundleFor(t, fr, de))
	deliverAll(t, it, fr.Agency(), bundleFor(t, fr, it))
	if _, err := de.Retract(ctx, RetractRequest{Assertion: a.Assertion, Reason: record.ReasonFalsePositive}); !errors.Is(err, ErrNotOrigin) {
		t.Fatalf("DE retracting FR's assertion locally: %v", err)
	}
	if _, err := fr.Retract(ctx, RetractRequest{Assertion: a.Assertion, Reason: record.ReasonFalsePositive}); err != nil {
		t.Fatal(err)
	}
	if n := deliverAll(t, it, fr.Agency(), bundleFor(t, fr, it)); n != 1 {
		t.Fatalf("IT stored %d new records; want the retraction", n)
	}
	if got := mustLookup(t, it, "http://evil.example/"); got.Live() {
		t.Fatal("the retracted assertion is still live at IT")
	}
}
