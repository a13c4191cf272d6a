package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/vigie-project/vigie/node"
	"github.com/vigie-project/vigie/protocol/record"
)

func demoCommand() *command {
	return &command{name: "demo", summary: "create a local demo node seeded with synthetic indicators", run: runDemo}
}

func runDemo(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "vigie demo [--dir D] [--indicators N]", `
Creates a standalone node in a new temporary folder (or --dir), seeds it
with synthetic indicators on reserved names only (.example and .test, which
can never be real sites), retracts one to show how withdrawals look, and
prints commands to try. The folder is kept so you can run them; delete it
when done.`)
	dir := fs.String("dir", "", "folder for the demo node (default: a new temporary folder)")
	count := fs.Int("indicators", 3000, "how many synthetic indicators to seed")
	if code, done := fs.Parse(args); done {
		return code
	}
	if *count < 1 || *count > 1_000_000 {
		return fs.usageError("--indicators must be between 1 and 1000000")
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "vigie-demo-")
		if err != nil {
			e.errorf("demo: %v", err)
			return exitUsage
		}
		*dir = d + "/node"
	}
	if err := node.Init(ctx, *dir, node.InitOptions{Country: "FR", Org: "demo", OrgName: "Demo national service"}); err != nil {
		e.errorf("demo: %v", err)
		return exitUsage
	}
	n, err := node.Open(ctx, *dir)
	if err != nil {
		e.errorf("demo: %v", err)
		return exitUsage
	}
	defer n.Close()
	start := time.Now()
	retracted, err := seedDemo(ctx, n, *count)
	if err != nil {
		e.errorf("demo: seeding: %v", err)
		return exitUsage
	}
	fmt.Fprintf(e.stdout, `Demo node for %s in %s
Seeded %d synthetic indicators in %s (tokenised, signed and stored durably).

Try:
  vigie lookup --dir %[2]s --purpose "demo case 1" http://www.propaganda-1.example/any/page.html
  vigie lookup --dir %[2]s --purpose "demo case 1" --json http://forum-2.test/board/2/thread.html
  vigie lookup --dir %[2]s --purpose "demo case 1" http://withdrawn.example/   (retracted: shown, not live)
  vigie lookup --dir %[2]s --purpose "demo case 1" http://benign.example/      (no match, exit status 0)
  vigie assert --dir %[2]s --url http://new-site.example/video.html --category incitement --tlp amber --legal-status referral --legal-basis TCO:Art.5
  vigie retract --dir %[2]s --reason false_positive %[5]s   (already retracted: see the message)
  vigie url canon --json 'HTTP://WWW.Propaganda-1.EXAMPLE/a/../b/?q=1#frag'

(without go install, use 'go run ./cmd/vigie' for 'vigie'; delete %[2]s when done)
`, n.Agency(), *dir, *count, time.Since(start).Round(time.Millisecond), retracted)
	return exitOK
}

// seedDemo asserts count synthetic indicators and retracts one; it returns
// the retracted assertion's CID.
func seedDemo(ctx context.Context, n *node.Node, count int) (string, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	cats := record.Categories()
	reqs := make([]node.AssertRequest, 0, count)
	for i := range count {
		req := node.AssertRequest{
			Categories:  []record.Category{cats[rng.IntN(len(cats))]},
			LegalStatus: record.StatusReferral,
			LegalBasis:  []string{"TCO:Art.5"},
			TLP:         []record.TLP{record.TLPClear, record.TLPGreen, record.TLPAmber}[rng.IntN(3)],
			PAP:         record.PAPAmber, SourceEval: "B", InfoEval: "2", Onward: record.OnwardAsk,
		}
		switch i % 3 {
		case 0:
			req.Expression = fmt.Sprintf("propaganda-%d.example/", i/3+1)
		case 1:
			req.Expression = fmt.Sprintf("forum-%d.test/board/%d/", i/3+1, (i/3+1)%5)
		default:
			req.URL = fmt.Sprintf("http://videos-%d.example/watch/%d.html", i/3+1, rng.IntN(1_000_000))
		}
		reqs = append(reqs, req)
	}
	withdrawn := node.AssertRequest{Expression: "withdrawn.example/", Categories: []record.Category{record.CatIncitement},
		LegalStatus: record.StatusIntel, TLP: record.TLPGreen, PAP: record.PAPAmber, SourceEval: "C", InfoEval: "3", Onward: record.OnwardAsk}
	reqs = append(reqs, withdrawn)
	for start := 0; start < len(reqs); start += importBatch {
		res, err := n.AssertMany(ctx, reqs[start:min(start+importBatch, len(reqs))])
		if err != nil {
			return "", err
		}
		for _, r := range res {
			if r.Err != nil {
				return "", r.Err
			}
		}
	}
	last, err := n.Assert(ctx, withdrawn) // a duplicate: returns the stored assertion
	if err != nil {
		return "", err
	}
	if _, err := n.Retract(ctx, node.RetractRequest{Assertion: last.Assertion, Reason: record.ReasonFalsePositive}); err != nil {
		return "", err
	}
	return last.Assertion.String(), nil
}
