package policy

import (
	"fmt"
	mathbits "math/bits"
	"slices"
	"strings"

	"github.com/cedar-policy/cedar-go"
)

// Decision values.
const (
	Allow         = "allow"
	Deny          = "deny"
	Indeterminate = "indeterminate"
)

// Decision is an explained answer. The slices are never nil, so that the
// JSON form always has every key.
type Decision struct {
	Decision    string   `json:"decision"`
	Grounds     []Rule   `json:"grounds"`
	Bars        []Rule   `json:"bars"`
	Checked     []Rule   `json:"checked"`
	Obligations []string `json:"obligations"`
	Bundle      string   `json:"bundle"`
	Engine      string   `json:"engine"`
	Errors      []string `json:"errors,omitempty"`
	// Reason says in one sentence why, for people reading a denial: the
	// bars, or the absence of any legal basis and what was checked.
	Reason string `json:"reason,omitempty"`
}

// IDs returns the ids of rules.
func IDs(rules []Rule) []string {
	out := make([]string, len(rules))
	for i, r := range rules {
		out[i] = r.ID
	}
	return out
}

// Decide evaluates req against the policies in force on req.Date: allow iff
// at least one ground matched and no bar did; indeterminate if the request is
// malformed or any considered policy fails to evaluate.
func (b *Bundle) Decide(req Request) Decision {
	d := Decision{Grounds: []Rule{}, Bars: []Rule{}, Checked: []Rule{}, Obligations: []string{}, Bundle: b.hash, Engine: Engine}
	n, err := req.Normalize()
	if err != nil {
		d.Decision = Indeterminate
		d.Errors = []string{"request: " + err.Error()}
		return d
	}
	day, _ := ParseDay(n.Date)
	// The candidates: policies in force for this action that may apply to
	// a flow involving the acting agency's country, the sender, the
	// recipient or the originator (a country's policies cannot apply to
	// other flows: the lint proves it), in id order.
	ai := b.index[n.Action]
	var stack [16]uint64
	bits := stack[:0]
	bits = append(bits, ai.all...)
	for _, c := range [4]string{n.Country, n.Sender, n.Recipient, n.Originator} {
		if bs, ok := ai.byCountry[c]; ok {
			bitset(bits).or(bs)
		}
	}
	var pbuf, fbuf [64]*rule
	permits, forbids := ruleList(pbuf[:0]), ruleList(fbuf[:0])
	for w, word := range bits {
		for word != 0 {
			r := b.rules[w*64+mathbits.TrailingZeros64(word)]
			word &= word - 1
			switch {
			case !r.inForce(day):
			case r.ground:
				permits = append(permits, r)
			default:
				forbids = append(forbids, r)
			}
		}
	}

	creq, entities := n.cedarRequest()
	for _, set := range []ruleList{permits, forbids} {
		if len(set) == 0 {
			continue
		}
		_, diag := cedar.Authorize(set, entities, creq)
		for _, e := range diag.Errors {
			d.Errors = append(d.Errors, string(e.PolicyID)+": "+e.Message)
		}
		for _, reason := range diag.Reasons {
			r := b.byID[string(reason.PolicyID)]
			if r.ground {
				d.Grounds = append(d.Grounds, r.Rule)
			} else {
				d.Bars = append(d.Bars, r.Rule)
			}
		}
	}
	var obligations []string
	switch {
	case len(d.Errors) > 0:
		d.Decision = Indeterminate
	case len(d.Bars) > 0:
		d.Decision = Deny
		for _, bar := range d.Bars {
			obligations = append(obligations, b.byID[bar.ID].Obligations...)
		}
	case len(d.Grounds) > 0:
		d.Decision = Allow
		for _, g := range d.Grounds {
			obligations = append(obligations, b.byID[g.ID].Obligations...)
		}
	default:
		d.Decision = Deny
	}
	if d.Decision == Deny && len(d.Grounds) == 0 && len(d.Bars) == 0 {
		d.Checked, d.Reason = b.checkedInVain(n.Action, day, permits, bits)
	} else if d.Decision == Deny {
		d.Reason = "barred by " + strings.Join(IDs(d.Bars), ", ")
	}
	slices.Sort(obligations)
	d.Obligations = append(d.Obligations, slices.Compact(obligations)...)
	return d
}

// checkedInVain lists the grounds a "no legal basis" denial checked: the
// grounds in force for the action and flow, none of which applied. When no
// ground is in force on the date, it lists the grounds for the flow that are
// not (an instrument not yet or no longer applicable), each with its period,
// so that the denial still names what the law would need; if there are none
// at all, the reason says so.
func (b *Bundle) checkedInVain(action string, day int, inForce ruleList, candidates []uint64) ([]Rule, string) {
	checked := []Rule{}
	for _, r := range inForce {
		checked = append(checked, r.Rule)
	}
	if len(checked) > 0 {
		return checked, fmt.Sprintf("no legal basis: no ground in force applies (%d checked)", len(checked))
	}
	for w, word := range candidates {
		for word != 0 {
			r := b.rules[w*64+mathbits.TrailingZeros64(word)]
			word &= word - 1
			if r.ground {
				rr := r.Rule
				rr.Note = "not in force on this date: " + r.period()
				checked = append(checked, rr)
			}
		}
	}
	if len(checked) > 0 {
		return checked, "no legal basis: no ground for " + action + " is in force on this date"
	}
	return checked, "no legal basis: the bundle has no ground for " + action + " on this flow"
}

// period renders a rule's validity as "from A until B" (until exclusive).
func (r *rule) period() string {
	var parts []string
	if r.From != "" {
		parts = append(parts, "from "+r.From)
	}
	if r.Until != "" {
		parts = append(parts, "until "+r.Until)
	}
	if len(parts) == 0 {
		return "always"
	}
	return strings.Join(parts, " ")
}
