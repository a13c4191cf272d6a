package simulations

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/vigie-project/vigie/node/syncengine"
	legal "github.com/vigie-project/vigie/policy"
)

// The optional Cedar layer (Options.Cedar). On top of the baseline rule, a
// node sends an assertion to a member only if the legal-policy engine
// (legal.Default(), the embedded packs) allows the share, decided on the
// record's simulated facts, and the receiver re-checks the share and its
// own accept. The request is
//
//	action share (accept for the receiver's re-check), sender = the
//	holder's country, recipient = the receiving node's country,
//	originator = the origin's country, the record's categories, TLP, PAP,
//	legal status, scope and expiry, onward_ok = every country of the run
//	if the originator granted onward transfer (none otherwise), date
//	cedarDate.
//
// A relay never widens the originator's own distribution: a relayed
// assertion also needs the share from its origin to the recipient to be
// allowed. Retractions are not put to Cedar (they carry no indicator and
// are never withheld, as in the baseline). A node's country is its name up
// to the first "-" ("FR-2" is in FR).
//
// With Cedar off, records, draws and reports are exactly as without this
// layer.

// cedarDate is the simulated date of every Cedar decision.
const cedarDate = "2026-06-01"

// Cedar vocabularies the simulator draws from: categories of the packs'
// vocabulary (legal-rules.md §4.1), PAP labels, legal statuses, scopes.
var (
	cedarCategories = []string{"incitement", "apologie", "glorification", "true_threat", "recruitment",
		"fto_support", "incitement_imminent", "symbols", "abhorrent_violent_material"}
	cedarPAPs     = []string{"CLEAR", "GREEN", "AMBER", "RED"}
	cedarStatuses = []string{"intel", "referral", "national_order", "tco_order"}
	cedarScopes   = []string{"url", "prefix", "host"}
)

// cedarFacts are the facts an assertion carries for Cedar. They are
// written at the start of a record's padding field:
//
//	cedar;cat,cat;PAP;legal_status;scope;expires;
//
// (expires empty for a record without a time limit).
type cedarFacts struct {
	categories []string
	pap        string
	legal      string
	scope      string
	expires    string
}

const cedarPrefix = "cedar;"

func (c *cedarFacts) encode() []byte {
	return fmt.Appendf(nil, "%s%s;%s;%s;%s;%s;", cedarPrefix, strings.Join(c.categories, ","), c.pap, c.legal, c.scope, c.expires)
}

// parseCedarFacts reads the Cedar facts at the start of a record's
// padding field, or returns nil if it has none.
func parseCedarFacts(pad string) (*cedarFacts, error) {
	rest, ok := strings.CutPrefix(pad, cedarPrefix)
	if !ok {
		return nil, nil
	}
	f := strings.SplitN(rest, ";", 6)
	if len(f) != 6 || f[0] == "" {
		return nil, errMalformed
	}
	return &cedarFacts{categories: strings.Split(f[0], ","), pap: f[1], legal: f[2], scope: f[3], expires: f[4]}, nil
}

// drawCedar draws an assertion's Cedar facts from the run's Cedar stream
// (a PCG of its own, so that the workload is the same with Cedar on or
// off).
func drawCedar(rng *rand.Rand) *cedarFacts {
	c := &cedarFacts{
		pap:   cedarPAPs[rng.IntN(len(cedarPAPs))],
		legal: cedarStatuses[rng.IntN(len(cedarStatuses))],
		scope: cedarScopes[rng.IntN(len(cedarScopes))],
	}
	c.categories = []string{cedarCategories[rng.IntN(len(cedarCategories))]}
	if rng.Float64() < 0.3 {
		c.categories = append(c.categories, cedarCategories[rng.IntN(len(cedarCategories))])
	}
	slices.Sort(c.categories)
	c.categories = slices.Compact(c.categories)
	switch u := rng.Float64(); {
	case u < 0.04:
		c.expires = "" // no time limit: never shared
	case u < 0.08:
		c.expires = "2026-05-01" // already expired on cedarDate
	default:
		c.expires = fmt.Sprintf("2027-%02d-01", 1+rng.IntN(12))
	}
	return c
}

// countryOf is the country of a node: its name up to the first "-".
func countryOf(name string) string {
	c, _, _ := strings.Cut(name, "-")
	return c
}

// cedarKey names one decision of a node's Cedar layer.
type cedarKey struct {
	f        *facts
	from, to string
}

// cedarLayer is the nodes' Cedar layer, shared by every node of a run (a
// cache of decisions; the simulation runs on one goroutine).
type cedarLayer struct {
	bundle    *legal.Bundle
	countries []string // every country of the run, for onward_ok
	cache     map[cedarKey]bool
	// flip is a test hook: it may change a share decision (from, to: node
	// names) to show that the oracle catches a wrong one.
	flip func(from, to string, f *facts, allow bool) bool
}

func newCedarLayer(b *legal.Bundle, nodes []*node, flip func(from, to string, f *facts, allow bool) bool) *cedarLayer {
	l := &cedarLayer{bundle: b, cache: map[cedarKey]bool{}, flip: flip}
	for _, n := range nodes {
		l.countries = append(l.countries, countryOf(n.origin))
	}
	slices.Sort(l.countries)
	l.countries = slices.Compact(l.countries)
	return l
}

func (l *cedarLayer) request(action, from, to string, f *facts) legal.Request {
	r := legal.Request{Action: action, Sender: countryOf(from), Recipient: countryOf(to), Originator: countryOf(f.origin),
		Date: cedarDate, TLP: f.tlp}
	if f.onward == onwardGranted {
		r.OnwardOK = l.countries
	}
	if c := f.cedar; c != nil {
		r.Categories, r.PAP, r.LegalStatus, r.Scope, r.Expires = c.categories, c.pap, c.legal, c.scope, c.expires
	}
	return r
}

// share reports whether Cedar lets from send the assertion f to to,
// origin's share included for a relay.
func (l *cedarLayer) share(from, to string, f *facts) bool {
	k := cedarKey{f, from, to}
	if v, ok := l.cache[k]; ok {
		return v
	}
	v := l.bundle.Decide(l.request("share", from, to, f)).Decision == legal.Allow
	if l.flip != nil {
		v = l.flip(from, to, f, v)
	}
	if v && from != f.origin {
		v = l.share(f.origin, to, f)
	}
	l.cache[k] = v
	return v
}

// accept reports whether Cedar lets to accept f from from (the receiver's
// re-check).
func (l *cedarLayer) accept(from, to string, f *facts) bool {
	return l.bundle.Decide(l.request("accept", from, to, f)).Decision == legal.Allow
}

// mayShare is the sender's rule: the baseline, then Cedar for
// assertions.
func (l *cedarLayer) mayShare(from, to string, f *facts) bool {
	return l == nil || f.kind != syncengine.KindAssertion || l.share(from, to, f)
}

// mayAccept is the receiver's re-check: the sender's rule and its own
// accept decision.
func (l *cedarLayer) mayAccept(from, to string, f *facts) bool {
	return l.mayShare(from, to, f) && (l == nil || f.kind != syncengine.KindAssertion || l.accept(from, to, f))
}
