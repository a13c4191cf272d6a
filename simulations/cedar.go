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
// Every hop is decided on its own, so the same rule serves a full mesh and
// an overlay, where most nodes get a record by relay: the engine asks the
// relay's MayShare with the relay as sender (its country is the principal,
// and Cedar sees a relay when its country is not the originator's, so
// onward_ok matters), and the receiver re-checks that hop. A relay never
// widens the originator's own distribution: a relayed assertion also
// needs the share from its origin to the recipient to be allowed.
// Retractions are not put to Cedar (they carry no indicator and are never
// withheld, as in the baseline). A node's country is its name up to the
// first "-" ("FR-2" is in FR; its relays of FR's records are relays for
// the baseline, which names nodes, not for Cedar, which names countries).
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

// cedarAction is an action the layer decides, and its index in a
// cedarTable.
type cedarAction int

const (
	cedarShare cedarAction = iota
	cedarAccept
	cedarActions
)

func (a cedarAction) String() string {
	if a == cedarAccept {
		return "accept"
	}
	return "share"
}

// cedarTable holds one assertion's Cedar decisions by action, sender
// country and recipient country: Decide sees countries, not nodes, so
// every pair of nodes in the same two countries gets the same answer, and
// a run of any size asks at most 2 × countries² questions per assertion.
type cedarTable struct {
	req      legal.Request // the assertion's facts; action and countries filled in per question
	verdicts []int8        // [action][sender][recipient]: 0 not asked yet, 1 allow, -1 deny
}

// cedarLayer is the nodes' Cedar layer, shared by every node of a run (a
// cache of decisions; the simulation runs on one goroutine).
type cedarLayer struct {
	bundle    *legal.Bundle
	countries []string       // every country of the run, sorted: onward_ok, and the tables' indexes
	country   map[string]int // node name → its country's index
	tables    map[*facts]*cedarTable
	// flip is a test hook: it may change a node's share decision for one
	// hop, to show that the oracle catches a wrong one.
	flip func(h cedarHop) bool
}

// cedarHop is one share decision of the layer, as its flip hook sees it.
type cedarHop struct {
	from, to string // node names
	f        *facts
	own      bool // Cedar lets from's country share f with to's
	origin   bool // ... and f's origin's country (always true for the origin itself)
}

func (h cedarHop) allow() bool { return h.own && h.origin }

func newCedarLayer(b *legal.Bundle, nodes []*node, flip func(h cedarHop) bool) *cedarLayer {
	l := &cedarLayer{bundle: b, country: map[string]int{}, tables: map[*facts]*cedarTable{}, flip: flip}
	for _, n := range nodes {
		l.countries = append(l.countries, countryOf(n.origin))
	}
	slices.Sort(l.countries)
	l.countries = slices.Compact(l.countries)
	for _, n := range nodes {
		l.country[n.origin], _ = slices.BinarySearch(l.countries, countryOf(n.origin))
	}
	return l
}

// table returns f's decision table, creating it on first use. The facts
// of a record are shared by every node that verified the same bytes (see
// sim.checkRecord), so one table serves the whole run.
func (l *cedarLayer) table(f *facts) *cedarTable {
	if t, ok := l.tables[f]; ok {
		return t
	}
	r := legal.Request{Originator: countryOf(f.origin), Date: cedarDate, TLP: f.tlp}
	if f.onward == onwardGranted {
		r.OnwardOK = l.countries
	}
	if c := f.cedar; c != nil {
		r.Categories, r.PAP, r.LegalStatus, r.Scope, r.Expires = c.categories, c.pap, c.legal, c.scope, c.expires
	}
	t := &cedarTable{req: r, verdicts: make([]int8, int(cedarActions)*len(l.countries)*len(l.countries))}
	l.tables[f] = t
	return t
}

// decide asks Cedar whether action may happen from the node from to the
// node to on f's facts. Names outside the run (none in practice) are
// decided afresh every time rather than cached under a wrong country.
func (l *cedarLayer) decide(f *facts, action cedarAction, from, to string) bool {
	t := l.table(f)
	ask := func() bool {
		req := t.req
		req.Action, req.Sender, req.Recipient = action.String(), countryOf(from), countryOf(to)
		return l.bundle.Decide(req).Decision == legal.Allow
	}
	s, okS := l.country[from]
	r, okR := l.country[to]
	if !okS || !okR {
		return ask()
	}
	k := (int(action)*len(l.countries)+s)*len(l.countries) + r
	if t.verdicts[k] == 0 {
		t.verdicts[k] = -1
		if ask() {
			t.verdicts[k] = 1
		}
	}
	return t.verdicts[k] == 1
}

// share reports whether Cedar lets from send the assertion f to to. A
// relay (from is not f's origin) is decided with from's country as sender
// and principal, and must also be a share f's origin could make to to
// itself: a relay never widens the originator's distribution, which is
// also what lets the engine leave a node connected to the origin to the
// origin alone (node/syncengine, Relaying).
func (l *cedarLayer) share(from, to string, f *facts) bool {
	h := cedarHop{from: from, to: to, f: f, own: l.decide(f, cedarShare, from, to)}
	// The hook is shown both halves of a relay's decision.
	h.origin = from == f.origin || ((h.own || l.flip != nil) && l.decide(f, cedarShare, f.origin, to))
	if l.flip != nil {
		return l.flip(h)
	}
	return h.allow()
}

// accept reports whether Cedar lets to accept f from from (the receiver's
// re-check; to's country is the principal).
func (l *cedarLayer) accept(from, to string, f *facts) bool {
	return l.decide(f, cedarAccept, from, to)
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
