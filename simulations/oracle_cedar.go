package simulations

import (
	"bytes"
	"slices"
	"strings"

	"github.com/ipfs/go-cid"

	legal "github.com/vigie-project/vigie/policy"
)

// oracleCedar is the oracle's own copy of the Cedar rule (Options.Cedar):
// it reads an assertion's Cedar facts from the record's bytes itself,
// builds its own legal.Request and calls Decide itself, without going
// through the nodes' layer (cedar.go) or its test hook. An assertion may
// go from holder to a member only if the share from holder's country to
// the member's is allowed on oracleCedarDate and, for a relay, so is the
// share from its origin's country.
type oracleCedar struct {
	bundle    *legal.Bundle
	countries []string
	verdicts  map[oracleCedarKey]string
}

// oracleCedarDate is the simulated date of every decision.
const oracleCedarDate = "2026-06-01"

type oracleCedarKey struct {
	c        cid.Cid
	from, to string
}

func newOracleCedar(b *legal.Bundle, nodes []*node) *oracleCedar {
	oc := &oracleCedar{bundle: b, verdicts: map[oracleCedarKey]string{}}
	for _, n := range nodes {
		cc := n.origin
		if i := strings.IndexByte(cc, '-'); i >= 0 {
			cc = cc[:i]
		}
		if !slices.Contains(oc.countries, cc) {
			oc.countries = append(oc.countries, cc)
		}
	}
	return oc
}

// country is a node's country, the oracle's own way.
func (oc *oracleCedar) country(name string) string {
	if i := strings.IndexByte(name, '-'); i >= 0 {
		return name[:i]
	}
	return name
}

// request builds the share request for r from holder to to from r's own
// bytes, or reports that r carries no (readable) Cedar facts.
func (oc *oracleCedar) request(holder, to string, r *oracleRecord) (legal.Request, bool) {
	req := legal.Request{Action: "share", Sender: oc.country(holder), Recipient: oc.country(to),
		Originator: oc.country(r.origin), Date: oracleCedarDate, TLP: r.tlp}
	if r.onward == "granted" {
		req.OnwardOK = oc.countries
	}
	rest, ok := bytes.CutPrefix(r.pad, []byte("cedar;"))
	if !ok {
		return req, true // no facts: Cedar decides on what there is (no expiry: barred)
	}
	f := bytes.Split(rest, []byte(";"))
	if len(f) < 6 || len(f[0]) == 0 {
		return req, false
	}
	for _, c := range bytes.Split(f[0], []byte(",")) {
		req.Categories = append(req.Categories, string(c))
	}
	req.PAP, req.LegalStatus, req.Scope, req.Expires = string(f[1]), string(f[2]), string(f[3]), string(f[4])
	return req, true
}

// forbidden returns why Cedar forbids the assertion r from holder to to,
// or "".
func (oc *oracleCedar) forbidden(holder, to string, r *oracleRecord) string {
	k := oracleCedarKey{r.cid, holder, to}
	if why, ok := oc.verdicts[k]; ok && r.cid.Defined() {
		return why
	}
	why := ""
	req, ok := oc.request(holder, to, r)
	switch {
	case !ok:
		why = "unreadable Cedar facts"
	default:
		if d := oc.bundle.Decide(req); d.Decision != legal.Allow {
			why = "Cedar: share " + req.Sender + "→" + req.Recipient + " is " + d.Decision
			if len(d.Bars) > 0 {
				why += " (" + strings.Join(legal.IDs(d.Bars), ", ") + ")"
			}
		} else if holder != r.origin {
			if w := oc.forbidden(r.origin, to, r); w != "" {
				why = "relayed where its origin may not send it: " + w
			}
		}
	}
	if r.cid.Defined() {
		oc.verdicts[k] = why
	}
	return why
}

// forbidden is the oracle's whole rule: the baseline, then Cedar for
// assertions.
func (o *oracle) forbidden(holder, to string, r *oracleRecord) string {
	if why := forbidden(holder, to, r); why != "" || o.cedar == nil || r.kind != "1" {
		return why
	}
	return o.cedar.forbidden(holder, to, r)
}
