package node

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/crypto/fedtoken"
	"github.com/vigie-project/vigie/protocol/issuance"
	"github.com/vigie-project/vigie/protocol/record"
	"github.com/vigie-project/vigie/protocol/urlcanon"
)

// AssertRequest is what an agency states about one URL or expression. Give
// exactly one of URL (its full canonical expression becomes the indicator)
// or Expression (an exact URL, a path prefix ending in "/" or a host
// followed by "/", in canonical form, without scheme).
type AssertRequest struct {
	URL        string
	Expression string

	Categories   []record.Category
	Flags        []record.Flag
	LegalStatus  record.LegalStatus
	LegalBasis   []string
	OrderRef     string
	TLP          record.TLP
	PAP          record.PAP
	Handling     record.Handling
	HandlingNote string
	SourceEval   record.SourceEval
	InfoEval     record.InfoEval
	Onward       record.OnwardConsent
	Expires      time.Time // zero: no expiry
	ReviewDue    time.Time // zero: none
}

// AssertResult says what became of one request.
type AssertResult struct {
	Indicator cid.Cid
	Assertion cid.Cid
	// Duplicate reports that this agency already had a live assertion on
	// the indicator; Assertion is that existing one and nothing was written.
	Duplicate bool
	// Err is set when the request was rejected; nothing was written for it.
	Err error
}

// Assert records one assertion and returns once it is durable.
func (n *Node) Assert(ctx context.Context, req AssertRequest) (AssertResult, error) {
	res, err := n.AssertMany(ctx, []AssertRequest{req})
	if err != nil {
		return AssertResult{}, err
	}
	return res[0], res[0].Err
}

// AssertMany records many assertions: invalid requests are rejected one by
// one (Err in their result), the rest are tokenised together, signed under
// one manifest per batch and written in one durable store batch. The
// returned error is for failures that stop the whole call (tokenisation,
// storage); nothing of the call is then acknowledged.
func (n *Node) AssertMany(ctx context.Context, reqs []AssertRequest) ([]AssertResult, error) {
	results := make([]AssertResult, len(reqs))
	drafts := make([]*draft, 0, len(reqs))
	for i := range reqs {
		d, err := n.draftAssertion(&reqs[i])
		if err != nil {
			results[i].Err = err
			continue
		}
		d.index = i
		drafts = append(drafts, d)
	}
	if len(drafts) == 0 {
		return results, nil
	}
	if err := n.tokenise(ctx, drafts); err != nil {
		return nil, err
	}
	n.seqMu.Lock()
	defer n.seqMu.Unlock()
	fresh, err := n.dropDuplicates(drafts, results)
	if err != nil {
		return nil, err
	}
	if err := n.commitOwn(ctx, assertionsOf(fresh)); err != nil {
		return nil, err
	}
	for _, d := range fresh {
		results[d.index] = AssertResult{Indicator: d.a.Indicator, Assertion: d.cid}
	}
	return results, nil
}

// draft is an assertion on its way to the store.
type draft struct {
	index int
	expr  string
	a     record.Assertion
	cid   cid.Cid
}

func (n *Node) draftAssertion(req *AssertRequest) (*draft, error) {
	expr, err := expressionOf(req)
	if err != nil {
		return nil, err
	}
	now := n.now()
	a := record.Assertion{
		Expr:         exprKind(expr),
		Categories:   sortedUnique(req.Categories),
		Flags:        sortedUnique(req.Flags),
		LegalStatus:  req.LegalStatus,
		LegalBasis:   req.LegalBasis,
		OrderRef:     req.OrderRef,
		TLP:          req.TLP,
		PAP:          req.PAP,
		Handling:     req.Handling,
		HandlingNote: req.HandlingNote,
		SourceEval:   req.SourceEval,
		InfoEval:     req.InfoEval,
		Onward:       req.Onward,
		Created:      uint64(now.Unix()),
		Expires:      unixOrZero(req.Expires),
		ReviewDue:    unixOrZero(req.ReviewDue),
		Origin:       n.agency,
	}
	if !req.Expires.IsZero() && !req.Expires.After(now) {
		return nil, fmt.Errorf("%w: expiry %s is not in the future", ErrInvalidInput, req.Expires.UTC().Format(time.RFC3339))
	}
	// Validate everything but the two fields only known after tokenising
	// and sequencing, so a bad request costs no token.
	probe := a
	probe.Indicator = record.IndicatorCID(make([]byte, fedtoken.TokenSize))
	probe.Seq = 1
	if err := probe.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	return &draft{expr: expr, a: a}, nil
}

// expressionOf resolves a request to the one expression it asserts.
func expressionOf(req *AssertRequest) (string, error) {
	switch {
	case req.URL != "" && req.Expression != "":
		return "", fmt.Errorf("%w: give a URL or an expression, not both", ErrInvalidInput)
	case req.URL != "":
		u, err := urlcanon.Canonicalize(req.URL)
		if err != nil {
			return "", fmt.Errorf("%w: url: %v", ErrInvalidInput, err)
		}
		return u.Expressions()[0], nil
	case req.Expression != "":
		return CanonicalExpression(req.Expression)
	}
	return "", fmt.Errorf("%w: a URL or an expression is required", ErrInvalidInput)
}

// CanonicalExpression checks that expr is a lookup expression in canonical
// form ("evil.example/a/b.html", "evil.example/a/", "evil.example/") and
// returns it. A non-canonical one is refused rather than silently fixed, so
// that what an agency asserts is exactly what it typed.
func CanonicalExpression(expr string) (string, error) {
	if strings.Contains(expr, "://") {
		return "", fmt.Errorf("%w: an expression has no scheme; use a URL instead", ErrInvalidInput)
	}
	u, err := urlcanon.Canonicalize("http://" + expr)
	if err != nil {
		return "", fmt.Errorf("%w: expression: %v", ErrInvalidInput, err)
	}
	if canon := u.Expressions()[0]; canon != expr {
		return "", fmt.Errorf("%w: expression is not in canonical form (canonical: %q)", ErrInvalidInput, canon)
	}
	return expr, nil
}

func exprKind(expr string) record.ExprKind {
	switch urlcanon.KindOf(expr) {
	case urlcanon.KindHost:
		return record.ExprHost
	case urlcanon.KindPathPrefix:
		return record.ExprPrefix
	}
	return record.ExprExact
}

func (n *Node) tokenise(ctx context.Context, drafts []*draft) error {
	exprs := make([]string, len(drafts))
	for i, d := range drafts {
		exprs[i] = d.expr
	}
	use := issuance.UseAssert
	if len(drafts) > 1 {
		use = issuance.UseImport
	}
	tokens, err := n.tokens.Tokenize(ctx, use, exprs)
	if err != nil {
		return err
	}
	for i, d := range drafts {
		d.a.Indicator = record.IndicatorCID(tokens[i][:])
	}
	return nil
}

// dropDuplicates marks requests for indicators this agency already asserts
// (live) as duplicates, including repeats within the call.
func (n *Node) dropDuplicates(drafts []*draft, results []AssertResult) ([]*draft, error) {
	seen := make(map[cid.Cid]cid.Cid)
	fresh := drafts[:0]
	for _, d := range drafts {
		if prev, ok := seen[d.a.Indicator]; ok {
			results[d.index] = AssertResult{Indicator: d.a.Indicator, Assertion: prev, Duplicate: true}
			continue
		}
		existing, err := n.liveOwnAssertion(d.a.Indicator)
		if err != nil {
			return nil, err
		}
		if existing.Defined() {
			results[d.index] = AssertResult{Indicator: d.a.Indicator, Assertion: existing, Duplicate: true}
			seen[d.a.Indicator] = existing
			continue
		}
		seen[d.a.Indicator] = cid.Undef
		fresh = append(fresh, d)
	}
	return fresh, nil
}

// liveOwnAssertion finds this agency's live assertion on an indicator.
func (n *Node) liveOwnAssertion(indicator cid.Cid) (cid.Cid, error) {
	ids, err := n.store.AssertionsOf(indicator)
	if err != nil {
		return cid.Undef, err
	}
	now := n.now()
	for _, id := range ids {
		v, err := n.viewAssertion(id, now)
		if err != nil {
			return cid.Undef, err
		}
		if v.Origin == n.agency && v.Live {
			return id, nil
		}
	}
	return cid.Undef, nil
}

func assertionsOf(drafts []*draft) []ownRecord {
	out := make([]ownRecord, len(drafts))
	for i, d := range drafts {
		out[i] = ownRecord{assertion: &drafts[i].a, draft: d}
	}
	return out
}

func unixOrZero(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.Unix())
}

func sortedUnique[S ~string](in []S) []S {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}
