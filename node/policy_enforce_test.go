package node

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/policy"
	"github.com/vigie-project/vigie/protocol/record"
)

// erasures returns the "erasure" events the sink received.
func (s *eventSink) erasures() []AuditEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []AuditEvent
	for _, ev := range s.events {
		if ev.Kind == "erasure" {
			out = append(out, ev)
		}
	}
	return out
}

// reopen closes n and opens its folder again with opts.
func reopen(t *testing.T, n *Node, opts ...Option) *Node {
	t.Helper()
	dir := n.dir
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	m, err := Open(context.Background(), dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// openUnmanaged joins member without registering a cleanup, for reopen.
func openUnmanaged(t *testing.T, out, member string) *Node {
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
	return n
}

func isStored(t *testing.T, n *Node, c cid.Cid) bool {
	t.Helper()
	ok, err := n.Store().Has(c)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// TestSweepErasesWhatPolicyForbidsRetaining: DE received (without a
// policy) FR assertions without a time limit; with the default bundle the
// sweep erases them (fed-time-limit-required bars "retain"), in bounded
// steps, and keeps FR's assertion with an expiry and DE's own assertion.
func TestSweepErasesWhatPolicyForbidsRetaining(t *testing.T) {
	out, _ := genesis(t, 1, 2, MemberSpec{Country: "FR", Org: "pharos"}, MemberSpec{Country: "DE", Org: "bka"})
	fr := join(t, out, "FR-pharos") // baseline only: it sends what Cedar forbids
	de := openUnmanaged(t, out, "DE-bka")
	ctx := context.Background()
	var forever []cid.Cid
	for _, u := range []string{"http://forever.example/a", "http://forever.example/b"} {
		req := policyAssertRequest(u)
		req.Expires = time.Time{}
		res, err := fr.Assert(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		forever = append(forever, res.Assertion)
	}
	open, err := fr.Assert(ctx, policyAssertRequest("http://open.example/"))
	if err != nil {
		t.Fatal(err)
	}
	ownReq := policyAssertRequest("http://own.example/")
	ownReq.Expires = time.Time{}
	own, err := de.Assert(ctx, ownReq)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bundleFor(t, fr, de) {
		if _, err := de.DeliverBundle(ctx, fr.Agency(), b); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range append([]cid.Cid{open.Assertion}, forever...) {
		if !isStored(t, de, c) {
			t.Fatalf("DE did not store %s", c)
		}
	}

	// One erasure per sweep, read one log entry per page.
	sink := &eventSink{}
	de = reopen(t, de, WithPolicy(defaultBundle(t)), WithAuditSink(sink), withRetentionLimits(retentionLimits{page: 1, scan: 8192, erase: 1}))
	var counts []int
	for range 3 {
		n, err := de.Sweep(ctx)
		if err != nil {
			t.Fatal(err)
		}
		counts = append(counts, n)
	}
	if !slices.Equal(counts, []int{1, 1, 0}) {
		t.Fatalf("sweeps erased %v, want [1 1 0]", counts)
	}
	for _, c := range forever {
		if isStored(t, de, c) {
			t.Fatalf("%s (no time limit) is still stored", c)
		}
	}
	if !isStored(t, de, open.Assertion) || !isStored(t, de, own.Assertion) {
		t.Fatal("the sweep erased an assertion DE may retain, or DE's own")
	}
	ers := sink.erasures()
	if len(ers) != 2 {
		t.Fatalf("%d erasure events, want 2: %+v", len(ers), ers)
	}
	for i, ev := range ers {
		if ev.Fields["reason"] != "retention not permitted: fed-time-limit-required" || ev.Fields["count"] != "1" ||
			ev.Fields["records"] != forever[i].String() {
			t.Fatalf("erasure %d: %+v", i, ev.Fields)
		}
	}
	evs := sink.decisions()
	if len(evs) != 2 {
		t.Fatalf("%d policy_decision events, want 2: %+v", len(evs), evs)
	}
	for _, ev := range evs {
		f := ev.Fields
		if f["action"] != "retain" || f["decision"] != policy.Deny || f["country"] != "FR" ||
			!slices.Contains(strings.Split(f["bars"], ","), "fed-time-limit-required") {
			t.Fatalf("bad event %+v", f)
		}
	}
}

// TestSweepWithoutPolicyKeepsEverything: without WithPolicy the sweep
// only erases expired assertions.
func TestSweepWithoutPolicyKeepsEverything(t *testing.T) {
	out, _ := genesis(t, 1, 1, MemberSpec{Country: "FR", Org: "pharos"}, MemberSpec{Country: "DE", Org: "bka"})
	fr, de := join(t, out, "FR-pharos"), join(t, out, "DE-bka")
	ctx := context.Background()
	req := policyAssertRequest("http://forever.example/")
	req.Expires = time.Time{}
	res, err := fr.Assert(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bundleFor(t, fr, de) {
		if _, err := de.DeliverBundle(ctx, fr.Agency(), b); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := de.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("Sweep = %d, %v; want 0", n, err)
	}
	if !isStored(t, de, res.Assertion) {
		t.Fatal("erased without a policy")
	}
}

// retractForbidden is a bundle that grounds "retract" and bars it for
// referrals.
func retractForbidden(t *testing.T) *policy.Bundle {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "baseline"), 0o755); err != nil {
		t.Fatal(err)
	}
	src := `@id("fix-retract-ground")
@cite("test fixture")
@owner("federation")
permit (principal, action == Vigie::Action::"retract", resource);

@id("fix-retract-bar")
@cite("test fixture")
@owner("federation")
forbid (principal, action == Vigie::Action::"retract", resource)
when { resource.legal_status == "referral" };
`
	if err := os.WriteFile(filepath.Join(dir, "baseline", "retract.cedar"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := policy.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRetractAsksPolicy(t *testing.T) {
	out, _ := genesis(t, 1, 1, MemberSpec{Country: "FR", Org: "pharos"})
	ctx := context.Background()

	// The default bundle lets the originator withdraw its assertion.
	fr := joinWith(t, out, "FR-pharos", WithPolicy(defaultBundle(t)))
	res, err := fr.Assert(ctx, policyAssertRequest("http://open.example/"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fr.Retract(ctx, RetractRequest{Assertion: res.Assertion, Reason: record.ReasonIncorrect}); err != nil {
		t.Fatalf("Retract under the default bundle: %v", err)
	}

	// A bundle that bars it refuses, naming the bar, and logs the decision.
	sink := &eventSink{}
	fr = reopen(t, fr, WithPolicy(retractForbidden(t)), WithAuditSink(sink))
	res, err = fr.Assert(ctx, policyAssertRequest("http://other.example/"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = fr.Retract(ctx, RetractRequest{Assertion: res.Assertion, Reason: record.ReasonIncorrect})
	if !errors.Is(err, ErrNotPermitted) || !strings.Contains(err.Error(), "fix-retract-bar") {
		t.Fatalf("Retract = %v; want ErrNotPermitted naming fix-retract-bar", err)
	}
	evs := sink.decisions()
	if len(evs) != 1 || evs[0].Fields["action"] != "retract" || evs[0].Fields["decision"] != policy.Deny ||
		evs[0].Fields["record"] != res.Assertion.String() || evs[0].Fields["bars"] != "fix-retract-bar" {
		t.Fatalf("events %+v", evs)
	}
	if r, err := fr.retractionOf(res.Assertion, fr.Agency()); err != nil || r != nil {
		t.Fatalf("retraction %+v, %v; want none committed", r, err)
	}
}

func TestLookupAsksQuery(t *testing.T) {
	// No pack gives JP a ground to query: no legal basis.
	out, _ := genesis(t, 1, 2, MemberSpec{Country: "JP", Org: "npa"}, MemberSpec{Country: "FR", Org: "pharos"})
	sink := &eventSink{}
	jp := joinWith(t, out, "JP-npa", WithPolicy(defaultBundle(t)), WithAuditSink(sink))
	_, err := jp.Lookup(context.Background(), LookupRequest{URL: "http://open.example/", Purpose: "investigation 42", Requester: "officer-7"})
	if !errors.Is(err, ErrNotPermitted) || !strings.Contains(err.Error(), "no legal basis") {
		t.Fatalf("Lookup = %v; want ErrNotPermitted, no legal basis", err)
	}
	if len(sink.seen) != 0 {
		t.Fatalf("a refused look-up was recorded as a consultation: %+v", sink.seen)
	}
	evs := sink.decisions()
	if len(evs) != 1 || evs[0].Actor != "officer-7" || evs[0].Fields["action"] != "query" ||
		evs[0].Fields["decision"] != policy.Deny || evs[0].Fields["country"] != "JP" || evs[0].Fields["record"] != "" {
		t.Fatalf("events %+v", evs)
	}

	// FR has a ground: the look-up runs and logs no decision.
	sink = &eventSink{}
	fr := joinWith(t, out, "FR-pharos", WithPolicy(defaultBundle(t)), WithAuditSink(sink))
	if _, err := fr.Lookup(context.Background(), LookupRequest{URL: "http://open.example/", Purpose: "p"}); err != nil {
		t.Fatal(err)
	}
	if evs := sink.decisions(); len(evs) != 0 {
		t.Fatalf("events %+v", evs)
	}
}

// The decision cache follows the date and the bundle, and a prediction
// (the reconciliation domain, read with the date and bundle it started
// with) never throws away the enforcing paths' newer decisions.
func TestDecisionCacheDatesAndBundles(t *testing.T) {
	var c decisionCache
	k := func(action string) decisionKey { return decisionKey{action: action} }
	has := func(action, day, bundle string) bool {
		_, ok := c.get(k(action), day, bundle)
		return ok
	}
	c.put(k("share"), "2026-11-23", "b1", cachedDecision{allowed: true}, false)
	c.put(k("stale"), "2026-11-22", "b1", cachedDecision{}, true)
	c.put(k("other-bundle"), "2026-11-23", "b0", cachedDecision{}, true)
	if !has("share", "2026-11-23", "b1") || has("stale", "2026-11-22", "b1") || has("other-bundle", "2026-11-23", "b0") {
		t.Fatal("a prediction of an older day or another bundle replaced the cache")
	}
	c.put(k("accept"), "2026-11-24", "b1", cachedDecision{}, true)
	if !has("accept", "2026-11-24", "b1") || has("share", "2026-11-24", "b1") {
		t.Fatal("a prediction of a later day did not start that day's cache")
	}
	// An enforcing path follows the node's clock, even backwards, and a
	// new bundle.
	c.put(k("share"), "2026-11-23", "b2", cachedDecision{}, false)
	if !has("share", "2026-11-23", "b2") || has("accept", "2026-11-24", "b1") {
		t.Fatal("an enforcing decision did not replace the cache of another day and bundle")
	}
}

// The sender predicts the recipient's "accept" with the bundle every member
// runs and withholds what the recipient would have to refuse, rather than
// make it reject a whole bundle and count an incident.
func TestShareWithholdsWhatTheRecipientMustRefuse(t *testing.T) {
	dir := t.TempDir()
	for file, src := range map[string]string{
		"baseline/flows.cedar": `@id("fix-flow-ground")
@cite("test fixture")
@owner("federation")
permit (principal, action in [Vigie::Action::"share", Vigie::Action::"accept"], resource);
`,
		"countries/DE.cedar": `@id("DE-fix-refuse-FR")
@cite("test fixture")
@owner("DE")
forbid (principal, action == Vigie::Action::"accept", resource)
when { principal.country == "DE" && context.sender == "FR" };
`,
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, file)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, file), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := policy.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := genesis(t, 1, 3, MemberSpec{Country: "FR", Org: "pharos"}, MemberSpec{Country: "DE", Org: "bka"}, MemberSpec{Country: "IT", Org: "polpost"})
	sink := &eventSink{}
	fr := joinWith(t, out, "FR-pharos", WithPolicy(b), WithAuditSink(sink))
	req := baseRequest()
	req.URL = "http://evil.example/withheld.html"
	res, err := fr.Assert(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _, err := fr.Store().Get(res.Assertion)
	if err != nil {
		t.Fatal(err)
	}
	_, f, err := decodeEntry(raw, res.Assertion)
	if err != nil {
		t.Fatal(err)
	}
	de, it := record.Agency{Country: "DE", Org: "bka"}, record.Agency{Country: "IT", Org: "polpost"}
	if !fr.policyFlow("share", de, res.Assertion, f) {
		t.Fatal("the fixture should let FR share with DE")
	}
	if fr.MayShareWith(de, res.Assertion, f) {
		t.Fatal("FR sends DE a record DE must refuse")
	}
	if !fr.MayShareWith(it, res.Assertion, f) {
		t.Fatal("FR withholds from IT a record IT may accept")
	}
	evs := sink.decisions()
	if len(evs) != 1 || evs[0].Fields["action"] != "accept" || evs[0].Fields["bars"] != "DE-fix-refuse-FR" {
		t.Fatalf("events %+v", evs)
	}
}
