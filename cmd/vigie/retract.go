package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/node"
	"github.com/vigie-project/vigie/protocol/record"
)

func retractCommand() *command {
	return &command{name: "retract", summary: "withdraw one of this agency's assertions", run: runRetract}
}

func runRetract(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "vigie retract --dir D --reason KIND [--note TEXT] [--superseded-by CID] [--json] ASSERTION_CID", `
Withdraws an assertion this agency made. Look-ups then show it as retracted
with the reason; it no longer counts as a live match. Only the originating
agency may retract. Asserting the same indicator again later makes a new
assertion.

Reasons: false_positive, incorrect, unlawfully_transmitted,
annulled_by_court, annulled_on_scrutiny, superseded (with --superseded-by),
expired, originator_withdrawn.`)
	var nf nodeFlags
	nf.register(fs)
	reason := fs.String("reason", "", "why the assertion is withdrawn (required)")
	note := fs.String("note", "", "optional note for people (never a URL or host name)")
	superseded := fs.String("superseded-by", "", "the assertion that replaces this one (with --reason superseded)")
	asJSON := fs.Bool("json", false, `print {"assertion":…,"retraction":…} as JSON`)
	if code, done := fs.Parse(args); done {
		return code
	}
	if code, bad := nf.check(fs); bad {
		return code
	}
	if *reason == "" {
		return fs.usageError("--reason is required")
	}
	if len(fs.Args()) != 1 {
		return fs.usageError("give exactly one assertion CID")
	}
	target, err := cid.Decode(fs.Args()[0])
	if err != nil {
		return fs.usageError("%q is not a CID: %v", fs.Args()[0], err)
	}
	req := node.RetractRequest{Assertion: target, Reason: record.RetractionReason(*reason), Note: *note}
	if *superseded != "" {
		if req.SupersededBy, err = cid.Decode(*superseded); err != nil {
			return fs.usageError("--superseded-by: %v", err)
		}
	}
	n, ok := nf.connect(ctx, e)
	if !ok {
		return exitUsage
	}
	defer n.Close()
	rc, err := n.Retract(ctx, req)
	if err != nil {
		e.errorf("retract: %s", strings.TrimPrefix(err.Error(), "node: "))
		if errors.Is(err, node.ErrAlreadyRetracted) {
			return exitNegative
		}
		return exitUsage
	}
	if *asJSON {
		json.NewEncoder(e.stdout).Encode(map[string]string{"assertion": target.String(), "retraction": rc.String()})
		return exitOK
	}
	fmt.Fprintf(e.stdout, "retraction %s\n", rc)
	return exitOK
}
