package node

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/vigie-project/vigie/crypto/hybrid"
	"github.com/vigie-project/vigie/protocol/record"
)

func genesis(t *testing.T, threshold, issuers int, members ...MemberSpec) (string, *record.Roster) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "genesis")
	r, err := Genesis(context.Background(), out, GenesisOptions{Federation: "eu-test", Members: members, Threshold: threshold, Issuers: issuers})
	if err != nil {
		t.Fatal(err)
	}
	return out, r
}

func join(t *testing.T, out, member string) *Node {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), member)
	if err := Join(ctx, dir, filepath.Join(out, rosterFile), filepath.Join(out, member)); err != nil {
		t.Fatal(err)
	}
	n, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func TestGenesisRoster(t *testing.T) {
	_, r := genesis(t, 2, 3,
		MemberSpec{Country: "fr", Org: "pharos", Addrs: []string{"/ip4/127.0.0.1/udp/4001/quic-v1"}},
		MemberSpec{Country: "DE", Org: "bka", Witness: true},
		MemberSpec{Country: "US", Org: "fbi"},
		MemberSpec{Country: "AU", Org: "afp"})
	if r.Threshold != 2 || r.Shares != 3 || len(r.Members) != 4 || len(r.Signatures) != 4 {
		t.Fatalf("roster t=%d n=%d members=%d sigs=%d", r.Threshold, r.Shares, len(r.Members), len(r.Signatures))
	}
	if err := r.Verify(len(r.Members)); err != nil {
		t.Fatalf("genesis roster does not verify with every founder: %v", err)
	}
	issuers := 0
	for _, m := range r.Members {
		if m.ShareIndex != 0 {
			issuers++
		}
	}
	if issuers != 3 {
		t.Fatalf("%d issuers, want 3", issuers)
	}
	if _, err := groupKeyOf(r); err != nil {
		t.Fatalf("roster's OPRF key: %v", err)
	}
	// Share indices need not follow agency order (a later roster may add an
	// issuer that sorts first): the group key is read by index regardless.
	var issuersAt []int
	for i, m := range r.Members {
		if m.ShareIndex != 0 {
			issuersAt = append(issuersAt, i)
		}
	}
	a, b := &r.Members[issuersAt[0]], &r.Members[issuersAt[1]]
	a.ShareIndex, b.ShareIndex = b.ShareIndex, a.ShareIndex
	a.SharePublicKey, b.SharePublicKey = b.SharePublicKey, a.SharePublicKey
	if _, err := groupKeyOf(r); err != nil {
		t.Fatalf("shares out of agency order: %v", err)
	}
}

// Two states asserting the same URL get one indicator, and a batch signed
// by one is accepted by the other because the roster vouches for its key.
func TestFederatedNodesShareIndicators(t *testing.T) {
	out, _ := genesis(t, 1, 2, MemberSpec{Country: "FR", Org: "pharos"}, MemberSpec{Country: "DE", Org: "bka"})
	fr, de := join(t, out, "FR-pharos"), join(t, out, "DE-bka")
	ctx := context.Background()
	req := baseRequest()
	req.URL = "http://evil.example/a.html"
	a1, err := fr.Assert(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	a2, err := de.Assert(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if a1.Indicator != a2.Indicator {
		t.Fatal("the same URL gave different indicators in two member states")
	}

	key, err := hybrid.ReadKeyFile(filepath.Join(out, "FR-pharos", agencyKey))
	if err != nil {
		t.Fatal(err)
	}
	raw, _, err := fr.Store().Get(a1.Assertion)
	if err != nil {
		t.Fatal(err)
	}
	m, err := record.SignBatch(key, fr.Agency(), [][]byte{raw}, uint64(fr.now().Unix()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := de.Ingest(ctx, &record.Batch{Manifest: m, Records: [][]byte{raw}}); err != nil {
		t.Fatalf("DE refused FR's signed batch: %v", err)
	}
	got := mustLookup(t, de, "http://evil.example/a.html")
	if len(got.Matches) != 1 || len(got.Matches[0].Assertions) != 2 {
		t.Fatalf("want one indicator with FR's and DE's assertions, got %+v", got.Matches)
	}
}

func TestNonIssuerCannotTokeniseAlone(t *testing.T) {
	out, _ := genesis(t, 2, 2, MemberSpec{Country: "FR", Org: "a"}, MemberSpec{Country: "DE", Org: "b"}, MemberSpec{Country: "IT", Org: "c"})
	for _, name := range []string{"FR-a", "IT-c"} { // an issuer holding 1 of t=2, and a non-issuer
		n := join(t, out, name)
		req := baseRequest()
		req.Expression = "evil.example/"
		if _, err := n.Assert(context.Background(), req); !errors.Is(err, errTooFewShares) {
			t.Errorf("%s: assert without enough shares: %v", name, err)
		}
	}
}

func TestJoinRefuses(t *testing.T) {
	out, _ := genesis(t, 1, 1, MemberSpec{Country: "FR", Org: "a"}, MemberSpec{Country: "DE", Org: "b"})
	other, _ := genesis(t, 1, 1, MemberSpec{Country: "FR", Org: "a"})
	ctx := context.Background()
	if err := Join(ctx, filepath.Join(t.TempDir(), "x"), filepath.Join(out, rosterFile), filepath.Join(other, "FR-a")); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("keys of another federation: %v", err)
	}
	if _, err := Genesis(ctx, out, GenesisOptions{Members: []MemberSpec{{Country: "FR", Org: "a"}}, Threshold: 1, Issuers: 1}); !errors.Is(err, ErrAlreadyInitialised) {
		t.Errorf("genesis over an existing one: %v", err)
	}
	if _, err := Genesis(ctx, filepath.Join(t.TempDir(), "g"), GenesisOptions{Members: []MemberSpec{{Country: "FR", Org: "a"}}, Threshold: 2, Issuers: 1}); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("threshold above issuers: %v", err)
	}
}
