package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/vigie-project/vigie/node"
)

func assertCommand() *command {
	return &command{name: "assert", summary: "assert that a URL or expression is a terrorist-content indicator", run: runAssert}
}

func runAssert(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "vigie assert --dir D --url URL|--expression EXPR --category C [--category C2] --tlp T --legal-status S [flags]", `
Records this agency's assertion about one indicator: the URL is canonicalised
(its full canonical expression is the indicator) or the expression is taken
as given (it must already be canonical: "evil.example/a/b.html", a path
prefix "evil.example/a/", or a host "evil.example/"). The expression is
turned into a federation token, the assertion is signed and stored, and the
indicator and assertion CIDs are printed once the write is durable. If this
agency already has a live assertion on the indicator, nothing is written and
the existing one is printed (marked duplicate).

Vocabularies: categories incitement, glorification, apologie, solicitation,
recruitment, instruction, instruction_generic, threat, fto_propaganda,
symbols, incitement_imminent, true_threat, fto_support,
instruction_with_intent, abhorrent_violent_material; legal status intel,
referral, national_order, tco_order, under_scrutiny, annulled; TLP clear,
green, amber, amber+strict, red; PAP clear, green, amber, red.`)
	var nf nodeFlags
	nf.register(fs)
	var spec assertionSpec
	var cats, flags, bases listFlag
	fs.StringVar(&spec.URL, "url", "", "the URL to assert (canonicalised)")
	fs.StringVar(&spec.Expression, "expression", "", "a canonical lookup expression to assert")
	fs.Var(&cats, "category", "content category (repeatable)")
	fs.Var(&flags, "flag", "special_category or imminent_threat_to_life (repeatable)")
	fs.StringVar(&spec.LegalStatus, "legal-status", "", "legal status (required)")
	fs.Var(&bases, "legal-basis", "legal basis reference, e.g. TCO:Art.3 or FR:C.pen.421-2-5 (repeatable; required unless intel)")
	fs.StringVar(&spec.OrderRef, "order-ref", "", "order reference (required for national_order and tco_order)")
	fs.StringVar(&spec.TLP, "tlp", "", "TLP 2.0 marking (required)")
	fs.StringVar(&spec.PAP, "pap", defaultPAP, "PAP marking")
	fs.StringVar(&spec.Handling, "handling", "", "Europol handling code H0-H3")
	fs.StringVar(&spec.HandlingNote, "handling-note", "", "the restriction, with handling H3")
	fs.StringVar(&spec.SourceEval, "source-eval", defaultSourceEval, "source reliability A, B, C or X")
	fs.StringVar(&spec.InfoEval, "info-eval", defaultInfoEval, "information accuracy 1-4")
	fs.StringVar(&spec.Onward, "onward", defaultOnward, "onward transfer: denied, ask_originator, granted")
	fs.StringVar(&spec.Expires, "expires", "", "expiry date (2027-01-31 or RFC 3339)")
	fs.StringVar(&spec.ReviewDue, "review-due", "", "review date (2027-01-31 or RFC 3339)")
	asJSON := fs.Bool("json", false, `print {"indicator":…,"assertion":…} as JSON`)
	if code, done := fs.Parse(args); done {
		return code
	}
	if code, bad := nf.check(fs); bad {
		return code
	}
	if len(fs.Args()) > 0 {
		return fs.usageError("unexpected argument %q (use --url or --expression)", fs.Args()[0])
	}
	spec.Categories, spec.Flags, spec.LegalBasis = cats, flags, bases
	req, err := spec.request()
	if err != nil {
		return fs.usageError("%v", err)
	}
	n, ok := nf.connect(ctx, e)
	if !ok {
		return exitUsage
	}
	defer n.Close()
	res, err := assertOne(ctx, n, req)
	if err != nil {
		e.errorf("assert: %v", strings.TrimPrefix(err.Error(), "node: "))
		return exitUsage
	}
	printAssertResult(e, res, *asJSON)
	return exitOK
}

// assertOne is node.Node.Assert for any nodeAPI.
func assertOne(ctx context.Context, n nodeAPI, req node.AssertRequest) (node.AssertResult, error) {
	results, err := n.AssertMany(ctx, []node.AssertRequest{req})
	if err != nil {
		return node.AssertResult{}, err
	}
	return results[0], results[0].Err
}

func printAssertResult(e *env, res node.AssertResult, asJSON bool) {
	if asJSON {
		out := map[string]any{"indicator": res.Indicator.String(), "assertion": res.Assertion.String()}
		if res.Duplicate {
			out["duplicate"] = true
		}
		json.NewEncoder(e.stdout).Encode(out)
		return
	}
	fmt.Fprintf(e.stdout, "indicator %s\nassertion %s\n", res.Indicator, res.Assertion)
	if res.Duplicate {
		fmt.Fprintln(e.stdout, "(duplicate: this agency already asserts this indicator; nothing written)")
	}
}
