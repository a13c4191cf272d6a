package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/vigie-project/vigie/node"
)

func lookupCommand() *command {
	return &command{name: "lookup", summary: "look up URLs against the indicators this node holds", run: runLookup}
}

func runLookup(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "vigie lookup --dir D --purpose TEXT [--requester ID] [--json] URL...", `
Checks each URL against every indicator this node holds: all of the URL's
lookup expressions (exact URL, path prefixes, host suffixes) are tokenised in
one batch, so URL-, directory- and host-level listings all match. Every
matching indicator is shown with all its assertions: who made them, the
categories, legal status, TLP/PAP, and whether agencies disagree. Retracted
and expired assertions are shown, marked, but are not live matches.

A look-up is a consultation under the Law Enforcement Directive: --purpose
(the justification) is required and is recorded with who asked. The URL
itself is never logged.

With --json, prints one JSON object per URL and line.
Exit status: 0 if no live assertion matched, 1 if one did, 2 on an error
(bad URL, missing purpose, node unavailable).`)
	var nf nodeFlags
	nf.register(fs)
	purpose := fs.String("purpose", "", "why you are looking this up, e.g. a case reference (required)")
	requester := fs.String("requester", currentUser(), "who is asking (default: the system user)")
	asJSON := fs.Bool("json", false, "print one JSON object per URL and line")
	if code, done := fs.Parse(args); done {
		return code
	}
	if code, bad := nf.check(fs); bad {
		return code
	}
	if strings.TrimSpace(*purpose) == "" {
		return fs.usageError("--purpose is required: every look-up is recorded with its justification")
	}
	if strings.TrimSpace(*requester) == "" {
		return fs.usageError("--requester is required: every look-up is recorded with who asked (no system user name was found)")
	}
	if len(fs.Args()) == 0 {
		return fs.usageError("no URL given")
	}
	n, ok := nf.connect(ctx, e)
	if !ok {
		return exitUsage
	}
	defer n.Close()
	live, failed := false, false
	for _, u := range fs.Args() {
		res, err := n.Lookup(ctx, node.LookupRequest{URL: u, Purpose: *purpose, Requester: *requester})
		if err != nil {
			failed = true
			reportLookupError(e, u, err, *asJSON)
			continue
		}
		live = live || res.Live()
		if *asJSON {
			writeJSONLine(e, lookupJSON(u, res))
		} else {
			printLookup(e, u, res)
		}
	}
	switch {
	case failed:
		return exitUsage
	case live:
		return exitNegative
	}
	return exitOK
}

func reportLookupError(e *env, input string, err error, asJSON bool) {
	msg := strings.TrimPrefix(err.Error(), "node: ")
	if asJSON && errors.Is(err, node.ErrInvalidInput) {
		writeJSONLine(e, map[string]string{"input": input, "error": msg})
		return
	}
	e.errorf("lookup: %s", msg)
}

func writeJSONLine(e *env, v any) {
	enc := json.NewEncoder(e.stdout)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		e.errorf("writing output: %v", err)
	}
}

func printLookup(e *env, input string, res *node.LookupResult) {
	verdict := "no live match"
	if res.Live() {
		verdict = "LIVE MATCH"
	}
	fmt.Fprintf(e.stdout, "%s  (%s; %d expressions checked)\n", res.Canonical, verdict, res.Expressions)
	for _, m := range res.Matches {
		state := "live"
		if !m.Live {
			state = "not live"
		}
		if m.Disputed {
			state += ", DISPUTED"
		}
		fmt.Fprintf(e.stdout, "  %s %s  indicator %s (%s)\n", m.Kind, m.Expression, m.Indicator, state)
		for _, a := range m.Assertions {
			fmt.Fprintf(e.stdout, "    %s  %s  %s  TLP:%s PAP:%s  %s%s\n", a.Origin, a.LegalStatus, joinStrings(a.Categories),
				strings.ToUpper(string(a.TLP)), strings.ToUpper(string(a.PAP)), a.CID, assertionState(a))
			if line := actionsLine(a); line != "" {
				fmt.Fprintf(e.stdout, "      %s\n", line)
			}
		}
	}
}

// actionsLine summarises what the requester's country may do with an
// assertion: "may: refer (FR-...); may not: block (bars: FR-...)".
func actionsLine(a node.AssertionView) string {
	if len(a.Actions) == 0 {
		return ""
	}
	var may, mayNot []string
	for _, action := range node.LookupActions() {
		v, ok := a.Actions[action]
		if !ok {
			continue
		}
		name := strings.TrimPrefix(action, "act_")
		switch {
		case v.Allowed:
			may = append(may, fmt.Sprintf("%s (%s)", name, strings.Join(v.Grounds, ", ")))
		case len(v.Bars) > 0:
			mayNot = append(mayNot, fmt.Sprintf("%s (bars: %s)", name, strings.Join(v.Bars, ", ")))
		case v.Decision == "indeterminate":
			mayNot = append(mayNot, name+" (indeterminate)")
		default:
			mayNot = append(mayNot, name+" (no legal basis)")
		}
	}
	var parts []string
	if len(may) > 0 {
		parts = append(parts, "may: "+strings.Join(may, ", "))
	}
	if len(mayNot) > 0 {
		parts = append(parts, "may not: "+strings.Join(mayNot, ", "))
	}
	return strings.Join(parts, "; ")
}

func assertionState(a node.AssertionView) string {
	switch {
	case a.Retraction != nil:
		return fmt.Sprintf("  [retracted %s: %s]", a.Retraction.Time.Format(time.DateOnly), a.Retraction.Reason)
	case a.Expired:
		return fmt.Sprintf("  [expired %s]", time.Unix(int64(a.Expires), 0).UTC().Format(time.DateOnly))
	}
	return ""
}

func joinStrings[S ~string](in []S) string { return strings.Join(stringsOf(in), ",") }

// currentUser is who runs the command: $USER, else the account's name.
func currentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}
