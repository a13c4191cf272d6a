package node

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigie-project/vigie/crypto/hybrid"
	"github.com/vigie-project/vigie/node/store"
	"github.com/vigie-project/vigie/policy"
	"github.com/vigie-project/vigie/protocol/record"
)

// signedBatch builds count assertions of n's agency with sequence numbers
// from first, signed with n's key as another node would send them.
func signedBatch(t testing.TB, n *Node, first uint64, count int, salt string) *record.Batch {
	t.Helper()
	return signedBatchWith(t, n, first, count, salt, nil)
}

// signedBatchWith is signedBatch with each assertion i changed by edit
// (if not nil) before it is encoded.
func signedBatchWith(t testing.TB, n *Node, first uint64, count int, salt string, edit func(i int, a *record.Assertion)) *record.Batch {
	t.Helper()
	key, err := hybrid.ReadKeyFile(filepath.Join(n.dir, agencyKey))
	if err != nil {
		t.Fatal(err)
	}
	recs := make([][]byte, count)
	for i := range recs {
		a := record.Assertion{
			Indicator:   record.IndicatorCID([]byte(fmt.Sprintf("token-%s-%d", salt, i))),
			Expr:        record.ExprHost,
			Categories:  []record.Category{record.CatIncitement},
			LegalStatus: record.StatusReferral,
			LegalBasis:  []string{"TCO:Art.5"},
			TLP:         record.TLPAmber, PAP: record.PAPAmber, SourceEval: "B", InfoEval: "2", Onward: record.OnwardAsk,
			Created: uint64(n.now().Unix()), Origin: n.agency, Seq: first + uint64(i),
		}
		if edit != nil {
			edit(i, &a)
		}
		if recs[i], err = a.Encode(); err != nil {
			t.Fatal(err)
		}
	}
	m, err := record.SignBatch(key, n.agency, recs, uint64(n.now().Unix()))
	if err != nil {
		t.Fatal(err)
	}
	return &record.Batch{Manifest: m, Records: recs}
}

func TestIngestStoresAVerifiedBatch(t *testing.T) {
	n, _, _, _ := newTestNode(t, "FR")
	ctx := context.Background()
	b := signedBatch(t, n, 1, 16, "a")
	cids, err := n.Ingest(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(cids) != 16 {
		t.Fatalf("%d CIDs for 16 records", len(cids))
	}
	for i, c := range cids {
		raw, _, err := n.Store().Get(c)
		if err != nil || string(raw) != string(b.Records[i]) {
			t.Fatalf("record %d not stored intact (%v)", i, err)
		}
	}
	ind := record.IndicatorCID([]byte("token-a-3"))
	ids, err := n.Store().AssertionsOf(ind)
	if err != nil || len(ids) != 1 || ids[0] != cids[3] {
		t.Fatalf("indicator index: %v (%v)", ids, err)
	}
	// The same batch again changes nothing.
	if _, err := n.Ingest(ctx, b); err != nil {
		t.Fatal(err)
	}
	if head, _ := n.Store().OriginHead(n.agency.String()); head != 16 {
		t.Fatalf("origin head %d after a repeated batch", head)
	}
}

func TestIngestRejectsBadBatches(t *testing.T) {
	n, _, _, _ := newTestNode(t, "FR")
	other, _, _, _ := newTestNode(t, "DE")
	ctx := context.Background()
	cases := map[string]func() *record.Batch{
		"flipped record byte": func() *record.Batch {
			b := signedBatch(t, n, 1, 4, "x")
			b.Records[2] = append([]byte(nil), b.Records[2]...)
			b.Records[2][len(b.Records[2])-1] ^= 1
			return b
		},
		"dropped record": func() *record.Batch {
			b := signedBatch(t, n, 1, 4, "x")
			b.Records = b.Records[:3]
			return b
		},
		"swapped records": func() *record.Batch {
			b := signedBatch(t, n, 1, 4, "x")
			b.Records[0], b.Records[1] = b.Records[1], b.Records[0]
			return b
		},
		"origin not in roster": func() *record.Batch { return signedBatch(t, other, 1, 4, "x") },
		"forged signature": func() *record.Batch {
			b := signedBatch(t, n, 1, 4, "x")
			b.Manifest.Signature = append([]byte(nil), b.Manifest.Signature...)
			b.Manifest.Signature[10] ^= 1
			return b
		},
	}
	for name, mk := range cases {
		if _, err := n.Ingest(ctx, mk()); !errors.Is(err, ErrRejected) {
			t.Errorf("%s: got %v, want ErrRejected", name, err)
		}
	}
	requireNothingStored(t, n, "rejected batches")
}

// A retraction that arrives from the federation marks the assertion
// retracted only when its origin made the assertion.
func TestIngestedRetractionOnlyCountsFromTheOrigin(t *testing.T) {
	n, _, _, _ := newTestNode(t, "FR")
	ctx := context.Background()
	a := mustAssert(t, n, "evil.example/")
	v, err := n.viewAssertion(a.Assertion, n.now())
	if err != nil || !v.Live {
		t.Fatalf("fresh assertion not live (%v)", err)
	}
	foreign := record.Retraction{Assertion: a.Assertion, Reason: record.ReasonIncorrect, Created: uint64(n.now().Unix()),
		Origin: record.Agency{Country: "DE", Org: "bka"}, Seq: 1}
	raw := mustEncode(t, &foreign)
	e, _ := entryFor(raw, record.CIDOf(raw))
	if _, err := n.Store().Put(ctx, []store.Entry{e}); err != nil {
		t.Fatal(err)
	}
	v, err = n.viewAssertion(a.Assertion, n.now())
	if err != nil || !v.Live || v.Retraction != nil {
		t.Fatalf("a third party's retraction withdrew the assertion: %+v (%v)", v.Retraction, err)
	}
}

func mustEncode(t testing.TB, r record.Record) []byte {
	t.Helper()
	b, err := r.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Ingest asks the Cedar "accept" decision for a batch of another origin
// (a bundle carried offline): a batch DE may accept from FR is stored; one
// holding a single record DE may not accept is refused whole, naming the
// record and the bar, reported and counted; DE's own batch is not
// re-checked.
func TestIngestAsksAccept(t *testing.T) {
	out, _ := genesis(t, 1, 2, MemberSpec{Country: "FR", Org: "pharos"}, MemberSpec{Country: "DE", Org: "bka"})
	fr := join(t, out, "FR-pharos") // signs only
	sink := &eventSink{}
	de := joinWith(t, out, "DE-bka", WithPolicy(defaultBundle(t)), WithAuditSink(sink))
	ctx := context.Background()
	expiry := uint64(time.Now().Add(30 * 24 * time.Hour).Unix())
	withExpiry := func(_ int, a *record.Assertion) { a.Expires = expiry }

	ok := signedBatchWith(t, fr, 1, 4, "ok", withExpiry)
	cids, err := de.Ingest(ctx, ok)
	if err != nil {
		t.Fatalf("Ingest of a batch DE may accept: %v", err)
	}
	for _, c := range cids {
		if !isStored(t, de, c) {
			t.Fatalf("%s not stored", c)
		}
	}
	before, err := de.Store().Stats()
	if err != nil {
		t.Fatal(err)
	}

	// Record 2 has no time limit: fed-time-limit-required bars accepting it.
	bad := signedBatchWith(t, fr, 5, 4, "bad", func(i int, a *record.Assertion) {
		if i != 2 {
			a.Expires = expiry
		}
	})
	badCIDs, err := record.VerifyBatch(&bad.Manifest, bad.Records, mustSignerKey(t, de, bad))
	if err != nil {
		t.Fatal(err)
	}
	_, err = de.Ingest(ctx, bad)
	if !errors.Is(err, ErrNotPermitted) || !strings.Contains(err.Error(), badCIDs[2].String()) ||
		!strings.Contains(err.Error(), "fed-time-limit-required") {
		t.Fatalf("Ingest = %v; want ErrNotPermitted naming record %s and fed-time-limit-required", err, badCIDs[2])
	}
	after, err := de.Store().Stats()
	if err != nil {
		t.Fatal(err)
	}
	if after.LogLength != before.LogLength {
		t.Fatalf("a refused batch changed the log from %d to %d entries", before.LogLength, after.LogLength)
	}
	for _, c := range badCIDs {
		if isStored(t, de, c) {
			t.Fatalf("record %s of a refused batch was stored", c)
		}
	}
	evs := sink.decisions()
	if len(evs) != 1 || evs[0].Fields["action"] != "accept" || evs[0].Fields["decision"] != policy.Deny ||
		evs[0].Fields["record"] != badCIDs[2].String() || evs[0].Fields["country"] != "FR" ||
		!slices.Contains(strings.Split(evs[0].Fields["bars"], ","), "fed-time-limit-required") {
		t.Fatalf("events %+v", evs)
	}
	if c := de.SyncCounters(); c.PolicyViolations != 1 {
		t.Fatalf("counters %+v; want one policy violation", c)
	}

	// DE's own batch, even without a time limit, is DE's to keep.
	if _, err := de.Ingest(ctx, signedBatch(t, de, 1, 2, "own")); err != nil {
		t.Fatalf("Ingest of DE's own batch: %v", err)
	}
	if len(sink.decisions()) != 1 {
		t.Fatalf("DE's own batch was re-checked: %+v", sink.decisions())
	}
}

// A batch for which no ground applies says so and lists what was checked.
func TestIngestWithoutLegalBasis(t *testing.T) {
	// No pack gives JP a ground to accept.
	out, _ := genesis(t, 1, 2, MemberSpec{Country: "FR", Org: "pharos"}, MemberSpec{Country: "JP", Org: "npa"})
	fr := join(t, out, "FR-pharos")
	jp := joinWith(t, out, "JP-npa", WithPolicy(defaultBundle(t)))
	expiry := uint64(time.Now().Add(30 * 24 * time.Hour).Unix())
	b := signedBatchWith(t, fr, 1, 1, "x", func(_ int, a *record.Assertion) { a.Expires = expiry })
	_, err := jp.Ingest(context.Background(), b)
	if !errors.Is(err, ErrNotPermitted) || !strings.Contains(err.Error(), "no legal basis; checked: ") {
		t.Fatalf("Ingest = %v; want ErrNotPermitted, no legal basis with the grounds checked", err)
	}
	requireNothingStored(t, jp, "a batch without a legal basis")
}

func mustSignerKey(t *testing.T, n *Node, b *record.Batch) *hybrid.PublicKey {
	t.Helper()
	pub, err := n.Roster().SignerKey(b.Manifest.Origin, b.Manifest.KeyID)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// Without any bundle, the baseline still binds an import: another origin's
// TLP:RED record is refused and nothing is stored.
func TestIngestKeepsTheBaselineWithoutABundle(t *testing.T) {
	out, _ := genesis(t, 1, 2, MemberSpec{Country: "FR", Org: "pharos"}, MemberSpec{Country: "DE", Org: "bka"})
	fr := join(t, out, "FR-pharos")
	de := join(t, out, "DE-bka")
	red := signedBatchWith(t, fr, 1, 3, "red", func(i int, a *record.Assertion) {
		if i == 1 {
			a.TLP = record.TLPRed
		}
	})
	before, err := de.Store().Stats()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := de.Ingest(context.Background(), red); !errors.Is(err, ErrNotPermitted) || !strings.Contains(err.Error(), "TLP:RED") {
		t.Fatalf("Ingest of another origin's TLP:RED record = %v", err)
	}
	after, err := de.Store().Stats()
	if err != nil {
		t.Fatal(err)
	}
	if after.LogLength != before.LogLength || de.SyncCounters().PolicyViolations != 1 {
		t.Fatalf("log %d → %d, counters %+v", before.LogLength, after.LogLength, de.SyncCounters())
	}
}
