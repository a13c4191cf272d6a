package main

import (
	"time"

	"github.com/vigie-project/vigie/node"
)

// The JSON shape of `vigie lookup --json`, one object per URL.
type lookupOut struct {
	Input       string     `json:"input"`
	Canonical   string     `json:"canonical"`
	Expressions int        `json:"expressions_checked"`
	Live        bool       `json:"live"`
	Matches     []matchOut `json:"matches"`
}

type matchOut struct {
	Indicator  string         `json:"indicator"`
	Expression string         `json:"expression"`
	Kind       string         `json:"kind"`
	Live       bool           `json:"live"`
	Disputed   bool           `json:"disputed"`
	Assertions []assertionOut `json:"assertions"`
}

type assertionOut struct {
	CID          string         `json:"cid"`
	Origin       string         `json:"origin"`
	Categories   []string       `json:"categories"`
	Flags        []string       `json:"flags,omitempty"`
	LegalStatus  string         `json:"legal_status"`
	LegalBasis   []string       `json:"legal_basis,omitempty"`
	OrderRef     string         `json:"order_ref,omitempty"`
	TLP          string         `json:"tlp"`
	PAP          string         `json:"pap"`
	Handling     string         `json:"handling,omitempty"`
	HandlingNote string         `json:"handling_note,omitempty"`
	SourceEval   string         `json:"source_eval"`
	InfoEval     string         `json:"info_eval"`
	Onward       string         `json:"onward"`
	Created      string         `json:"created"`
	Expires      string         `json:"expires,omitempty"`
	ReviewDue    string         `json:"review_due,omitempty"`
	Live         bool           `json:"live"`
	Expired      bool           `json:"expired"`
	Retraction   *retractionOut `json:"retraction,omitempty"`
	// Actions: what the requester's country may do, when the node
	// enforces a Cedar policy bundle.
	Actions map[string]node.ActionView `json:"actions,omitempty"`
}

type retractionOut struct {
	CID    string `json:"cid"`
	Reason string `json:"reason"`
	Note   string `json:"note,omitempty"`
	Time   string `json:"time"`
}

func lookupJSON(input string, res *node.LookupResult) lookupOut {
	out := lookupOut{Input: input, Canonical: res.Canonical, Expressions: res.Expressions, Live: res.Live(), Matches: []matchOut{}}
	for _, m := range res.Matches {
		mo := matchOut{Indicator: m.Indicator.String(), Expression: m.Expression, Kind: string(m.Kind), Live: m.Live, Disputed: m.Disputed}
		for _, a := range m.Assertions {
			mo.Assertions = append(mo.Assertions, assertionJSON(a))
		}
		out.Matches = append(out.Matches, mo)
	}
	return out
}

func assertionJSON(a node.AssertionView) assertionOut {
	o := assertionOut{
		CID: a.CID.String(), Origin: a.Origin.String(),
		Categories: stringsOf(a.Categories), Flags: stringsOf(a.Flags),
		LegalStatus: string(a.LegalStatus), LegalBasis: a.LegalBasis, OrderRef: a.OrderRef,
		TLP: string(a.TLP), PAP: string(a.PAP), Handling: string(a.Handling), HandlingNote: a.HandlingNote,
		SourceEval: string(a.SourceEval), InfoEval: string(a.InfoEval), Onward: string(a.Onward),
		Created: unixDate(a.Created), Expires: unixDate(a.Expires), ReviewDue: unixDate(a.ReviewDue),
		Live: a.Live, Expired: a.Expired, Actions: a.Actions,
	}
	if r := a.Retraction; r != nil {
		o.Retraction = &retractionOut{CID: r.CID.String(), Reason: string(r.Reason), Note: r.Note, Time: r.Time.Format(time.RFC3339)}
	}
	return o
}

func stringsOf[S ~string](in []S) []string {
	if len(in) == 0 {
		return nil
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = string(s)
	}
	return out
}

func unixDate(u uint64) string {
	if u == 0 {
		return ""
	}
	return time.Unix(int64(u), 0).UTC().Format(time.RFC3339)
}
