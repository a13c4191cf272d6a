package main

import (
	"github.com/vigie-project/vigie/node"
	"github.com/vigie-project/vigie/protocol/record"
)

// assertionSpec is one assertion as people write it: the flags of
// `vigie assert` and one line of `vigie import` (JSON Lines) fill the same
// struct, so both accept exactly the same fields and defaults.
type assertionSpec struct {
	URL          string   `json:"url,omitempty"`
	Expression   string   `json:"expression,omitempty"`
	Categories   []string `json:"categories"`
	Flags        []string `json:"flags,omitempty"`
	LegalStatus  string   `json:"legal_status"`
	LegalBasis   []string `json:"legal_basis,omitempty"`
	OrderRef     string   `json:"order_ref,omitempty"`
	TLP          string   `json:"tlp"`
	PAP          string   `json:"pap,omitempty"`
	Handling     string   `json:"handling,omitempty"`
	HandlingNote string   `json:"handling_note,omitempty"`
	SourceEval   string   `json:"source_eval,omitempty"`
	InfoEval     string   `json:"info_eval,omitempty"`
	Onward       string   `json:"onward,omitempty"`
	Expires      string   `json:"expires,omitempty"`
	ReviewDue    string   `json:"review_due,omitempty"`
}

// Defaults for the optional handling fields: the most protective choices
// (passive use only, nothing assessed, onward transfer only on request).
const (
	defaultPAP        = string(record.PAPAmber)
	defaultSourceEval = "X"
	defaultInfoEval   = "4"
	defaultOnward     = string(record.OnwardAsk)
)

// request turns the spec into a node request; the node validates the
// vocabularies and says which field is wrong.
func (s *assertionSpec) request() (node.AssertRequest, error) {
	expires, err := parseTime("expires", s.Expires)
	if err != nil {
		return node.AssertRequest{}, err
	}
	review, err := parseTime("review_due", s.ReviewDue)
	if err != nil {
		return node.AssertRequest{}, err
	}
	return node.AssertRequest{
		URL:          s.URL,
		Expression:   s.Expression,
		Categories:   typed[record.Category](s.Categories),
		Flags:        typed[record.Flag](s.Flags),
		LegalStatus:  record.LegalStatus(s.LegalStatus),
		LegalBasis:   s.LegalBasis,
		OrderRef:     s.OrderRef,
		TLP:          record.TLP(s.TLP),
		PAP:          record.PAP(orDefault(s.PAP, defaultPAP)),
		Handling:     record.Handling(s.Handling),
		HandlingNote: s.HandlingNote,
		SourceEval:   record.SourceEval(orDefault(s.SourceEval, defaultSourceEval)),
		InfoEval:     record.InfoEval(orDefault(s.InfoEval, defaultInfoEval)),
		Onward:       record.OnwardConsent(orDefault(s.Onward, defaultOnward)),
		Expires:      expires,
		ReviewDue:    review,
	}, nil
}

func typed[S ~string](in []string) []S {
	out := make([]S, len(in))
	for i, s := range in {
		out[i] = S(s)
	}
	return out
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
