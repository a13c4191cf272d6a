package simulations

import (
	"bytes"
	"strings"

	legal "github.com/vigie-project/vigie/policy"
)

// oracleCedar is the oracle's own copy of the Cedar rule (Options.Cedar):
// it reads an assertion's Cedar facts from the record's bytes itself,
// builds its own legal.Request and calls Decide itself, without going
// through the nodes' layer (cedar.go) or its test hook. An assertion may
// go from holder to a member only if the share from holder's country to
// the member's is allowed on oracleCedarDate and, for a relay, so is the
// share from its origin's country; the member holds it only if its
// country also accepts it from holder's.
type oracleCedar struct {
	bundle    *legal.Bundle
	countries []string       // every country of the run, in the order of the nodes
	index     map[string]int // country → its index in countries
	nodeIdx   []int          // node.i → its country's index
	reasons   []string       // interned reasons for a denial; reasons[0] is unused
	reasonIdx map[string]int32
}

// oracleCedarDate is the simulated date of every decision.
const oracleCedarDate = "2026-06-01"

// The actions the oracle decides, as indexes into oracleVerdicts.
const (
	oracleShare = iota
	oracleAccept
	oracleActions
)

// oracleVerdicts are one assertion's decisions by action, sender country
// and recipient country: Decide only sees countries, so the oracle asks
// each question once per assertion, however many nodes share a country.
type oracleVerdicts struct {
	req      legal.Request // the record's own facts; action and countries set per question
	unread   bool          // the Cedar facts are unreadable: everything is forbidden
	origin   int           // the origin's country index, -1 if it is no country of the run
	verdicts []int32       // 0 not asked yet, -1 allowed, k > 0 denied for reasons[k]
}

func newOracleCedar(b *legal.Bundle, nodes []*node) *oracleCedar {
	oc := &oracleCedar{bundle: b, index: map[string]int{}, reasons: []string{""}, reasonIdx: map[string]int32{}}
	for _, n := range nodes {
		cc := oc.country(n.origin)
		i, ok := oc.index[cc]
		if !ok {
			i = len(oc.countries)
			oc.index[cc] = i
			oc.countries = append(oc.countries, cc)
		}
		oc.nodeIdx = append(oc.nodeIdx, i)
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

// verdictsOf returns r's decision table, reading its facts on first use.
func (oc *oracleCedar) verdictsOf(r *oracleRecord) *oracleVerdicts {
	if r.cedar != nil {
		return r.cedar
	}
	v := &oracleVerdicts{origin: -1, verdicts: make([]int32, oracleActions*len(oc.countries)*len(oc.countries))}
	if i, ok := oc.index[oc.country(r.origin)]; ok {
		v.origin = i
	}
	req, ok := oc.request(r)
	v.req, v.unread = req, !ok
	r.cedar = v
	return v
}

// request builds the request template for r from r's own bytes, or
// reports that r carries no readable Cedar facts.
func (oc *oracleCedar) request(r *oracleRecord) (legal.Request, bool) {
	req := legal.Request{Originator: oc.country(r.origin), Date: oracleCedarDate, TLP: r.tlp}
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

// decide returns why Cedar forbids action on r from the country of index
// s to the country of index t, or "".
func (oc *oracleCedar) decide(r *oracleRecord, action, s, t int) string {
	v := oc.verdictsOf(r)
	if v.unread {
		return "unreadable Cedar facts"
	}
	k := (action*len(oc.countries)+s)*len(oc.countries) + t
	if v.verdicts[k] == 0 {
		req := v.req
		req.Action, req.Sender, req.Recipient = [oracleActions]string{"share", "accept"}[action], oc.countries[s], oc.countries[t]
		v.verdicts[k] = -1
		if d := oc.bundle.Decide(req); d.Decision != legal.Allow {
			why := "Cedar: " + req.Action + " " + req.Sender + "→" + req.Recipient + " is " + d.Decision
			if len(d.Bars) > 0 {
				why += " (" + strings.Join(legal.IDs(d.Bars), ", ") + ")"
			}
			v.verdicts[k] = oc.intern(why)
		}
	}
	if v.verdicts[k] < 0 {
		return ""
	}
	return oc.reasons[v.verdicts[k]]
}

func (oc *oracleCedar) intern(why string) int32 {
	if i, ok := oc.reasonIdx[why]; ok {
		return i
	}
	i := int32(len(oc.reasons))
	oc.reasons = append(oc.reasons, why)
	oc.reasonIdx[why] = i
	return i
}

// share returns why Cedar forbids the node of index from to send the
// assertion r to the node of index to, or "". A relay needs its own share
// (its country as sender and principal, onward consent read from r) and
// its origin's share to the same recipient: a relay never widens the
// originator's own distribution.
func (oc *oracleCedar) share(r *oracleRecord, from, to int, relay bool) string {
	s, t := oc.nodeIdx[from], oc.nodeIdx[to]
	if why := oc.decide(r, oracleShare, s, t); why != "" {
		return why
	}
	if !relay {
		return ""
	}
	o := oc.verdictsOf(r).origin
	if o < 0 {
		return "relayed from an origin outside the run"
	}
	if why := oc.decide(r, oracleShare, o, t); why != "" {
		return "relayed where its origin may not send it: " + why
	}
	return ""
}

// accept returns why Cedar forbids the node of index to to accept r from
// the node of index from, or "".
func (oc *oracleCedar) accept(r *oracleRecord, from, to int) string {
	return oc.decide(r, oracleAccept, oc.nodeIdx[from], oc.nodeIdx[to])
}

// shareWhy is the oracle's rule for one message: why from may not send r
// to to (the baseline, then Cedar's share for assertions), or "". It is
// what the sender alone answers for; the recipient's accept is its own.
func (o *oracle) shareWhy(r *oracleRecord, from, to *node) string {
	if why := forbidden(from.origin, to.origin, r); why != "" || o.cedar == nil || r.kind != "1" {
		return why
	}
	return o.cedar.share(r, from.i, to.i, from.origin != r.origin)
}

// hopWhy is the oracle's rule for one hop of a record's journey: why r
// may not go from from to to and stay there (shareWhy, then Cedar's
// accept at to), or "".
func (o *oracle) hopWhy(r *oracleRecord, from, to *node) string {
	if why := o.shareWhy(r, from, to); why != "" || o.cedar == nil || r.kind != "1" {
		return why
	}
	return o.cedar.accept(r, from.i, to.i)
}
