package policy

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	xeval "github.com/cedar-policy/cedar-go/x/exp/eval"
)

// Table is the finite decision table that Diff enumerates: every
// combination of its dimensions, with originator = sender and one category
// per request. Its cells are the product of all dimensions; Diff evaluates
// fewer (see Diff), but answers for every cell.
type Table struct {
	Date          string   `json:"date"`
	Actions       []string `json:"actions"`
	Countries     []string `json:"countries"` // senders and recipients
	Categories    []string `json:"categories"`
	TLPs          []string `json:"tlps"`
	PAPs          []string `json:"paps"`
	LegalStatuses []string `json:"legal_statuses"`
	Scopes        []string `json:"scopes"`
	// Handlings lists handling codes, "" for none.
	Handlings []string `json:"handlings"`
	// Onward lists the onward-consent cases: OnwardNone (no consent) and
	// OnwardRecipient (the originator pre-authorised the recipient).
	Onward []string `json:"onward"`
	// Expires is the assertions' expiry date ("" for none).
	Expires string `json:"expires"`
	// Flags lists flag combinations, each a "+"-joined subset of
	// FlagNames ("" for none); FlagSubsets gives them all.
	Flags []string `json:"flags"`
}

// Onward-consent cases of a Table.
const (
	OnwardNone      = "none"
	OnwardRecipient = "recipient"
)

// FlagNames are the flags a Table's Flags combine.
var FlagNames = []string{"human_reviewed", "oversight_notified", "urgent", "special_category", "excluded_purpose", "order_ref"}

// flagAttrs are the request attributes the flags set, in FlagNames order.
var flagAttrs = [...]string{"context.human_reviewed", "context.oversight_notified", "context.urgent",
	"resource.special_category", "resource.excluded_purpose", "context.order_ref"}

// DefaultCategories is the category vocabulary of legal-rules.md §4.1.
var DefaultCategories = strings.Fields("incitement glorification apologie solicitation recruitment instruction " +
	"instruction_generic threat fto_propaganda symbols incitement_imminent true_threat fto_support " +
	"instruction_with_intent abhorrent_violent_material")

// LegalStatuses is the legal-status vocabulary of the request schema
// (package documentation).
var LegalStatuses = []string{"intel", "referral", "national_order", "tco_order", "tco_order_under_scrutiny", "annulled"}

// HandlingCodes are the Europol handling codes of the schema, and "" for
// none.
var HandlingCodes = []string{"", "H0", "H1", "H2", "H3"}

// FlagSubsets returns every subset of FlagNames, "+"-joined, the empty one
// first.
func FlagSubsets() []string {
	out := make([]string, 0, 1<<len(FlagNames))
	for m := range 1 << len(FlagNames) {
		var on []string
		for i, f := range FlagNames {
			if m&(1<<i) != 0 {
				on = append(on, f)
			}
		}
		out = append(out, strings.Join(on, "+"))
	}
	return out
}

// DefaultTable is the whole table over the bundles' countries: every
// action; the §4.1 categories plus those the policies test; every TLP and
// PAP level; every legal status and handling code of the schema plus those
// the policies test; every scope; no onward consent and consent for the
// recipient; every flag combination; and an expiry one year after date.
func DefaultTable(date string, bundles ...*Bundle) Table {
	t := Table{Date: date, Actions: slices.Clone(Actions), TLPs: slices.Clone(TLPLevels), PAPs: slices.Clone(PAPLevels),
		LegalStatuses: slices.Clone(LegalStatuses), Scopes: slices.Clone(Scopes), Handlings: slices.Clone(HandlingCodes),
		Onward: []string{OnwardNone, OnwardRecipient}, Flags: FlagSubsets(), Categories: slices.Clone(DefaultCategories)}
	if day, err := ParseDay(date); err == nil {
		t.Expires = time.Unix(int64(day+365)*86400, 0).UTC().Format(time.DateOnly)
	}
	for _, b := range bundles {
		t.Countries = append(t.Countries, b.Countries()...)
		t.Categories = append(t.Categories, b.Categories()...)
		t.LegalStatuses = append(t.LegalStatuses, b.literals("resource.legal_status")...)
		t.Handlings = append(t.Handlings, b.literals("resource.handling")...)
	}
	for _, d := range []*[]string{&t.Countries, &t.Categories, &t.LegalStatuses, &t.Handlings} {
		*d = sortedSet(*d)
	}
	return t
}

func sortedSet(ss []string) []string {
	ss = slices.Clone(ss)
	slices.Sort(ss)
	return slices.Compact(ss)
}

// Size is the number of cells (requests) in the table.
func (t Table) Size() int64 {
	return int64(len(t.Actions)) * t.actionSize()
}

// actionSize is the number of cells of one action.
func (t Table) actionSize() int64 {
	n := int64(len(t.Countries)) * int64(len(t.Countries))
	for _, d := range t.dimensions() {
		n *= int64(len(d.values))
	}
	return n
}

// Check validates the table's dimensions.
func (t Table) Check() error {
	if _, err := ParseDay(t.Date); err != nil {
		return fmt.Errorf("date: %w", err)
	}
	for _, a := range t.Actions {
		if !slices.Contains(Actions, a) {
			return fmt.Errorf("unknown action %q", a)
		}
	}
	for _, f := range t.Flags {
		if f == "" {
			continue
		}
		for _, n := range strings.Split(f, "+") {
			if !slices.Contains(FlagNames, n) {
				return fmt.Errorf("unknown flag %q (want %s)", n, strings.Join(FlagNames, ", "))
			}
		}
	}
	for _, o := range t.Onward {
		if o != OnwardNone && o != OnwardRecipient {
			return fmt.Errorf("unknown onward consent %q (want %s or %s)", o, OnwardNone, OnwardRecipient)
		}
	}
	if t.Expires != "" {
		if _, err := ParseDay(t.Expires); err != nil {
			return fmt.Errorf("expires: %w", err)
		}
	}
	if t.Size() == 0 {
		return fmt.Errorf("the table is empty (no countries?)")
	}
	probe := Request{Action: "share", Date: t.Date}
	for _, d := range t.dimensions() {
		for _, v := range d.values {
			r := probe
			d.set(&r, v)
			if _, err := r.Normalize(); err != nil {
				return fmt.Errorf("%s %q: %w", d.name, v, err)
			}
		}
	}
	return nil
}

// dimension is one axis of a table besides action, sender and recipient.
type dimension struct {
	name   string
	attrs  attrSet // the request attributes its values set
	values []string
	set    func(*Request, string)
	// flags: the values are flag combinations, told apart flag by flag.
	flags bool
}

// dimensions lists the table's axes in the order Diff enumerates them.
func (t Table) dimensions() []dimension {
	return []dimension{
		{name: "category", attrs: attrsOf("resource.categories"), values: t.Categories,
			set: func(r *Request, v string) { r.Categories = []string{v} }},
		{name: "tlp", attrs: attrsOf("resource.tlp", "resource.tlp_level"), values: t.TLPs,
			set: func(r *Request, v string) { r.TLP = v }},
		{name: "pap", attrs: attrsOf("resource.pap", "resource.pap_level"), values: t.PAPs,
			set: func(r *Request, v string) { r.PAP = v }},
		{name: "legal_status", attrs: attrsOf("resource.legal_status"), values: t.LegalStatuses,
			set: func(r *Request, v string) { r.LegalStatus = v }},
		{name: "scope", attrs: attrsOf("resource.scope"), values: t.Scopes,
			set: func(r *Request, v string) { r.Scope = v }},
		{name: "handling", attrs: attrsOf("resource.handling"), values: t.Handlings,
			set: func(r *Request, v string) { r.Handling = v }},
		{name: "onward", attrs: attrsOf("resource.onward_ok"), values: t.Onward, set: setOnward},
		{name: "flags", attrs: attrsOf(flagAttrs[:]...), values: t.Flags, set: applyFlags, flags: true},
	}
}

func setOnward(r *Request, v string) {
	r.OnwardOK = nil
	if v == OnwardRecipient {
		r.OnwardOK = []string{r.Recipient}
	}
}

func applyFlags(r *Request, flags string) {
	for _, f := range strings.Split(flags, "+") {
		switch f {
		case "human_reviewed":
			r.HumanReviewed = true
		case "oversight_notified":
			r.OversightNotified = true
		case "urgent":
			r.Urgent = true
		case "special_category":
			r.SpecialCategory = true
		case "excluded_purpose":
			r.ExcludedPurpose = true
		case "order_ref":
			r.OrderRef = "ORDER-REF"
		}
	}
}

// class is a set of values of one dimension that the policies in play in a
// group cannot tell apart: one evaluation of its first value answers for
// all of them.
type class struct {
	values []string
	wild   []string // the names left open for every value: the dimension's, or flags'
}

// perValue is the finest partition: one class per value.
func perValue(values []string) []class {
	out := make([]class, len(values))
	for i, v := range values {
		out[i] = class{values: []string{v}}
	}
	return out
}

// partition groups values by key, in the order of their first value.
func partition(values []string, key func(string) string) []class {
	var out []class
	index := map[string]int{}
	for _, v := range values {
		k := key(v)
		i, ok := index[k]
		if !ok {
			i = len(out)
			index[k] = i
			out = append(out, class{})
		}
		out[i].values = append(out[i].values, v)
	}
	return out
}

// flagClasses groups flag combinations that agree on every flag in
// effective. The flags left open are those that vary inside a class.
func flagClasses(combos []string, effective uint) []class {
	out := partition(combos, func(c string) string { return fmt.Sprint(flagMask(c) & effective) })
	for k := range out {
		var some, all uint = 0, ^uint(0)
		for _, c := range out[k].values {
			m := flagMask(c)
			some, all = some|m, all&m
		}
		for i, f := range FlagNames {
			if (some&^all)&(1<<i) != 0 {
				out[k].wild = append(out[k].wild, f)
			}
		}
	}
	return out
}

func flagMask(combo string) uint {
	var m uint
	for _, f := range strings.Split(combo, "+") {
		if i := slices.Index(FlagNames, f); i >= 0 {
			m |= 1 << i
		}
	}
	return m
}

// flagDimension is one flag seen as a dimension of its own.
func flagDimension(i int) dimension {
	return dimension{name: FlagNames[i], attrs: attrsOf(flagAttrs[i]), values: []string{"", FlagNames[i]}, set: applyFlags}
}

// request is the part of every request of g that the dimensions leave.
func (t Table) request(g group) Request {
	return Request{Action: g.action, Sender: g.sender, Recipient: g.recipient, Originator: g.sender, Date: t.Date, Expires: t.Expires}
}

// each calls fn for every request of action a with sender s, in table
// order.
func (t Table) each(a, s string, fn func(Request)) {
	dims := t.dimensions()
	cls := make([][]class, len(dims))
	for i, d := range dims {
		cls[i] = perValue(d.values)
	}
	for _, rc := range t.Countries {
		t.eachCell(group{a, s, rc}, cls, func(r Request, _ []class) { fn(r) })
	}
}

// eachCell calls fn, in table order, once per combination of classes (one
// list per dimension), with the request of the classes' first values.
func (t Table) eachCell(g group, cls [][]class, fn func(Request, []class)) {
	dims := t.dimensions()
	for _, c := range cls {
		if len(c) == 0 {
			return
		}
	}
	pick := make([]class, len(dims))
	idx := make([]int, len(dims))
	for {
		r := t.request(g)
		for i, d := range dims {
			pick[i] = cls[i][idx[i]]
			d.set(&r, pick[i].values[0])
		}
		fn(r, pick)
		i := len(idx) - 1
		for ; i >= 0; i-- {
			if idx[i]++; idx[i] < len(cls[i]) {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			return
		}
	}
}

// Change is one table cell whose decision (or only its reasons) differs,
// or a set of cells that no policy in play tells apart. Request holds the
// values of the cell evaluated; Wildcards names the dimensions (and flags)
// that may take any of the table's values, and Classes, for the dimensions
// that may take several but not all, those values.
type Change struct {
	Request         Request             `json:"request"`
	Wildcards       []string            `json:"wildcards"`
	Classes         map[string][]string `json:"classes,omitempty"`
	Cells           int64               `json:"cells"` // table cells this change stands for
	Old             Decision            `json:"old"`
	New             Decision            `json:"new"`
	DecisionChanged bool                `json:"decision_changed"`
	Changes         []string            `json:"changes"`
}

// ActionCount is the part of a diff for one action. Cells counts table
// cells; Evaluated the cells Diff decided (under both bundles), the others
// being answered by a wildcard or by proof that nothing can change.
type ActionCount struct {
	Action      string `json:"action"`
	Cells       int64  `json:"cells"`
	Evaluated   int64  `json:"evaluated"`
	Changed     int64  `json:"changed"`
	ReasonsOnly int64  `json:"reasons_only"`
}

// DiffResult is the outcome of Diff. Counts are table cells: a change with
// wildcards counts for every cell it stands for.
type DiffResult struct {
	OldBundle      string           `json:"old_bundle"`
	NewBundle      string           `json:"new_bundle"`
	Date           string           `json:"date"`
	TableSize      int64            `json:"table_size"` // cells covered: the whole table
	Evaluated      int64            `json:"evaluated"`  // cells decided, under both bundles
	SkippedActions []string         `json:"skipped_actions"`
	Unchanged      int              `json:"unchanged_groups"` // (action, sender, recipient) groups proven unchanged
	Changed        int64            `json:"changed"`          // cells whose decision changed
	ReasonsOnly    int64            `json:"reasons_only"`     // same decision, different reasons
	ByAction       map[string]int64 `json:"by_action"`        // cells whose decision changed, per action
	PerAction      []ActionCount    `json:"per_action"`       // in table order
	Changes        []Change         `json:"changes"`
}

// inForceFingerprint is the set of policies in force for action a on day.
func (b *Bundle) inForceFingerprint(a string, day int) string {
	var sb strings.Builder
	for _, r := range b.byAction[a] {
		if r.inForce(day) {
			sb.WriteString(r.fingerprint)
			sb.WriteByte(0)
		}
	}
	return sb.String()
}

// Diff decides every cell of the table under old and new and returns those
// whose decision or reasons differ. It answers for every cell exactly, but
// decides far fewer, because a decision depends only on which policies
// match or fail:
//
//   - an action whose policies in force are the same text in both bundles
//     cannot change, and is skipped;
//   - for each (action, sender, recipient) Diff partially evaluates every
//     policy Decide would consider under either bundle, the table's other
//     dimensions unknown. A policy that can then neither match nor fail
//     plays no part beyond being listed as checked. If both bundles keep
//     the same policies in play and check the same grounds, no cell of the
//     group can change;
//   - otherwise a dimension whose attributes no policy in play reads
//     cannot change a decision: one value is decided, and the change (if
//     any) reported with the dimension as a wildcard. Values of a dimension
//     that is read but leave every policy in play with the same residue
//     (TLP levels under the same ceiling, categories outside every list)
//     are likewise decided once, and reported as a class. Flags are told
//     apart one by one.
func Diff(old, new *Bundle, t Table) (DiffResult, error) {
	res := DiffResult{OldBundle: old.hash, NewBundle: new.hash, Date: t.Date, TableSize: t.Size(), ByAction: map[string]int64{},
		SkippedActions: []string{}, Changes: []Change{}}
	if err := t.Check(); err != nil {
		return res, err
	}
	day, _ := ParseDay(t.Date)
	var jobs []group
	for _, a := range t.Actions {
		res.PerAction = append(res.PerAction, ActionCount{Action: a, Cells: t.actionSize()})
		if old.inForceFingerprint(a, day) == new.inForceFingerprint(a, day) {
			res.SkippedActions = append(res.SkippedActions, a)
			continue
		}
		for _, s := range t.Countries {
			for _, r := range t.Countries {
				jobs = append(jobs, group{a, s, r})
			}
		}
	}
	outs := make([]groupDiff, len(jobs))
	sides := [2]side{{old, analyseRules(old)}, {new, analyseRules(new)}}
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			an := newAnalyser(t, day, sides)
			for i := range next {
				outs[i] = an.diffGroup(jobs[i])
			}
		})
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	res.add(jobs, outs)
	return res, nil
}

// add totals the groups' outcomes, in job order.
func (res *DiffResult) add(jobs []group, outs []groupDiff) {
	for i, o := range outs {
		ac := &res.PerAction[slices.IndexFunc(res.PerAction, func(a ActionCount) bool { return a.Action == jobs[i].action })]
		if o.unchanged {
			res.Unchanged++
		}
		ac.Evaluated += o.evaluated
		res.Evaluated += o.evaluated
		for _, c := range o.changes {
			if c.DecisionChanged {
				ac.Changed += c.Cells
				res.Changed += c.Cells
				res.ByAction[c.Request.Action] += c.Cells
			} else {
				ac.ReasonsOnly += c.Cells
				res.ReasonsOnly += c.Cells
			}
		}
		res.Changes = append(res.Changes, o.changes...)
	}
}

// side is one of the two bundles with its policies' static analysis.
type side struct {
	b     *Bundle
	rules []ruleAttrs
}

// memoKey names one partial evaluation: a policy of a side, with the group
// values it can depend on ("" for those it does not read).
type memoKey struct {
	side, rule                        int
	action, acting, sender, recipient string
}

// sigKey names a policy's residue with one dimension set to one value.
type sigKey struct {
	memoKey
	dim, value, recipient string
}

type liveness struct {
	live  bool
	reads attrSet
}

// liveRule is a policy in play in a group.
type liveRule struct {
	key   memoKey
	r     *rule
	whole bool
	keyed attrSet // the group's attributes it reads
	reads attrSet // the dimensions' attributes its residue reads
}

// analyser diffs groups for one worker; its memos spare re-evaluating a
// policy for groups it cannot tell apart.
type analyser struct {
	t     Table
	day   int
	sides [2]side
	live  map[memoKey]liveness
	sigs  map[sigKey]string
}

func newAnalyser(t Table, day int, sides [2]side) *analyser {
	return &analyser{t: t, day: day, sides: sides, live: map[memoKey]liveness{}, sigs: map[sigKey]string{}}
}

// groupDiff is the outcome of one group.
type groupDiff struct {
	unchanged bool
	evaluated int64
	changes   []Change
}

func (an *analyser) diffGroup(g group) groupDiff {
	p := an.analyse(g)
	if p.unchanged() {
		return groupDiff{unchanged: true}
	}
	dims := an.t.dimensions()
	values := make([][]string, len(dims))
	for i, d := range dims {
		values[i] = d.values
	}
	if p.sameChecked {
		values = an.withoutInert(g, p.differing, dims)
		if slices.ContainsFunc(values, func(vs []string) bool { return len(vs) == 0 }) {
			return groupDiff{unchanged: true}
		}
	}
	var out groupDiff
	old, new := an.sides[0].b, an.sides[1].b
	an.t.eachCell(g, an.classes(g, p.live, dims, values), func(r Request, pick []class) {
		out.evaluated++
		o, n := old.Decide(r), new.Decide(r)
		if ch := Changes(o, n); len(ch) > 0 {
			out.changes = append(out.changes, newChange(r, o, n, ch, dims, pick))
		}
	})
	return out
}

func newChange(r Request, o, n Decision, ch []string, dims []dimension, pick []class) Change {
	c := Change{Request: r, Wildcards: []string{}, Cells: 1, Old: o, New: n, DecisionChanged: o.Decision != n.Decision, Changes: ch}
	for i, p := range pick {
		c.Cells *= int64(len(p.values))
		c.Wildcards = append(c.Wildcards, p.wild...)
		if !dims[i].flags && len(p.wild) == 0 && len(p.values) > 1 {
			if c.Classes == nil {
				c.Classes = map[string][]string{}
			}
			c.Classes[dims[i].name] = p.values
		}
	}
	return c
}

// inPlay is what analyse finds for a group.
type inPlay struct {
	live []liveRule // the policies of either bundle that may apply
	// differing are those of live whose text is not in play on the other
	// side.
	differing []liveRule
	// sameChecked: both bundles list the same grounds as checked.
	sameChecked bool
}

// unchanged reports that no cell of the group can change: both bundles
// keep the same policies in play and check the same grounds.
func (p inPlay) unchanged() bool { return p.sameChecked && len(p.differing) == 0 }

// analyse partially evaluates, for g, the policies of both bundles that
// Decide would consider.
func (an *analyser) analyse(g group) inPlay {
	var p inPlay
	var texts, grounds [2][]string
	var env *xeval.Env // built only if some policy is not in the memo
	for si, sd := range an.sides {
		for _, r := range sd.b.candidates(g, an.day) {
			if r.ground {
				grounds[si] = append(grounds[si], r.ID)
			}
			ra := sd.rules[r.idx]
			k := groupKey(si, r, ra, g)
			l, ok := an.live[k]
			if !ok {
				if env == nil {
					e := an.t.partialEnv(g, nil, 0)
					env = &e
				}
				l.live, l.reads = liveReads(r, ra, *env)
				an.live[k] = l
			}
			if l.live {
				texts[si] = append(texts[si], r.fingerprint)
				p.live = append(p.live, liveRule{key: k, r: r, whole: ra.whole, keyed: ra.keyed, reads: l.reads})
			}
		}
		slices.Sort(grounds[si])
	}
	for _, l := range p.live {
		if !slices.Contains(texts[1-l.key.side], l.r.fingerprint) {
			p.differing = append(p.differing, l)
		}
	}
	p.sameChecked = slices.Equal(grounds[0], grounds[1])
	return p
}

// groupKey names r's partial evaluation in g by the group values r reads.
func groupKey(si int, r *rule, ra ruleAttrs, g group) memoKey {
	k := memoKey{side: si, rule: r.idx, action: g.action}
	if ra.keyed&attrsOf("principal.country", "principal.org") != 0 {
		k.acting = g.acting()
	}
	if ra.keyed&attrsOf("context.sender", "resource.originator") != 0 {
		k.sender = g.sender
	}
	if ra.keyed&attrsOf("context.recipient") != 0 {
		k.recipient = g.recipient
	}
	return k
}

// withoutInert returns each dimension's values but the inert ones: with a
// dimension set to an inert value, none of the differing policies is in
// play, so both bundles play the same policies and — checking the same
// grounds — decide every such cell alike.
func (an *analyser) withoutInert(g group, differing []liveRule, dims []dimension) [][]string {
	out := make([][]string, len(dims))
	for i, d := range dims {
		if !d.flags {
			out[i] = slices.DeleteFunc(slices.Clone(d.values), func(v string) bool { return an.inert(g, differing, d, v) })
			continue
		}
		var inertOn, inertOff uint
		for f := range FlagNames {
			fd := flagDimension(f)
			if an.inert(g, differing, fd, fd.values[0]) {
				inertOff |= 1 << f
			}
			if an.inert(g, differing, fd, fd.values[1]) {
				inertOn |= 1 << f
			}
		}
		out[i] = slices.DeleteFunc(slices.Clone(d.values), func(c string) bool {
			m := flagMask(c)
			return m&inertOn != 0 || ^m&inertOff != 0
		})
	}
	return out
}

// inert reports whether setting d to v leaves none of differing in play.
func (an *analyser) inert(g group, differing []liveRule, d dimension, v string) bool {
	for _, l := range differing {
		if l.whole || l.reads&d.attrs == 0 || an.residue(g, l, d, v) != "" {
			return false
		}
	}
	return true
}

// classes partitions each dimension's values (those of values, a subset
// of the table's) for g: values that leave every policy in play with the
// same residue cannot change a decision.
func (an *analyser) classes(g group, live []liveRule, dims []dimension, values [][]string) [][]class {
	out := make([][]class, len(dims))
	for i, d := range dims {
		if !d.flags {
			out[i] = an.valueClasses(g, live, d, values[i])
			continue
		}
		var effective uint
		for f := range FlagNames {
			fd := flagDimension(f)
			if len(an.valueClasses(g, live, fd, fd.values)) > 1 {
				effective |= 1 << f
			}
		}
		out[i] = flagClasses(values[i], effective)
	}
	return out
}

// valueClasses partitions values, some of d's, by the residues of the
// policies in play. A class holding all of d's values is a wildcard.
func (an *analyser) valueClasses(g group, live []liveRule, d dimension, values []string) []class {
	var readers []liveRule
	for _, l := range live {
		if l.reads&d.attrs != 0 {
			if l.whole {
				return perValue(values)
			}
			readers = append(readers, l)
		}
	}
	var cls []class
	switch {
	case len(values) == 0:
		return nil
	case len(readers) == 0:
		cls = []class{{values: values}}
	default:
		cls = partition(values, func(v string) string { return an.signature(g, readers, d, v) })
	}
	if len(cls) == 1 && len(values) == len(d.values) && len(values) > 1 {
		cls[0].wild = []string{d.name}
	}
	return cls
}

// signature is the residues of readers with d set to v.
func (an *analyser) signature(g group, readers []liveRule, d dimension, v string) string {
	var sb strings.Builder
	for _, l := range readers {
		sb.WriteString(an.residue(g, l, d, v))
		sb.WriteByte(0)
	}
	return sb.String()
}

// residue is the text of l's residue in g with d set to v, "" when l is
// then out of play.
func (an *analyser) residue(g group, l liveRule, d dimension, v string) string {
	k := sigKey{memoKey: l.key, dim: d.name, value: v}
	if d.attrs&attrsOf("resource.onward_ok") != 0 {
		k.recipient = g.recipient // the consent names the recipient
	}
	if text, ok := an.sigs[k]; ok {
		return text
	}
	r := an.t.request(g)
	d.set(&r, v)
	// The residue's text shows the context record: the group values the
	// policy does not read stay unknown there, so that the text depends on
	// nothing but the key.
	blind := attrsOf("resource.originator", "context.sender", "context.recipient") &^ l.keyed
	text := residueText(l.r, an.t.partialEnv(g, knownValues(r, d.attrs), blind))
	an.sigs[k] = text
	return text
}
