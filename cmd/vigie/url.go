package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/vigie-project/vigie/protocol/urlcanon"
)

func urlCommand() *command {
	return &command{
		name:    "url",
		summary: "work with URLs as the federation sees them",
		subs:    []*command{urlCanonCommand()},
	}
}

func urlCanonCommand() *command {
	return &command{
		name:    "canon",
		summary: "print the canonical form and lookup expressions of URLs",
		run:     runURLCanon,
	}
}

// canonResult is one line of `vigie url canon --json`; the field names are
// part of the command-line contract.
type canonResult struct {
	Input       string   `json:"input"`
	Canonical   string   `json:"canonical,omitempty"`
	Expressions []string `json:"expressions,omitempty"`
	Error       string   `json:"error,omitempty"`
}

func runURLCanon(_ context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "vigie url canon [--json] URL...", `
Canonicalises each URL exactly as Google Safe Browsing v4 does and lists the
host-suffix x path-prefix expressions (at most 30) that a look-up of it
checks. Nothing is sent anywhere: this runs locally.

With --json, prints one JSON object per input and line:
  {"input":..., "canonical":..., "expressions":[...]}
or {"input":..., "error":...} for an input that cannot be canonicalised.
Exit status: 0 if every input was canonicalised, 1 if any failed, 2 on a
usage error.`)
	asJSON := fs.Bool("json", false, "print one JSON object per line")
	if code, done := fs.Parse(args); done {
		return code
	}
	if len(fs.Args()) == 0 {
		return fs.usageError("url canon: no URL given")
	}
	failed := false
	enc := json.NewEncoder(e.stdout)
	enc.SetEscapeHTML(false)
	for _, in := range fs.Args() {
		res := canonicalise(in)
		failed = failed || res.Error != ""
		if *asJSON {
			if err := enc.Encode(res); err != nil {
				e.errorf("writing output: %v", err)
				return exitUsage
			}
			continue
		}
		printCanon(e, res)
	}
	if failed {
		return exitNegative
	}
	return exitOK
}

func canonicalise(in string) canonResult {
	u, err := urlcanon.Canonicalize(in)
	if err != nil {
		return canonResult{Input: in, Error: err.Error()}
	}
	return canonResult{Input: in, Canonical: u.String(), Expressions: u.Expressions()}
}

func printCanon(e *env, r canonResult) {
	if r.Error != "" {
		fmt.Fprintf(e.stdout, "%q: error: %s\n", r.Input, r.Error)
		return
	}
	fmt.Fprintf(e.stdout, "%s\n", r.Canonical)
	for _, x := range r.Expressions {
		fmt.Fprintf(e.stdout, "  %-7s %s\n", urlcanon.KindOf(x), x)
	}
}
