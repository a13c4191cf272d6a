package node

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/policy"
	"github.com/vigie-project/vigie/protocol/record"
)

// eventSink records consultations and every other audit event.
type eventSink struct {
	recordingSink
	mu     sync.Mutex
	events []AuditEvent
}

func (s *eventSink) Record(_ context.Context, ev AuditEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, ev)
	return nil
}

func (s *eventSink) decisions() []AuditEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []AuditEvent
	for _, ev := range s.events {
		if ev.Kind == "policy_decision" {
			out = append(out, ev)
		}
	}
	return out
}

func joinWith(t *testing.T, out, member string, opts ...Option) *Node {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), member)
	if err := Join(ctx, dir, filepath.Join(out, rosterFile), filepath.Join(out, member)); err != nil {
		t.Fatal(err)
	}
	n, err := Open(ctx, dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func defaultBundle(t *testing.T) *policy.Bundle {
	t.Helper()
	b, err := policy.Default()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// policyAssertRequest is an FR referral of incitement, actionable in the EU
// but not in the US, open to onward transfer, with an expiry.
func policyAssertRequest(url string) AssertRequest {
	req := baseRequest()
	req.URL, req.TLP, req.Onward = url, record.TLPGreen, record.OnwardGranted
	req.Expires = time.Now().Add(30 * 24 * time.Hour)
	return req
}

func TestCedarShareDecidesPerRecordAndPeer(t *testing.T) {
	out, _ := genesis(t, 1, 3, MemberSpec{Country: "FR", Org: "pharos"}, MemberSpec{Country: "DE", Org: "bka"}, MemberSpec{Country: "US", Org: "fbi"})
	sink := &eventSink{}
	fr := joinWith(t, out, "FR-pharos", WithPolicy(defaultBundle(t)), WithAuditSink(sink))
	de, us := join(t, out, "DE-bka"), join(t, out, "US-fbi")
	ctx := context.Background()
	open, err := fr.Assert(ctx, policyAssertRequest("http://open.example/"))
	if err != nil {
		t.Fatal(err)
	}
	noExpiry := policyAssertRequest("http://forever.example/")
	noExpiry.Expires = time.Time{}
	forever, err := fr.Assert(ctx, noExpiry)
	if err != nil {
		t.Fatal(err)
	}
	shared := func(to *Node) []string {
		var got []string
		for _, b := range bundleFor(t, fr, to) {
			for _, r := range b.Records {
				switch r.Ref.CID {
				case open.Assertion:
					got = append(got, "open")
				case forever.Assertion:
					got = append(got, "forever")
				}
			}
		}
		return got
	}
	if got := shared(de); !slices.Equal(got, []string{"open"}) {
		t.Fatalf("FR shares %v with DE; want only the assertion with an expiry", got)
	}
	if got := shared(us); len(got) != 0 {
		t.Fatalf("FR shares %v with US; want nothing (incitement is not actionable in the US)", got)
	}
	shared(us) // asked again: cached, not reported twice
	// The reconciliation path decides the same.
	if bs, err := fr.SyncBundles(us.Agency(), []cid.Cid{open.Assertion}); err != nil || len(bs) != 0 {
		t.Fatalf("SyncBundles to US = %d bundles, %v; want none", len(bs), err)
	}
	evs := sink.decisions()
	// Denied: forever to DE and US, open to US.
	if len(evs) != 3 {
		t.Fatalf("%d policy_decision events, want 3: %+v", len(evs), evs)
	}
	var sawUS bool
	for _, ev := range evs {
		f := ev.Fields
		if f["action"] != "share" || f["decision"] != policy.Deny || f["bundle_hash"] != fr.Policy().Hash() || len(f["inputs_digest"]) != 64 {
			t.Fatalf("bad event %+v", f)
		}
		if f["record"] == open.Assertion.String() {
			sawUS = f["country"] == "US" && slices.Contains(strings.Split(f["bars"], ","), "US-minimisation")
		}
	}
	if !sawUS {
		t.Fatalf("no denial of the share with US under US-minimisation: %+v", evs)
	}
}

func TestCedarAcceptReCheck(t *testing.T) {
	out, _ := genesis(t, 1, 3, MemberSpec{Country: "FR", Org: "pharos"}, MemberSpec{Country: "DE", Org: "bka"}, MemberSpec{Country: "US", Org: "fbi"})
	fr := join(t, out, "FR-pharos") // baseline only: it sends what Cedar forbids
	sink := &eventSink{}
	de := joinWith(t, out, "DE-bka", WithPolicy(defaultBundle(t)), WithAuditSink(sink))
	ctx := context.Background()
	noExpiry := policyAssertRequest("http://forever.example/")
	noExpiry.Expires = time.Time{}
	if _, err := fr.Assert(ctx, noExpiry); err != nil {
		t.Fatal(err)
	}
	bundles := bundleFor(t, fr, de)
	if len(bundles) != 1 {
		t.Fatalf("%d bundles", len(bundles))
	}
	_, err := de.DeliverBundle(ctx, fr.Agency(), bundles[0])
	if !errors.Is(err, ErrPolicyViolation) || !errors.Is(err, ErrRejected) {
		t.Fatalf("DeliverBundle = %v; want a policy violation", err)
	}
	if c := de.SyncCounters(); c.PolicyViolations != 1 || c.BundlesRejected != 1 {
		t.Fatalf("counters %+v", c)
	}
	evs := sink.decisions()
	if len(evs) != 1 || evs[0].Fields["action"] != "accept" || evs[0].Fields["country"] != "FR" ||
		!slices.Contains(strings.Split(evs[0].Fields["bars"], ","), "fed-time-limit-required") {
		t.Fatalf("events %+v", evs)
	}
	// With an expiry DE accepts it.
	if _, err := fr.Assert(ctx, policyAssertRequest("http://open.example/")); err != nil {
		t.Fatal(err)
	}
	var ok bool
	for _, b := range bundleFor(t, fr, de) {
		if _, err := de.DeliverBundle(ctx, fr.Agency(), b); err == nil {
			ok = true
		}
	}
	if !ok {
		t.Fatal("DE refused an assertion the policy lets it accept")
	}
}

func TestLookupExplainsActions(t *testing.T) {
	out, _ := genesis(t, 1, 1, MemberSpec{Country: "FR", Org: "pharos"})
	fr := joinWith(t, out, "FR-pharos", WithPolicy(defaultBundle(t)))
	ctx := context.Background()
	if _, err := fr.Assert(ctx, policyAssertRequest("http://open.example/")); err != nil {
		t.Fatal(err)
	}
	res := mustLookup(t, fr, "http://open.example/")
	if len(res.Matches) != 1 || len(res.Matches[0].Assertions) != 1 {
		t.Fatalf("matches %+v", res.Matches)
	}
	acts := res.Matches[0].Assertions[0].Actions
	if len(acts) != len(LookupActions()) {
		t.Fatalf("actions %+v", acts)
	}
	for _, a := range LookupActions() {
		v := acts[a]
		// No human has reviewed the match yet: no measure may rest on it.
		if v.Allowed || v.Decision != policy.Deny || !slices.Contains(v.Bars, "fed-act-human-review") {
			t.Fatalf("%s: %+v", a, v)
		}
	}
}

func TestLookupWithoutPolicyHasNoActions(t *testing.T) {
	n, _, _, _ := newTestNode(t, "FR")
	if _, err := n.Assert(context.Background(), policyAssertRequest("http://open.example/")); err != nil {
		t.Fatal(err)
	}
	res := mustLookup(t, n, "http://open.example/")
	if len(res.Matches) != 1 || res.Matches[0].Assertions[0].Actions != nil {
		t.Fatalf("matches %+v", res.Matches)
	}
}
