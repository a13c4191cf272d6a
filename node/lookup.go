package node

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/protocol/issuance"
	"github.com/vigie-project/vigie/protocol/record"
	"github.com/vigie-project/vigie/protocol/urlcanon"
)

// MaxPurposeLen bounds the justification text of a look-up.
const MaxPurposeLen = 1024

// LookupRequest is a liaison officer's question about one URL.
type LookupRequest struct {
	URL       string
	Purpose   string // the justification, required (LED Art. 25)
	Requester string // who asks, as the caller authenticated them
}

// LookupResult lists every indicator that matched one of the URL's
// expressions, with all their assertions.
type LookupResult struct {
	Canonical   string
	Expressions int
	Matches     []Match
}

// Live reports whether any live assertion matched.
func (r *LookupResult) Live() bool {
	return slices.ContainsFunc(r.Matches, func(m Match) bool { return m.Live })
}

// Match is one indicator that one of the URL's expressions hit.
type Match struct {
	Indicator  cid.Cid
	Expression string // which expression of the looked-up URL matched
	Kind       record.ExprKind
	Assertions []AssertionView
	// Live reports that at least one assertion is neither retracted nor
	// expired.
	Live bool
	// Disputed reports that live assertions of different agencies disagree
	// on the legal status or the categories; they are shown side by side,
	// never merged.
	Disputed bool
}

// AssertionView is an assertion as a look-up shows it.
type AssertionView struct {
	CID cid.Cid
	record.Assertion
	Retraction *RetractionView // set if the origin withdrew it
	Expired    bool
	Live       bool
	// Actions says, with WithPolicy, what the requester's own country may
	// do with the assertion (LookupActions: act_refer, act_remove,
	// act_block, act_deref), before any human review.
	Actions map[string]ActionView `json:"actions,omitempty"`
}

// RetractionView says who withdrew an assertion, when and why.
type RetractionView struct {
	CID    cid.Cid
	Reason record.RetractionReason
	Note   string
	Time   time.Time
}

// Lookup tokenises every expression of the URL in one batch and returns the
// matching indicators. It refuses to run without a purpose, or (with
// WithPolicy) when the Cedar "query" decision does not let this agency
// consult for it (ErrNotPermitted), and reports the consultation (never
// the URL) to the audit sink before answering.
func (n *Node) Lookup(ctx context.Context, req LookupRequest) (*LookupResult, error) {
	purpose := strings.TrimSpace(req.Purpose)
	if purpose == "" {
		return nil, ErrMissingPurpose
	}
	if len(purpose) > MaxPurposeLen {
		return nil, fmt.Errorf("%w: purpose is %d bytes, at most %d", ErrInvalidInput, len(purpose), MaxPurposeLen)
	}
	u, err := urlcanon.Canonicalize(req.URL)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	exprs := u.Expressions()
	return n.lookupExpressions(ctx, req.Requester, purpose, u.String(), exprs)
}

// lookupExpressions answers a look-up of exprs. With WithPolicy the Cedar
// "query" decision comes first: a refusal is logged as a policy_decision
// entry and nothing is tokenised.
func (n *Node) lookupExpressions(ctx context.Context, requester, purpose, canonical string, exprs []string) (*LookupResult, error) {
	if err := n.policyQuery(ctx, requester, purpose); err != nil {
		return nil, err
	}
	tokens, err := n.tokens.Tokenize(ctx, issuance.UseLookup, exprs)
	if err != nil {
		return nil, err
	}
	indicators := make([]cid.Cid, len(tokens))
	for i := range tokens {
		indicators[i] = record.IndicatorCID(tokens[i][:])
	}
	res, err := n.match(indicators, exprs)
	if err != nil {
		return nil, err
	}
	res.Canonical = canonical
	if n.Policy() != nil {
		now := n.now()
		for i := range res.Matches {
			for j := range res.Matches[i].Assertions {
				a := &res.Matches[i].Assertions[j]
				a.Actions = n.actionsFor(&a.Assertion, now, purpose)
			}
		}
	}
	if err := n.audit.Consulted(ctx, consultationOf(requester, purpose, n.now(), res)); err != nil {
		return nil, fmt.Errorf("node: recording the consultation: %w", err)
	}
	return res, nil
}

// match is the local part of a look-up: from indicator CIDs to matches.
func (n *Node) match(indicators []cid.Cid, exprs []string) (*LookupResult, error) {
	found, err := n.store.LookupIndicators(indicators)
	if err != nil {
		return nil, err
	}
	res := &LookupResult{Expressions: len(exprs)}
	now := n.now()
	for i, ind := range indicators {
		ids := found[ind]
		if len(ids) == 0 {
			continue
		}
		m := Match{Indicator: ind, Expression: exprs[i], Kind: exprKind(exprs[i])}
		for _, id := range ids {
			v, err := n.viewAssertion(id, now)
			if err != nil {
				return nil, err
			}
			m.Assertions = append(m.Assertions, v)
			m.Live = m.Live || v.Live
		}
		m.Disputed = disputed(m.Assertions)
		res.Matches = append(res.Matches, m)
	}
	return res, nil
}

// viewAssertion loads an assertion with its retraction and expiry state.
func (n *Node) viewAssertion(id cid.Cid, now time.Time) (AssertionView, error) {
	b, _, err := n.store.Get(id)
	if err != nil {
		return AssertionView{}, err
	}
	a, err := record.DecodeAs[*record.Assertion](b)
	if err != nil {
		return AssertionView{}, fmt.Errorf("%w: stored assertion %s: %v", ErrCorruptNode, id, err)
	}
	v := AssertionView{CID: id, Assertion: *a}
	if v.Retraction, err = n.retractionOf(id, a.Origin); err != nil {
		return AssertionView{}, err
	}
	v.Expired = a.Expires != 0 && int64(a.Expires) <= now.Unix()
	v.Live = v.Retraction == nil && !v.Expired
	return v, nil
}

// retractionOf finds the withdrawal of an assertion by its own origin; a
// "retraction" by anyone else is not one.
func (n *Node) retractionOf(assertion cid.Cid, origin record.Agency) (*RetractionView, error) {
	ids, err := n.store.RetractionsOf(assertion)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		b, _, err := n.store.Get(id)
		if err != nil {
			return nil, err
		}
		r, err := record.DecodeAs[*record.Retraction](b)
		if err != nil {
			return nil, fmt.Errorf("%w: stored retraction %s: %v", ErrCorruptNode, id, err)
		}
		if r.Origin == origin {
			return &RetractionView{CID: id, Reason: r.Reason, Note: r.Note, Time: time.Unix(int64(r.Created), 0).UTC()}, nil
		}
	}
	return nil, nil
}

// disputed reports whether live assertions of different agencies disagree.
func disputed(views []AssertionView) bool {
	var first *AssertionView
	for i := range views {
		v := &views[i]
		if !v.Live {
			continue
		}
		if first == nil {
			first = v
			continue
		}
		if v.Origin != first.Origin && (v.LegalStatus != first.LegalStatus || !slices.Equal(v.Categories, first.Categories)) {
			return true
		}
	}
	return false
}

func consultationOf(requester, purpose string, now time.Time, res *LookupResult) Consultation {
	c := Consultation{Time: now, Requester: requester, Purpose: purpose, Expressions: res.Expressions}
	for _, m := range res.Matches {
		c.Indicators = append(c.Indicators, m.Indicator.String())
		for _, a := range m.Assertions {
			if a.Live {
				c.LiveMatches++
			}
		}
	}
	return c
}
