package node

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/node/store"
	"github.com/vigie-project/vigie/policy"
	"github.com/vigie-project/vigie/protocol/record"
)

// ErrNotPermitted means the Cedar policy (WithPolicy) did not allow the
// operation; the message names the bars that fired, or says that no legal
// basis applied.
var ErrNotPermitted = errors.New("node: not permitted by the legal policy")

// WithPolicy has the node enforce the Cedar policy bundle b in addition to
// the federation's baseline (MayHold): "share" for every assertion sent to
// a peer (push, feed and reconciliation), "accept" as a re-check of every
// assertion a peer delivers, "query" before every look-up, the act_*
// decisions shown in look-ups, "retain" in the expiry sweep for other
// agencies' assertions and "retract" before a withdrawal. Without it the
// node applies the baseline only.
//
// "disclose" is not asked: the node never discloses plaintext today (a
// look-up answers with indicators and assertions, never a URL); whoever
// adds a plaintext disclosure must ask it.
func WithPolicy(b *policy.Bundle) Option { return func(o *options) { o.policy = b } }

// Policy returns the Cedar bundle the node enforces, nil without WithPolicy.
func (n *Node) Policy() *policy.Bundle { return n.policy.Load() }

// LookupActions returns the actions a look-up explains, per assertion.
func LookupActions() []string { return []string{"act_refer", "act_remove", "act_block", "act_deref"} }

// ActionView is what the requester's own country may do with an
// assertion, as the Cedar policy decides it.
type ActionView struct {
	Allowed  bool     `json:"allowed"`
	Decision string   `json:"decision"` // allow, deny or indeterminate
	Grounds  []string `json:"grounds"`  // ids of the grounds relied on
	Bars     []string `json:"bars"`     // ids of the bars that fired
}

// policyRequest is the Cedar request about the assertion with facts f:
// principal is the acting agency (its org type from the roster), sender
// and recipient the countries of the flow.
func (n *Node) policyRequest(action string, principal record.Agency, sender, recipient string, f *RecordFacts, now time.Time, purpose string) policy.Request {
	req := policy.Request{
		Action: action, Sender: sender, Recipient: recipient, Originator: f.Origin.Country,
		Country: principal.Country, Org: principal.Org,
		Date:       now.UTC().Format(time.DateOnly),
		Categories: stringsOf(f.Categories),
		TLP:        string(f.TLP), PAP: string(f.PAP),
		LegalStatus: legalStatusOf(f.LegalStatus), Scope: scopeOf(f.Expr),
		Handling: string(f.Handling), OrderRef: f.OrderRef, Purpose: purpose,
		SpecialCategory: slices.Contains(f.Flags, record.FlagSpecialCategory),
		Urgent:          slices.Contains(f.Flags, record.FlagImminentThreatToLife),
	}
	if m, ok := n.Roster().Member(principal); ok {
		req.OrgType = string(m.OrgType)
	}
	if f.Expires != 0 {
		req.Expires = time.Unix(int64(f.Expires), 0).UTC().Format(time.DateOnly)
	}
	if f.Onward == record.OnwardGranted && recipient != "" {
		// A general prior authorisation covers every recipient.
		req.OnwardOK = []string{recipient}
	}
	return req
}

func stringsOf[S ~string](xs []S) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return out
}

// legalStatusOf maps the record vocabulary onto the policy schema's.
func legalStatusOf(s record.LegalStatus) string {
	if s == record.StatusUnderScrutiny {
		return "tco_order_under_scrutiny"
	}
	return string(s)
}

// scopeOf maps an expression kind onto the policy schema's scope.
func scopeOf(k record.ExprKind) string {
	switch k {
	case record.ExprPrefix:
		return "prefix"
	case record.ExprHost:
		return "host"
	}
	return "url"
}

// InputsDigest is the hex SHA-256 of the canonical encoding of req: its
// normalised form as JSON (fields in declaration order, sets sorted), or
// of req as given if it does not normalise.
func InputsDigest(req policy.Request) string {
	if n, err := req.Normalize(); err == nil {
		req = n
	}
	b, _ := json.Marshal(req)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// decisionKey names one cached Cedar decision: an action on a record taken
// by the member principal (the sender of a share, the receiver of an
// accept) in a flow with the member peer (the other end). The principal is
// this node's agency except for the decisions the reconciliation domain
// takes on another member's behalf (Node.InSyncDomain).
type decisionKey struct {
	action    string
	record    cid.Cid
	principal record.Agency
	peer      record.Agency
}

// cachedDecision is a cached Cedar decision and whether a denial was
// reported to the audit sink: a decision the reconciliation domain took
// is cached unreported, and reported once an enforcing path (push, feed,
// fetch, delivery) relies on it.
type cachedDecision struct {
	allowed, reported bool
}

// decisionCache remembers Cedar decisions, since the engine asks about the
// same record and peer repeatedly. It is bounded (dropped whole when full)
// and dropped when the date or the bundle changes, as decisions depend on
// both.
//
// It also holds where the expiry sweep's retention scan resumes in the
// local log (node/sweep.go), as that scan is what fills it with "retain"
// decisions.
type decisionCache struct {
	mu     sync.Mutex
	day    string // YYYY-MM-DD
	bundle string // the bundle's hash
	m      map[decisionKey]cachedDecision

	retainFrom uint64 // next log index the retention scan reads
}

// retainCursor returns where the retention scan resumes.
func (c *decisionCache) retainCursor() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.retainFrom
}

// setRetainCursor records where the retention scan resumes.
func (c *decisionCache) setRetainCursor(from uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.retainFrom = from
}

const decisionCacheSize = 1 << 16

func (c *decisionCache) get(k decisionKey, day, bundle string) (cachedDecision, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.day != day || c.bundle != bundle {
		return cachedDecision{}, false
	}
	d, ok := c.m[k]
	return d, ok
}

// put caches d, decided on day under the bundle with that hash. A
// decision of another day or bundle than the cache's empties it first, as
// the date or the bundle changed; but a prediction (Node.InSyncDomain) only
// starts the cache of a later day, and is otherwise not cached: a sync set
// read across midnight or a bundle change, with the date and bundle it
// started with, would else empty the cache of the enforcing paths'
// decisions at every record, and they would empty it again.
func (c *decisionCache) put(k decisionKey, day, bundle string, d cachedDecision, prediction bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if prediction && c.m != nil && (c.day != day || c.bundle != bundle) && day <= c.day {
		return
	}
	if c.m == nil || c.day != day || c.bundle != bundle || len(c.m) >= decisionCacheSize {
		c.m, c.day, c.bundle = make(map[decisionKey]cachedDecision), day, bundle
	}
	c.m[k] = d
}

// policyFlow decides action on the record c with facts f between this node
// and the member peer (the recipient for share, the sender for accept), on
// the node's date. Without a bundle, or for anything but an assertion, it
// allows. A deny or an indeterminate decision is reported to the audit sink
// as a "policy_decision" event, once per action, record and peer while the
// decision is cached.
func (n *Node) policyFlow(action string, peer record.Agency, c cid.Cid, f *RecordFacts) bool {
	b := n.Policy()
	if b == nil || f == nil || f.Kind != store.KindAssertion {
		return true
	}
	return n.flowAllowed(b, action, n.agency, peer, c, f, dateOf(n.now()), true)
}

// decisionDate is the time a decision is taken at and its date, which the
// cache is keyed on: formatted once per sync set rather than once per
// cached look-up.
type decisionDate struct {
	now time.Time
	day string // now's UTC date, YYYY-MM-DD
}

func dateOf(now time.Time) decisionDate {
	return decisionDate{now: now, day: now.UTC().Format(time.DateOnly)}
}

// flowAllowed is the decision of the bundle b on action (share or accept)
// for the record c with facts f, taken by the member principal in a flow
// with the member peer on the date at: the principal sends to the peer for
// share, receives from it for accept. It is cached by record (unless c is
// undefined). With report, a deny or an indeterminate decision is reported
// as a "policy_decision" event unless it already was; without, it is not,
// as the caller only predicts the flow (Node.InSyncDomain) and enforces
// nothing.
func (n *Node) flowAllowed(b *policy.Bundle, action string, principal, peer record.Agency, c cid.Cid, f *RecordFacts, at decisionDate, report bool) bool {
	k := decisionKey{action: action, record: c, principal: principal, peer: peer}
	if c.Defined() {
		if d, ok := n.decisions.get(k, at.day, b.Hash()); ok && (d.allowed || d.reported || !report) {
			return d.allowed
		}
	}
	sender, recipient := principal.Country, peer.Country
	if action == "accept" {
		sender, recipient = peer.Country, principal.Country
	}
	req := n.policyRequest(action, principal, sender, recipient, f, at.now, "")
	d := b.Decide(req)
	allowed := d.Decision == policy.Allow
	reported := !allowed && report
	if reported {
		n.auditEvent(context.Background(), policyDecisionEvent(req, d, c, peer, f))
	}
	if c.Defined() {
		n.decisions.put(k, at.day, b.Hash(), cachedDecision{allowed: allowed, reported: reported}, !report)
	}
	return allowed
}

// policyDecisionEvent is the audit entry of one Cedar decision.
func policyDecisionEvent(req policy.Request, d policy.Decision, c cid.Cid, peer record.Agency, f *RecordFacts) AuditEvent {
	fields := map[string]string{
		"inputs_digest": InputsDigest(req), "bundle_hash": d.Bundle, "action": req.Action, "decision": d.Decision,
		"country": peer.Country,
	}
	if c.Defined() {
		fields["record"] = c.String()
	}
	var categories string
	if f != nil {
		categories = joinStrings(f.Categories)
	}
	for name, v := range map[string]string{
		"grounds": strings.Join(policy.IDs(d.Grounds), ","), "bars": strings.Join(policy.IDs(d.Bars), ","),
		"checked": strings.Join(policy.IDs(d.Checked), ","), "obligations": strings.Join(d.Obligations, ","),
		"category": categories, "legal_ground": strings.Join(policy.IDs(d.Grounds), ","),
	} {
		if v != "" {
			fields[name] = truncateList(v, 4096)
		}
	}
	return AuditEvent{Kind: "policy_decision", Actor: "local", Fields: fields}
}

// truncateList cuts a comma-separated list to at most max bytes, at a
// comma, marking the cut with ",...".
func truncateList(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := strings.LastIndexByte(s[:max-4], ',')
	if cut < 0 {
		cut = max - 4
	}
	return s[:cut] + ",..."
}

// MayShareWith reports whether the node may send the record c with facts f
// to the member to: the baseline (MayHold) and, with a bundle, the Cedar
// "share" decision for assertions and the recipient's "accept", which the
// node predicts with the bundle every member runs: sending what the
// recipient must refuse would only make it reject the whole bundle and
// count an incident. The recipient still decides "accept" itself.
func (n *Node) MayShareWith(to record.Agency, c cid.Cid, f *RecordFacts) bool {
	if !MayHold(n.agency, to, f) {
		return false
	}
	b := n.Policy()
	if b == nil || f == nil || f.Kind != store.KindAssertion {
		return true
	}
	// The hop the reconciliation domain predicts, enforced: a predicted
	// refusal of the recipient is reported like a denied share, as it
	// withholds the record.
	return n.hop(b, n.agency, to, c, f, dateOf(n.now()), true)
}

// ShareGrounds returns the ids of the grounds of the (allowed) Cedar
// "share" decision for sending the record with facts f to the member to,
// comma-separated; "" without WithPolicy or for anything but an assertion.
func (n *Node) ShareGrounds(to record.Agency, f *RecordFacts) string {
	b := n.Policy()
	if b == nil || f == nil || f.Kind != store.KindAssertion {
		return ""
	}
	d := b.Decide(n.policyRequest("share", n.agency, n.agency.Country, to.Country, f, n.now(), ""))
	return strings.Join(policy.IDs(d.Grounds), ",")
}

// actionsFor explains, for the look-up's requester (this node's agency),
// what its own country may do with an assertion.
func (n *Node) actionsFor(a *record.Assertion, now time.Time, purpose string) map[string]ActionView {
	b := n.Policy()
	if b == nil {
		return nil
	}
	f := assertionFacts(a)
	cc := n.agency.Country
	out := make(map[string]ActionView, len(LookupActions()))
	for _, action := range LookupActions() {
		d := b.Decide(n.policyRequest(action, n.agency, cc, cc, f, now, purpose))
		out[action] = ActionView{Allowed: d.Decision == policy.Allow, Decision: d.Decision, Grounds: policy.IDs(d.Grounds), Bars: policy.IDs(d.Bars)}
	}
	return out
}

// assertionFacts are the facts the Cedar policy decides on for a.
func assertionFacts(a *record.Assertion) *RecordFacts {
	return &RecordFacts{Kind: store.KindAssertion, Origin: a.Origin, TLP: a.TLP, Onward: a.Onward, Categories: a.Categories,
		PAP: a.PAP, LegalStatus: a.LegalStatus, Expr: a.Expr, Handling: a.Handling, OrderRef: a.OrderRef, Expires: a.Expires, Flags: a.Flags}
}

// refusal says why decision d does not allow: the bars that fired, the
// evaluation errors of an indeterminate decision, or no legal basis.
func refusal(d policy.Decision) string {
	switch {
	case len(d.Bars) > 0:
		return strings.Join(policy.IDs(d.Bars), ",")
	case d.Decision == policy.Indeterminate:
		return "indeterminate: " + strings.Join(d.Errors, "; ")
	}
	return "no legal basis"
}

// refusalDetail is refusal with, for a denial without a legal basis, the
// grounds checked in vain, for an error a person reads to find what the
// law would need.
func refusalDetail(d policy.Decision) string {
	r := refusal(d)
	if r == "no legal basis" && len(d.Checked) > 0 {
		r += "; checked: " + truncateList(strings.Join(policy.IDs(d.Checked), ","), 1024)
	}
	return r
}

// policyQuery asks the Cedar "query" decision before a look-up: may this
// node's agency consult the indicators for purpose? It is asked before any
// record is known, so the resource is empty (no originator, categories or
// markings). A deny or an indeterminate decision is reported as a
// "policy_decision" event (actor: the requester) and refuses the look-up
// with ErrNotPermitted. Without a bundle it allows.
func (n *Node) policyQuery(ctx context.Context, requester, purpose string) error {
	b := n.Policy()
	if b == nil {
		return nil
	}
	cc := n.agency.Country
	req := n.policyRequest("query", n.agency, cc, cc, &RecordFacts{Kind: store.KindAssertion}, n.now(), purpose)
	d := b.Decide(req)
	if d.Decision == policy.Allow {
		return nil
	}
	ev := policyDecisionEvent(req, d, cid.Undef, n.agency, nil)
	if requester != "" {
		ev.Actor = requester
	}
	n.auditEvent(ctx, ev)
	return fmt.Errorf("%w: %s may not query the indicators: %s", ErrNotPermitted, cc, refusal(d))
}

// policyRetract asks the Cedar "retract" decision for this node's agency
// withdrawing its own assertion a (CID c): the originator is a's origin,
// which the caller has checked is this agency. A deny or an indeterminate
// decision is reported as a "policy_decision" event and refuses the
// retraction with ErrNotPermitted. Without a bundle it allows.
func (n *Node) policyRetract(ctx context.Context, c cid.Cid, a *record.Assertion) error {
	b := n.Policy()
	if b == nil {
		return nil
	}
	cc := n.agency.Country
	f := assertionFacts(a)
	req := n.policyRequest("retract", n.agency, cc, cc, f, n.now(), "")
	d := b.Decide(req)
	if d.Decision == policy.Allow {
		return nil
	}
	n.auditEvent(ctx, policyDecisionEvent(req, d, c, n.agency, f))
	return fmt.Errorf("%w: %s may not retract assertion %s: %s", ErrNotPermitted, cc, c, refusal(d))
}

// policyRetain asks the Cedar "retain" decision for this node's agency
// keeping the stored assertion c with facts f, made by another agency, on
// the node's date: erase is true for a deny only (an indeterminate decision
// never erases). A deny or an indeterminate decision is reported as a
// "policy_decision" event; reason is "retention not permitted: " and the
// bars, or "no legal basis". Decisions that keep the record are cached for
// the day.
func (n *Node) policyRetain(ctx context.Context, c cid.Cid, f *RecordFacts) (erase bool, reason string) {
	b := n.Policy()
	if b == nil {
		return false, ""
	}
	now := n.now()
	day := now.UTC().Format(time.DateOnly)
	k := decisionKey{action: "retain", record: c, principal: n.agency, peer: n.agency}
	if _, ok := n.decisions.get(k, day, b.Hash()); ok {
		return false, ""
	}
	req := n.policyRequest("retain", n.agency, f.Origin.Country, n.agency.Country, f, now, "")
	d := b.Decide(req)
	if d.Decision == policy.Allow {
		n.decisions.put(k, day, b.Hash(), cachedDecision{allowed: true}, false)
		return false, ""
	}
	n.auditEvent(ctx, policyDecisionEvent(req, d, c, f.Origin, f))
	if d.Decision != policy.Deny {
		n.decisions.put(k, day, b.Hash(), cachedDecision{reported: true}, false)
		return false, ""
	}
	return true, "retention not permitted: " + refusal(d)
}
