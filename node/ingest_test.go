package node

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/vigie-project/vigie/crypto/hybrid"
	"github.com/vigie-project/vigie/node/store"
	"github.com/vigie-project/vigie/protocol/record"
)

// signedBatch builds count assertions of n's agency with sequence numbers
// from first, signed with n's key as another node would send them.
func signedBatch(t testing.TB, n *Node, first uint64, count int, salt string) *record.Batch {
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
