package policy

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"iter"
	"math"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing/fstest"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/ast"
	"github.com/cedar-policy/cedar-go/types"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
	"github.com/cedar-policy/cedar-go/x/exp/schema"
	"github.com/cedar-policy/cedar-go/x/exp/schema/validate"
)

// CedarVersion is the pinned cedar-go version (see go.mod).
const CedarVersion = "v1.9.0"

// Engine identifies the evaluator in every decision.
const Engine = "cedar-go@" + CedarVersion + " vigie-policy/2"

//go:embed all:packs
var embedded embed.FS

// Rule names a policy in a decision: its @id and @cite.
type Rule struct {
	ID   string `json:"id"`
	Cite string `json:"cite"`
	// Note qualifies a rule listed as checked, e.g. that it was not in
	// force on the decision's date.
	Note string `json:"note,omitempty"`
}

// PolicyInfo describes one loaded policy.
type PolicyInfo struct {
	Rule
	Owner       string   `json:"owner"`
	Kind        string   `json:"kind"` // "ground" or "bar"
	From        string   `json:"from,omitempty"`
	Until       string   `json:"until,omitempty"`
	Obligations []string `json:"obligations,omitempty"`
	Actions     []string `json:"actions"` // nil: every action
	File        string   `json:"file"`
	Line        int      `json:"line"`
}

type rule struct {
	PolicyInfo
	ground      bool
	from, until int // days since epoch; until is exclusive
	policy      *cedar.Policy
	eval        *cedar.Policy // policy without its action scope, which the index already applied
	fingerprint string
	idx         int      // position in Bundle.rules
	flow        []string // the policy can only apply to flows involving one of these countries; nil: any flow
}

func (r *rule) inForce(day int) bool { return r.from <= day && day < r.until }

// Bundle is a loaded, checked set of policy packs. It is immutable and safe
// for concurrent use.
type Bundle struct {
	hash       string
	files      []string
	rules      []*rule // sorted by id
	byID       map[string]*rule
	byAction   map[string][]*rule
	index      map[string]*actionIndex
	owners     []string
	categories []string
	hasSchema  bool
	warnings   []Problem
}

// Problem is one lint finding.
type Problem struct {
	File     string `json:"file,omitempty"`
	Line     int    `json:"line,omitempty"`
	ID       string `json:"id,omitempty"`
	Severity string `json:"severity"` // "error" or "warning"
	Message  string `json:"message"`
}

func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
		}
		b.WriteString(": ")
	}
	if p.Severity == "warning" {
		b.WriteString("warning: ")
	}
	if p.ID != "" {
		b.WriteString(p.ID + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// LoadError lists the errors that stop a bundle from loading.
type LoadError struct{ Problems []Problem }

func (e *LoadError) Error() string {
	var ss []string
	for _, p := range e.Problems {
		ss = append(ss, p.String())
	}
	return fmt.Sprintf("policy bundle has %d error(s):\n  %s", len(e.Problems), strings.Join(ss, "\n  "))
}

// Hash is the bundle hash, "sha256:<hex>".
func (b *Bundle) Hash() string { return b.hash }

// Files lists the pack files that make up the bundle.
func (b *Bundle) Files() []string { return slices.Clone(b.files) }

// Owners lists the distinct policy owners, sorted.
func (b *Bundle) Owners() []string { return slices.Clone(b.owners) }

// Categories lists the category literals the policies test, sorted.
func (b *Bundle) Categories() []string { return slices.Clone(b.categories) }

// Warnings are the lint warnings found when loading.
func (b *Bundle) Warnings() []Problem { return slices.Clone(b.warnings) }

// Policies describes every policy, sorted by id.
func (b *Bundle) Policies() []PolicyInfo {
	out := make([]PolicyInfo, len(b.rules))
	for i, r := range b.rules {
		out[i] = r.PolicyInfo
	}
	return out
}

// Countries lists the owners that are country codes, sorted.
func (b *Bundle) Countries() []string {
	var out []string
	for _, o := range b.owners {
		if isCountry(o) {
			out = append(out, o)
		}
	}
	return out
}

var defaultBundle = sync.OnceValues(func() (*Bundle, error) {
	sub, err := fs.Sub(embedded, "packs")
	if err != nil {
		return nil, err
	}
	return Load(sub)
})

// Default returns the embedded bundle (policy/packs/).
func Default() (*Bundle, error) { return defaultBundle() }

// EmbeddedFS returns the embedded packs folder.
func EmbeddedFS() fs.FS {
	sub, _ := fs.Sub(embedded, "packs")
	return sub
}

// EmbeddedCopy returns a writable copy of the embedded pack files, except
// those named in drop, for drafting a bundle from the built-in one.
func EmbeddedCopy(drop ...string) fstest.MapFS {
	src, out := EmbeddedFS(), fstest.MapFS{}
	// Reading the embedded files cannot fail.
	_ = fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || slices.Contains(drop, p) {
			return err
		}
		data, err := fs.ReadFile(src, p)
		out[p] = &fstest.MapFile{Data: data}
		return err
	})
	return out
}

// LoadDir loads the bundle in folder dir.
func LoadDir(dir string) (*Bundle, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a folder", dir)
	}
	return Load(os.DirFS(dir))
}

// Load reads, parses and lints the bundle in fsys. Any lint error (not a
// warning) stops the load.
func Load(fsys fs.FS) (*Bundle, error) {
	b, probs := Lint(fsys)
	var errs []Problem
	for _, p := range probs {
		if p.Severity != "warning" {
			errs = append(errs, p)
		}
	}
	if len(errs) > 0 {
		return nil, &LoadError{Problems: errs}
	}
	return b, nil
}

// packGlobs are the files a bundle is made of.
var packGlobs = []string{"schema.cedarschema", "baseline/*.cedar", "countries/*.cedar", "instruments/*.cedar"}

var (
	countryRe = regexp.MustCompile(`^[A-Z]{2}$`)
	dateRe    = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	knownKeys = []string{"id", "cite", "owner", "from", "until", "obligation", "kind"}
)

// isCountry reports whether s is a country code. "EU" is not: it names the
// Union as a party to instruments.
func isCountry(s string) bool { return s != "EU" && countryRe.MatchString(s) }

// euParties are the countries an instrument owned by (or with) "EU" may
// govern: the member states of 2014–2020 including GB, and the
// Schengen-associated states that apply the EU's law-enforcement acquis.
// "EU" itself is also a flow party: Europol takes part as country "EU".
var euParties = strings.Fields("AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE GB NO IS CH LI")

// Lint loads the bundle in fsys and returns it with every problem found. The
// bundle is nil when nothing could be loaded (for example, no pack files).
// The bundle is returned even with errors so that tools can still report
// on it; Load refuses it.
func Lint(fsys fs.FS) (*Bundle, []Problem) {
	var probs []Problem
	add := func(file string, line int, id, sev, format string, args ...any) {
		probs = append(probs, Problem{File: file, Line: line, ID: id, Severity: sev, Message: fmt.Sprintf(format, args...)})
	}
	var files []string
	for _, g := range packGlobs {
		m, err := fs.Glob(fsys, g)
		if err != nil {
			add("", 0, "", "error", "%v", err)
		}
		files = append(files, m...)
	}
	slices.Sort(files)
	_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".cedar") && !slices.Contains(files, p) {
			add(p, 0, "", "warning", "not in a pack folder (baseline/, countries/, instruments/): ignored")
		}
		return nil
	})
	if len(files) == 0 {
		add("", 0, "", "error", "no pack files (want schema.cedarschema, baseline/*.cedar, countries/*.cedar, instruments/*.cedar)")
		return nil, probs
	}
	h := sha256.New()
	contents := map[string][]byte{}
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			add(f, 0, "", "error", "%v", err)
			continue
		}
		contents[f] = data
		fmt.Fprintf(h, "%s\n%d\n", f, len(data))
		h.Write(data)
	}
	b := &Bundle{hash: "sha256:" + hex.EncodeToString(h.Sum(nil)), files: files, byID: map[string]*rule{}, byAction: map[string][]*rule{},
		index: map[string]*actionIndex{}}

	var validator *validate.Validator
	if data, ok := contents["schema.cedarschema"]; ok {
		var s schema.Schema
		s.SetFilename("schema.cedarschema")
		if err := s.UnmarshalCedar(data); err != nil {
			add("schema.cedarschema", 0, "", "error", "schema: %v", err)
		} else if res, err := s.Resolve(); err != nil {
			add("schema.cedarschema", 0, "", "error", "schema: %v", err)
		} else {
			validator = validate.New(res)
			b.hasSchema = true
		}
	} else {
		add("", 0, "", "warning", "no schema.cedarschema: policies are not type-checked")
	}

	categories := map[string]bool{}
	owners := map[string]bool{}
	for _, f := range files {
		data, ok := contents[f]
		if !ok || !strings.HasSuffix(f, ".cedar") {
			continue
		}
		list, err := cedar.NewPolicyListFromBytes(f, data)
		if err != nil {
			add(f, 0, "", "error", "%v", err)
			continue
		}
		fileOwner := ""
		switch dir, base := path.Split(f); dir {
		case "baseline/":
			fileOwner = "federation"
		case "countries/":
			fileOwner = strings.TrimSuffix(base, ".cedar")
			if !isCountry(fileOwner) {
				add(f, 0, "", "error", "a country pack is named after its two-letter upper-case country code")
			}
		}
		for i, p := range list {
			r, ps := parseRule(f, i, p)
			probs = append(probs, ps...)
			if r == nil {
				continue
			}
			if fileOwner != "" && r.Owner != fileOwner {
				add(f, r.Line, r.ID, "error", "@owner(%q) in a pack owned by %q", r.Owner, fileOwner)
			}
			if strings.HasPrefix(f, "instruments/") && (r.Owner == "federation" || isCountry(r.Owner)) {
				add(f, r.Line, r.ID, "error", "@owner(%q): an instrument's policies are owned by its parties, e.g. \"EU\" or \"EU-US\"", r.Owner)
			}
			if prev, dup := b.byID[r.ID]; dup {
				add(f, r.Line, r.ID, "error", "@id already used at %s:%d", prev.File, prev.Line)
				continue
			}
			probs = append(probs, lintOwnership(r)...)
			if validator != nil {
				if err := validator.Policy(r.ID, (*xast.Policy)(p.AST())); err != nil {
					for _, e := range flatten(err) {
						add(f, r.Line, r.ID, "error", "schema: %v", e)
					}
				}
			}
			collectCategories(p, categories)
			owners[r.Owner] = true
			b.byID[r.ID] = r
			b.rules = append(b.rules, r)
		}
	}
	slices.SortFunc(b.rules, func(x, y *rule) int { return strings.Compare(x.ID, y.ID) })
	words := (len(b.rules) + 63) / 64
	for i, r := range b.rules {
		r.idx = i
	}
	for _, a := range Actions {
		ai := &actionIndex{all: make(bitset, words), byCountry: map[string]bitset{}}
		b.index[a] = ai
		for _, r := range b.rules {
			if r.Actions != nil && !slices.Contains(r.Actions, a) {
				continue
			}
			b.byAction[a] = append(b.byAction[a], r)
			if r.flow == nil {
				ai.all.set(r.idx)
				continue
			}
			for _, c := range r.flow {
				bs, ok := ai.byCountry[c]
				if !ok {
					bs = make(bitset, words)
					ai.byCountry[c] = bs
				}
				bs.set(r.idx)
			}
		}
	}
	for c := range categories {
		b.categories = append(b.categories, c)
	}
	slices.Sort(b.categories)
	for o := range owners {
		b.owners = append(b.owners, o)
	}
	slices.Sort(b.owners)
	for _, p := range probs {
		if p.Severity == "warning" {
			b.warnings = append(b.warnings, p)
		}
	}
	return b, probs
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// parseRule reads a policy's annotations and action scope.
func parseRule(file string, index int, p *cedar.Policy) (*rule, []Problem) {
	pos := p.Position()
	line := pos.Line
	ann := p.Annotations()
	get := func(k string) string { return string(ann[types.AnnotationKey(k)]) }
	id := strings.TrimSpace(get("id"))
	var probs []Problem
	add := func(format string, args ...any) {
		probs = append(probs, Problem{File: file, Line: line, ID: id, Severity: "error", Message: fmt.Sprintf(format, args...)})
	}
	if id == "" {
		add("policy #%d has no @id", index+1)
		return nil, probs
	}
	for k := range ann {
		if !slices.Contains(knownKeys, string(k)) {
			add("unknown annotation @%s (known: @%s)", k, strings.Join(knownKeys, ", @"))
		}
	}
	r := &rule{policy: p, ground: p.Effect() == cedar.Permit, from: math.MinInt, until: math.MaxInt}
	r.ID, r.Cite, r.Owner, r.File, r.Line = id, strings.TrimSpace(get("cite")), strings.TrimSpace(get("owner")), file, line
	r.Kind = "bar"
	if r.ground {
		r.Kind = "ground"
	}
	if r.Cite == "" {
		add("no @cite")
	}
	if r.Owner == "" {
		add("no @owner")
	}
	if k, ok := ann["kind"]; ok && string(k) != r.Kind {
		switch k {
		case "ground", "bar":
			add("@kind(%q) on a %s: a permit is a ground and a forbid a bar", k, map[bool]string{true: "permit", false: "forbid"}[r.ground])
		default:
			add("@kind(%q): want \"ground\" or \"bar\"", k)
		}
	}
	for _, d := range []struct {
		key  string
		s    *string
		days *int
	}{{"from", &r.From, &r.from}, {"until", &r.Until, &r.until}} {
		v, ok := ann[types.AnnotationKey(d.key)]
		if !ok {
			continue
		}
		*d.s = string(v)
		day, err := ParseDay(string(v))
		if err != nil || !dateRe.MatchString(string(v)) {
			add("@%s(%q) is not a YYYY-MM-DD date", d.key, v)
			continue
		}
		*d.days = day
	}
	if r.From != "" && r.Until != "" && r.from >= r.until && r.from != math.MinInt {
		add("@from(%q) is not before @until(%q): the policy is never in force", r.From, r.Until)
	}
	if o := get("obligation"); o != "" {
		for _, part := range strings.Split(o, ",") {
			if part = strings.TrimSpace(part); part != "" {
				r.Obligations = append(r.Obligations, part)
			} else {
				add("@obligation(%q) has an empty item", o)
			}
		}
	}
	a := (*xast.Policy)(p.AST())
	var scoped []xast.IsNode
	switch s := a.Action.(type) {
	case xast.ScopeTypeAll:
	case xast.ScopeTypeEq:
		r.Actions = []string{string(s.Entity.ID)}
		scoped = append(scoped, xast.NodeValue{Value: s.Entity})
	case xast.ScopeTypeIn:
		r.Actions = []string{string(s.Entity.ID)}
		scoped = append(scoped, xast.NodeValue{Value: s.Entity})
	case xast.ScopeTypeInSet:
		for _, e := range s.Entities {
			r.Actions = append(r.Actions, string(e.ID))
			scoped = append(scoped, xast.NodeValue{Value: e})
		}
	}
	check := func(n xast.IsNode) bool {
		v, ok := n.(xast.NodeValue)
		if !ok {
			return true
		}
		uid, ok := v.Value.(cedar.EntityUID)
		if !ok {
			return true
		}
		if uid.Type == typeAction && !slices.Contains(Actions, string(uid.ID)) {
			add("unknown action %s (want one of %s)", uid, strings.Join(Actions, ", "))
		} else if strings.HasSuffix(string(uid.Type), "::Action") && uid.Type != typeAction {
			add("action %s is not in namespace Vigie", uid)
		}
		return true
	}
	for _, n := range scoped {
		check(n)
	}
	for _, c := range a.Conditions {
		xast.Inspect(xast.NewNode(c.Body), check)
	}
	if r.Actions != nil {
		slices.Sort(r.Actions)
		r.Actions = slices.Compact(r.Actions)
	}
	r.fingerprint = string(p.MarshalCedar())
	noScope := *a
	noScope.Action = xast.ScopeTypeAll{}
	r.eval = cedar.NewPolicyFromAST((*ast.Policy)(&noScope))
	return r, probs
}

// isAccess reports whether n is variable.attr.
func isAccess(n xast.IsNode, variable, attr string) bool {
	a, ok := n.(xast.NodeTypeAccess)
	if !ok || string(a.Value) != attr {
		return false
	}
	v, ok := a.Arg.(xast.NodeTypeVariable)
	return ok && string(v.Name) == variable
}

func collectCategories(p *cedar.Policy, into map[string]bool) {
	for _, c := range (*xast.Policy)(p.AST()).Conditions {
		for _, lit := range comparedLiterals(c.Body, "resource", "categories") {
			into[lit] = true
		}
	}
}

// comparedLiterals returns the string literals the expression root compares
// variable.attr with, on either side: ==, != and the set tests contains,
// containsAny and containsAll. They are the values a policy singles out,
// e.g. the categories it tests.
func comparedLiterals(root xast.IsNode, variable, attr string) []string {
	var out []string
	xast.Inspect(xast.NewNode(root), func(n xast.IsNode) bool {
		var l, r xast.IsNode
		switch n := n.(type) {
		case xast.NodeTypeEquals:
			l, r = n.Left, n.Right
		case xast.NodeTypeNotEquals:
			l, r = n.Left, n.Right
		case xast.NodeTypeContains:
			l, r = n.Left, n.Right
		case xast.NodeTypeContainsAny:
			l, r = n.Left, n.Right
		case xast.NodeTypeContainsAll:
			l, r = n.Left, n.Right
		default:
			return true
		}
		switch {
		case isAccess(l, variable, attr):
			out = append(out, literalStrings(r)...)
		case isAccess(r, variable, attr):
			out = append(out, literalStrings(l)...)
		}
		return true
	})
	return out
}

// literalStrings returns the strings of a string literal or of a set literal
// of strings, or nil.
func literalStrings(n xast.IsNode) []string {
	switch n := n.(type) {
	case xast.NodeValue:
		switch v := n.Value.(type) {
		case cedar.String:
			return []string{string(v)}
		case cedar.Set:
			var out []string
			for e := range v.All() {
				s, ok := e.(cedar.String)
				if !ok {
					return nil
				}
				out = append(out, string(s))
			}
			return out
		}
	case xast.NodeTypeSet:
		var out []string
		for _, e := range n.Elements {
			ss := literalStrings(e)
			if len(ss) != 1 {
				return nil
			}
			out = append(out, ss[0])
		}
		return out
	}
	return nil
}

// flowAttrs are the attributes that tie a request to a country.
var flowAttrs = [][2]string{{"principal", "country"}, {"context", "sender"}, {"context", "recipient"}, {"resource", "originator"}}

func isFlowAttr(n xast.IsNode) bool {
	for _, fa := range flowAttrs {
		if isAccess(n, fa[0], fa[1]) {
			return true
		}
	}
	return false
}

// ownerCountries returns the countries a policy of owner may govern flows
// of, or nil for the federation (everything) and for owners naming no
// country (with ok false).
func ownerCountries(owner string) (countries []string, ok bool) {
	if owner == "federation" {
		return nil, true
	}
	if isCountry(owner) {
		return []string{owner}, true
	}
	for _, party := range splitParties(owner) {
		switch {
		case party == "EU":
			countries = append(countries, append([]string{"EU"}, euParties...)...)
		case isCountry(party):
			countries = append(countries, party)
		}
	}
	return countries, len(countries) > 0
}

// splitParties splits an instrument owner such as "EU-US" into its parties.
func splitParties(owner string) []string {
	return strings.FieldsFunc(owner, func(r rune) bool { return r == '-' || r == ',' || r == ' ' })
}

// lintOwnership checks that a policy owned by a country (or by an
// instrument's parties) only governs flows involving that country: its
// conditions must imply that principal.country, context.sender,
// context.recipient or resource.originator is one of the owner's countries.
func lintOwnership(r *rule) []Problem {
	if r.Owner == "federation" {
		return nil
	}
	allowed, ok := ownerCountries(r.Owner)
	if !ok {
		return []Problem{{File: r.File, Line: r.Line, ID: r.ID, Severity: "warning",
			Message: fmt.Sprintf("@owner(%q) names no country: flows governed not checked", r.Owner)}}
	}
	a := (*xast.Policy)(r.policy.AST())
	for _, c := range a.Conditions {
		if constrains(c.Body, bool(c.Condition == xast.ConditionWhen), allowed) {
			r.flow = allowed
			return nil
		}
	}
	return []Problem{{File: r.File, Line: r.Line, ID: r.ID, Severity: "error", Message: fmt.Sprintf(
		"owned by %q but governs flows that need not involve %s: add a condition such as "+
			"principal.country == %q, context.sender == %q, context.recipient == %q or resource.originator == %q",
		r.Owner, strings.Join(compactList(allowed), "/"), allowed[0], allowed[0], allowed[0], allowed[0])}}
}

func compactList(ss []string) []string {
	if len(ss) > 4 {
		return append(slices.Clone(ss[:3]), "…")
	}
	return ss
}

// constrains reports whether n (when positive) or !n (when !positive) being
// true implies that some flow attribute is in allowed.
func constrains(n xast.IsNode, positive bool, allowed []string) bool {
	subset := func(ss []string) bool {
		if len(ss) == 0 {
			return false
		}
		for _, s := range ss {
			if !slices.Contains(allowed, s) {
				return false
			}
		}
		return true
	}
	eq := func(l, r xast.IsNode) bool {
		return (isFlowAttr(l) && subset(literalStrings(r)) && len(literalStrings(r)) == 1) ||
			(isFlowAttr(r) && subset(literalStrings(l)) && len(literalStrings(l)) == 1)
	}
	switch n := n.(type) {
	case xast.NodeTypeAnd:
		if positive {
			return constrains(n.Left, true, allowed) || constrains(n.Right, true, allowed)
		}
		return constrains(n.Left, false, allowed) && constrains(n.Right, false, allowed)
	case xast.NodeTypeOr:
		if positive {
			return constrains(n.Left, true, allowed) && constrains(n.Right, true, allowed)
		}
		return constrains(n.Left, false, allowed) || constrains(n.Right, false, allowed)
	case xast.NodeTypeNot:
		return constrains(n.Arg, !positive, allowed)
	case xast.NodeTypeIfThenElse:
		// if c then t else e ≡ (c && t) || (!c && e), and its negation is
		// if c then !t else !e.
		return (constrains(n.If, true, allowed) || constrains(n.Then, positive, allowed)) &&
			(constrains(n.If, false, allowed) || constrains(n.Else, positive, allowed))
	case xast.NodeTypeEquals:
		return positive && eq(n.Left, n.Right)
	case xast.NodeTypeNotEquals:
		return !positive && eq(n.Left, n.Right)
	case xast.NodeTypeContains:
		return positive && isFlowAttr(n.Right) && subset(literalStrings(n.Left))
	case xast.NodeTypeIn:
		return false
	case xast.NodeValue:
		// "when { false }" never applies: vacuously constrained.
		if bv, ok := n.Value.(cedar.Boolean); ok {
			return bool(bv) != positive
		}
	}
	return false
}

// actionIndex finds the policies that may apply to a request for one action:
// those that apply to any flow, and per country those whose owner's
// ownership constraint names that country.
type actionIndex struct {
	all       bitset
	byCountry map[string]bitset
}

// bitset is a set of rule indexes.
type bitset []uint64

func (b bitset) set(i int) { b[i/64] |= 1 << (i % 64) }

func (b bitset) or(o bitset) {
	for i := range o {
		b[i] |= o[i]
	}
}

// ruleList adapts a slice of rules to cedar.PolicyIterator.
type ruleList []*rule

func (l ruleList) All() iter.Seq2[cedar.PolicyID, *cedar.Policy] {
	return func(yield func(cedar.PolicyID, *cedar.Policy) bool) {
		for _, r := range l {
			if !yield(cedar.PolicyID(r.ID), r.eval) {
				return
			}
		}
	}
}
