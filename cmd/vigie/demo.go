package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/vigie-project/vigie/node/daemon"
)

func demoCommand() *command {
	return &command{name: "demo", summary: "run a local federation of real nodes seeded with synthetic indicators", run: runDemo}
}

func runDemo(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "vigie demo [--nodes N] [--indicators M] [--dir D] [--check [--json]]", `
Starts a federation on this machine: one real node per state (the 28 EU
member states of 2014-2015 with GB, then US, CA and AU), each with its own
store in a folder of its own, connected over libp2p on loopback (QUIC, TLS
1.3, gated by the federation's signed roster), tokenising through 3 of 5
issuers, each keeping a tamper-evident audit log whose checkpoints 3
peers cosign. It seeds synthetic indicators on reserved names only (.example
and .test, which can never be real sites) from several states, with
overlaps (the same site flagged by two states is one indicator with two
assertions) and a mix of TLP labels (TLP:RED assertions stay with their
origin), waits until every node holds what it may, retracts some, and then:

  - without --check, keeps running until interrupted (Ctrl-C) and prints
    commands to try against any node: each serves its local API, so
    'vigie lookup --dir D/FR ...' asks the running French node;
  - with --check, measures and exits: push and retraction latencies from
    the origin's acknowledgement to each node storing the record, whether
    every node holds exactly what the baseline policy permits, policy
    violations and invalid records accepted. --json prints one JSON object:
    nodes, indicators_asserted, unique_indicators, converged, push_p50_ms,
    push_p99_ms, retraction_p50_ms, retraction_p99_ms, policy_violations,
    invalid_records_accepted (and a few more fields).

Exit status: 0 on success; 1 if --check found the federation not
converged or a violation; 2 on an error.`)
	nodes := fs.Int("nodes", len(daemon.Federation31), "how many states run a node (2 to 31)")
	count := fs.Int("indicators", 3000, "how many synthetic indicators to seed")
	dir := fs.String("dir", "", "folder for the federation (default: a new temporary folder, removed after --check)")
	check := fs.Bool("check", false, "measure, print a report and exit")
	asJSON := fs.Bool("json", false, "with --check: print the report as one JSON object")
	timeout := fs.Duration("timeout", 2*time.Minute, "with --check: how long to wait for convergence")
	if code, done := fs.Parse(args); done {
		return code
	}
	switch {
	case *nodes < 2 || *nodes > len(daemon.Federation31):
		return fs.usageError(fmt.Sprintf("--nodes must be between 2 and %d", len(daemon.Federation31)))
	case *count < 1 || *count > 1_000_000:
		return fs.usageError("--indicators must be between 1 and 1000000")
	case *asJSON && !*check:
		return fs.usageError("--json goes with --check")
	}
	root, cleanup, err := demoDir(*dir, *check)
	if err != nil {
		e.errorf("demo: %v", err)
		return exitUsage
	}
	defer cleanup()
	countries := daemon.Federation31[:*nodes]
	arrivals := daemon.NewArrivals(len(countries))
	log := logrus.New()
	log.SetOutput(e.stderr)
	log.SetLevel(logrus.ErrorLevel)
	issuers := min(5, len(countries))
	l, err := daemon.StartLocal(ctx, root, daemon.LocalOptions{
		Countries: countries, Threshold: min(3, issuers), Issuers: issuers, WitnessQuorum: min(3, len(countries)-1),
		PerMember: func(i int, _ string) []daemon.Option {
			opts := []daemon.Option{arrivals.Option(i), daemon.WithLogger(logrus.NewEntry(log)),
				daemon.WithBackoff(100*time.Millisecond, 5*time.Second)}
			if !*check {
				opts = append(opts, daemon.WithLocalAPI())
			}
			return opts
		},
	})
	if err != nil {
		e.errorf("demo: starting the federation: %v", err)
		return exitUsage
	}
	defer l.Close()
	if !*asJSON {
		fmt.Fprintf(e.stdout, "Started %d nodes in %s; waiting for them to connect...\n", len(countries), root)
	}
	if err := l.WaitConnected(ctx, time.Minute); err != nil {
		e.errorf("demo: %v", err)
		return exitUsage
	}
	rep, err := daemon.Check(ctx, l, arrivals, *count, *timeout)
	if err != nil {
		e.errorf("demo: %v", err)
		return exitUsage
	}
	if *check {
		return printCheck(e, rep, *asJSON)
	}
	printDemoTour(e, root, rep)
	<-ctx.Done()
	fmt.Fprintln(e.stdout, "Stopping the federation...")
	return exitOK
}

// demoDir returns the federation's folder, and what to do with it at the
// end: a temporary folder made for --check is removed, any other is kept.
func demoDir(dir string, check bool) (string, func(), error) {
	if dir != "" {
		if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
			return "", nil, fmt.Errorf("%s is not empty: give a new or empty folder", dir)
		}
		return dir, func() {}, os.MkdirAll(dir, 0o700)
	}
	d, err := os.MkdirTemp("", "vigie-demo-")
	if err != nil {
		return "", nil, err
	}
	if check {
		return d, func() { os.RemoveAll(d) }, nil
	}
	return d, func() {}, nil
}

func printCheck(e *env, rep *daemon.CheckReport, asJSON bool) int {
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		if err := enc.Encode(rep); err != nil {
			e.errorf("demo: %v", err)
			return exitUsage
		}
	} else {
		fmt.Fprintf(e.stdout, `%d nodes; %d assertions of %d unique indicators seeded in %.1fs
converged: %t (every node holds exactly what the baseline policy permits)
push latency:       p50 %.1f ms, p99 %.1f ms
retraction latency: p50 %.1f ms, p99 %.1f ms (%d retractions)
policy violations: %d; invalid records accepted: %d
`, rep.Nodes, rep.IndicatorsAsserted, rep.UniqueIndicators, rep.SeedSeconds, rep.Converged,
			rep.PushP50ms, rep.PushP99ms, rep.RetractionP50ms, rep.RetractionP99ms, rep.Retractions,
			rep.PolicyViolations, rep.InvalidAccepted)
		for _, p := range rep.Problems {
			fmt.Fprintf(e.stdout, "problem: %s\n", p)
		}
	}
	if !rep.Converged {
		return exitNegative
	}
	return exitOK
}

func printDemoTour(e *env, root string, rep *daemon.CheckReport) {
	fr := filepath.Join(root, daemon.Federation31[0])
	fmt.Fprintf(e.stdout, `Federation of %d nodes running in %s (one folder per state).
Seeded %d assertions of %d unique indicators; every node converged: %t
(push p99 %.0f ms, retraction p99 %.0f ms).

Try, in another terminal (each node answers through its local API):
  vigie lookup --dir %[8]s --purpose "demo case 1" http://www.propaganda-1.example/any/page.html
  vigie lookup --dir %[9]s --purpose "demo case 1" --json http://forum-2.test/board/2/thread.html
  vigie lookup --dir %[8]s --purpose "demo case 1" http://benign.example/      (no match, exit status 0)
  vigie assert --dir %[8]s --url http://new-site.example/video.html --category incitement --tlp green --onward granted --legal-status referral --legal-basis TCO:Art.5
  then look it up at another node: vigie lookup --dir %[9]s --purpose "demo case 2" http://new-site.example/video.html

(without go install, use 'go run ./cmd/vigie' for 'vigie'). Ctrl-C stops the
federation; delete %[2]s when done.
`, rep.Nodes, root, rep.IndicatorsAsserted, rep.UniqueIndicators, rep.Converged, rep.PushP99ms, rep.RetractionP99ms,
		fr, filepath.Join(root, daemon.Federation31[1]))
}
