package policy

import (
	mathbits "math/bits"
	"slices"
	"strings"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/ast"
	"github.com/cedar-policy/cedar-go/types"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
	xeval "github.com/cedar-policy/cedar-go/x/exp/eval"
)

// attrSet is a set of request attributes, one bit per entry of requestAttrs.
// Diff uses it to prove that a table dimension cannot change a decision.
type attrSet uint64

// requestAttrs lists every attribute cedarRequest sets, as variable.attribute.
// An attribute outside this list is never set, so reading it gives the same
// result (an error, or false for has) whatever the request: it is ignored.
var requestAttrs = [...]string{
	"principal.country", "principal.org", "principal.org_type",
	"resource.categories", "resource.tlp", "resource.pap", "resource.tlp_level", "resource.pap_level",
	"resource.legal_status", "resource.scope", "resource.handling", "resource.onward_ok", "resource.originator",
	"resource.special_category", "resource.excluded_purpose", "resource.has_expiry", "resource.expires_days",
	"context.sender", "context.recipient", "context.date", "context.days_since_epoch", "context.purpose",
	"context.human_reviewed", "context.oversight_notified", "context.urgent", "context.order_ref",
}

// attrsOf returns the set holding the named attributes ("resource.tlp").
func attrsOf(names ...string) attrSet {
	var s attrSet
	for _, n := range names {
		if i := slices.Index(requestAttrs[:], n); i >= 0 {
			s |= 1 << i
		}
	}
	return s
}

// allAttrs returns every attribute of variable ("principal", "resource",
// "context").
func allAttrs(variable string) attrSet {
	var s attrSet
	for i, n := range requestAttrs {
		if strings.HasPrefix(n, variable+".") {
			s |= 1 << i
		}
	}
	return s
}

// Names lists the attributes in s, in requestAttrs order.
func (s attrSet) Names() []string {
	var out []string
	s &= 1<<len(requestAttrs) - 1
	for s != 0 {
		i := mathbits.TrailingZeros64(uint64(s))
		out = append(out, requestAttrs[i])
		s &^= 1 << i
	}
	return out
}

// holder names the request variable whose attributes n stands for: the
// variable itself, or — in a partially evaluated policy, where variables
// have been replaced by their values — the principal or resource entity or
// the context record.
func holder(n xast.IsNode) (string, bool) {
	switch n := n.(type) {
	case xast.NodeTypeVariable:
		return string(n.Name), true
	case xast.NodeValue:
		switch v := n.Value.(type) {
		case types.EntityUID:
			switch v.Type {
			case typeAgency:
				return "principal", true
			case typeAssertion:
				return "resource", true
			}
		case types.Record:
			return "context", true
		}
	}
	return "", false
}

// readsOf returns the request attributes n may read, and whether it uses the
// whole context record rather than only its attributes (context == {...}),
// in which case every attribute of the context counts as read.
func readsOf(n xast.IsNode) (reads attrSet, whole bool) {
	xast.Inspect(xast.NewNode(n), func(n xast.IsNode) bool {
		var op xast.StrOpNode
		switch n := n.(type) {
		case xast.NodeTypeAccess:
			op = n.StrOpNode
		case xast.NodeTypeHas:
			op = n.StrOpNode
		default:
			switch v, _ := holder(n); v {
			case "context":
				// A record compares by value: every attribute counts.
				reads |= allAttrs(v)
				whole = true
			case "principal":
				// An entity compares by id, which is "country/org"; its
				// attributes are read only through access.
				reads |= attrsOf("principal.country", "principal.org")
			}
			return true
		}
		name := string(op.Value)
		v, ok := holder(op.Arg)
		if !ok {
			// A computed entity or record: it may be any of them. Its own
			// reads are found below it.
			reads |= attrsOf("principal."+name, "resource."+name, "context."+name)
			return true
		}
		reads |= attrsOf(v + "." + name)
		return false
	})
	return reads, whole
}

// policyReads returns the attributes a policy's scope and conditions may
// read (the static analysis Diff starts from), and whether it uses the
// whole context record.
func policyReads(p *xast.Policy) (attrSet, bool) {
	return readsOf(xeval.PolicyToNode(p).AsIsNode())
}

// ruleAttrs is what Diff knows about one policy of a bundle.
type ruleAttrs struct {
	reads attrSet
	// whole: the policy uses the whole context record, so it is never
	// partially evaluated (a record holding unknowns compares wrongly).
	whole bool
	// keyed: the fixed attributes whose values the partial evaluation
	// depends on.
	keyed attrSet
}

// fixedAttrs are the attributes a decision-table group (action, sender,
// recipient) and the table's date and expiry fix.
var fixedAttrs = attrsOf("principal.country", "principal.org", "principal.org_type", "resource.originator",
	"resource.has_expiry", "resource.expires_days", "context.sender", "context.recipient", "context.date",
	"context.days_since_epoch", "context.purpose")

// analyseRules runs the static analysis over every policy of b, indexed like
// b.rules.
func analyseRules(b *Bundle) []ruleAttrs {
	out := make([]ruleAttrs, len(b.rules))
	for i, r := range b.rules {
		reads, whole := policyReads((*xast.Policy)(r.eval.AST()))
		out[i] = ruleAttrs{reads: reads, whole: whole, keyed: reads & fixedAttrs}
	}
	return out
}

// group is one (action, sender, recipient) of a table: everything a
// request fixes besides the table's dimensions.
type group struct {
	action, sender, recipient string
}

// acting is the principal's country, as Normalize fills it in.
func (g group) acting() string {
	if g.action == "share" || g.action == "retract" {
		return g.sender
	}
	return g.recipient
}

// candidates returns the policies of b that Decide considers for requests of
// g on day (originator = sender), in Decide's order.
func (b *Bundle) candidates(g group, day int) []*rule {
	ai := b.index[g.action]
	bits := slices.Clone(ai.all)
	for _, c := range [...]string{g.acting(), g.sender, g.recipient} {
		if bs, ok := ai.byCountry[c]; ok {
			bits.or(bs)
		}
	}
	var out []*rule
	for w, word := range bits {
		for word != 0 {
			r := b.rules[w*64+mathbits.TrailingZeros64(word)]
			word &= word - 1
			if r.inForce(day) {
				out = append(out, r)
			}
		}
	}
	return out
}

// partialEnv is the Cedar environment of a group: the fixed attributes have
// their values except those in blind, the table's dimensions are unknowns
// except those given in known (by attribute name, "resource.tlp").
func (t Table) partialEnv(g group, known map[string]types.Value, blind attrSet) xeval.Env {
	day, _ := ParseDay(t.Date)
	expires := 0
	if t.Expires != "" {
		expires, _ = ParseDay(t.Expires)
	}
	principal := types.NewEntityUID(typeAgency, types.String(g.acting()+"/"))
	resource := types.NewEntityUID(typeAssertion, "request")
	res := types.RecordMap{"originator": types.String(g.sender), "has_expiry": types.Boolean(t.Expires != ""),
		"expires_days": types.Long(expires)}
	ctx := types.RecordMap{"sender": types.String(g.sender), "recipient": types.String(g.recipient),
		"date": types.String(t.Date), "days_since_epoch": types.Long(day), "purpose": types.String("")}
	for _, n := range (^fixedAttrs | blind&attrsOf("resource.originator", "context.sender", "context.recipient")).Names() {
		v, ok := known[n]
		if !ok {
			v = xeval.Variable(types.String(n))
		}
		if name, isRes := strings.CutPrefix(n, "resource."); isRes {
			res[types.String(name)] = v
		} else if name, isCtx := strings.CutPrefix(n, "context."); isCtx {
			ctx[types.String(name)] = v
		}
	}
	return xeval.Env{
		Entities: types.EntityMap{
			principal: {UID: principal, Attributes: types.NewRecord(types.RecordMap{
				"country": types.String(g.acting()), "org": types.String(""), "org_type": types.String("")})},
			resource: {UID: resource, Attributes: types.NewRecord(res)},
		},
		Principal: principal,
		Action:    types.NewEntityUID(typeAction, types.String(g.action)),
		Resource:  resource,
		Context:   types.NewRecord(ctx),
	}
}

// residue partially evaluates r in env. It returns nil when r can neither
// match nor fail for any value of the unknowns.
func residue(r *rule, env xeval.Env) *xast.Policy {
	// One condition, in Cedar's evaluation order: PartialPolicy would drop
	// a residue that may fail when a later condition is false, while Cedar
	// evaluates (and fails on) the earlier one first.
	p := (*xast.Policy)(r.eval.AST())
	single := &xast.Policy{Effect: p.Effect, Principal: xast.ScopeTypeAll{}, Action: xast.ScopeTypeAll{},
		Resource: xast.ScopeTypeAll{}, Conditions: []xast.ConditionType{{Condition: xast.ConditionWhen,
			Body: xeval.PolicyToNode(p).AsIsNode()}}}
	out, keep := xeval.PartialPolicy(env, single)
	if !keep {
		return nil
	}
	return out
}

// liveReads partially evaluates r in env. It reports false when r can
// neither match nor fail for any value of the unknowns, and otherwise the
// unknowns its residue still reads.
func liveReads(r *rule, ra ruleAttrs, env xeval.Env) (bool, attrSet) {
	if ra.whole {
		return true, ra.reads &^ fixedAttrs
	}
	res := residue(r, env)
	if res == nil {
		return false, 0
	}
	var reads attrSet
	for _, c := range res.Conditions {
		rs, _ := readsOf(c.Body)
		reads |= rs
	}
	return true, reads &^ fixedAttrs
}

// residueText is a canonical text of r's residue in env, "" when r can
// neither match nor fail. Two values of a dimension whose residues are the
// same text make r behave alike whatever the other dimensions.
func residueText(r *rule, env xeval.Env) string {
	res := residue(r, env)
	if res == nil {
		return ""
	}
	return string(cedar.NewPolicyFromAST((*ast.Policy)(res)).MarshalCedar())
}

// knownValues returns the values Decide gives the attributes attrs for
// request r, built as Decide builds them.
func knownValues(r Request, attrs attrSet) map[string]types.Value {
	n, err := r.Normalize()
	if err != nil {
		return nil
	}
	creq, entities := n.cedarRequest()
	res := entities[creq.Resource].Attributes
	ctx := creq.Context
	out := map[string]types.Value{}
	for _, name := range attrs.Names() {
		var v types.Value
		var ok bool
		if a, isRes := strings.CutPrefix(name, "resource."); isRes {
			v, ok = res.Get(types.String(a))
		} else if a, isCtx := strings.CutPrefix(name, "context."); isCtx {
			v, ok = ctx.Get(types.String(a))
		}
		if ok {
			out[name] = v
		}
	}
	return out
}

// literals returns the string literals b's policies compare attr
// ("resource.legal_status") with (comparedLiterals). They extend a table's
// values beyond the documented vocabulary, as the categories the packs
// test do.
func (b *Bundle) literals(attr string) []string {
	variable, name, _ := strings.Cut(attr, ".")
	var out []string
	for _, r := range b.rules {
		root := xeval.PolicyToNode((*xast.Policy)(r.eval.AST())).AsIsNode()
		out = append(out, comparedLiterals(root, variable, name)...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
