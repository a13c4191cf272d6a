package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/vigie-project/vigie/simulations"
	"github.com/vigie-project/vigie/simulations/render"
)

func simCommand() *command {
	return &command{
		name:    "sim",
		summary: "simulate whole federations, reproducibly from a seed",
		subs:    []*command{simRunCommand(), simListCommand()},
	}
}

func simRunCommand() *command {
	return &command{name: "run", summary: "run a simulation scenario and write its report", run: runSimRun}
}

func simListCommand() *command {
	return &command{name: "list", summary: "list the simulation scenarios", run: runSimList}
}

// simSummary is what `vigie sim run --json` prints; the field names are part
// of the command-line contract.
type simSummary struct {
	Scenario             string  `json:"scenario"`
	Seed                 uint64  `json:"seed"`
	Nodes                int     `json:"nodes"`
	Passed               bool    `json:"passed"`
	Converged            bool    `json:"converged"`
	ConvergenceP50ms     float64 `json:"convergence_p50_ms"`
	ConvergenceP99ms     float64 `json:"convergence_p99_ms"`
	RetractionP99ms      float64 `json:"retraction_p99_ms"`
	BytesPerDiff         float64 `json:"bytes_per_diff"`
	BytesPerRecord       float64 `json:"bytes_per_record"`
	DuplicateSuppression float64 `json:"duplicate_suppression"`
	OracleViolations     int     `json:"oracle_violations"`
	LostRecords          int     `json:"lost_records"`
	Events               uint64  `json:"events"`
	SimulatedMs          float64 `json:"simulated_ms"`
	WallSeconds          float64 `json:"wall_seconds"`
	EventsPerSecond      float64 `json:"events_per_second"`
	ReportSHA256         string  `json:"report_sha256"`
	Out                  string  `json:"out"`
}

func runSimRun(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "vigie sim run --scenario NAME [--seed N] [--nodes K] [--cedar] [--out DIR] [--json]", `
Runs a whole federation inside a deterministic discrete-event simulator: the
real sync engine, policy and record verification on every node, with a
simulated clock, network (latency, jitter, loss, reordering), storage and
faults, all drawn from one seed. The same scenario, seed and size always
give the same report, byte for byte. An independent oracle checks the run:
every node ends holding exactly the records it is permitted, no record
reached a node the policy forbids, no retracted assertion is still live, no
acknowledged record was lost. 'vigie sim list' names the scenarios.

With --cedar, every share and accept is also decided by the embedded Cedar
packs (the per-country legal policy), hop by hop, relays included, and the
oracle checks those decisions itself: in an overlay (scale beyond 23
nodes) a record is owed only to the nodes a path of allowed hops leads to.

Writes into --out: report.json (the full report; its SHA-256 identifies the
run), report.md (to read, with the plots) and the plots as SVG files:
convergence.svg, retraction.svg, messages.svg, bytes.svg. Then prints a
summary; with --json, one JSON object: scenario, seed, nodes, passed,
converged, convergence_p50_ms, convergence_p99_ms, retraction_p99_ms,
bytes_per_diff, bytes_per_record, duplicate_suppression, oracle_violations,
lost_records, events, simulated_ms, wall_seconds, events_per_second,
report_sha256 and out (the report's folder). On a terminal, a progress line
is shown on stderr while a long run goes on.

Exit status: 0 if the federation converged with no violation and no lost
record; 1 if not; 2 on a usage error or if the run could not complete.`)
	scenario := fs.String("scenario", "", "the scenario to run (see 'vigie sim list')")
	seed := fs.Uint64("seed", 1, "the seed every random choice of the run derives from")
	nodes := fs.Int("nodes", 0, "how many nodes (default: the scenario's own size)")
	cedar := fs.Bool("cedar", false, "decide shares and accepts with the embedded Cedar packs too")
	out := fs.String("out", "", "folder for the report (default ./sim-SCENARIO-SEED)")
	asJSON := fs.Bool("json", false, "print the summary as one JSON object")
	if code, done := fs.Parse(args); done {
		return code
	}
	switch {
	case len(fs.Args()) > 0:
		return fs.usageError("unexpected argument %q (the scenario goes in --scenario)", fs.Args()[0])
	case *scenario == "":
		return fs.usageError("--scenario is required: one of %s", scenarioNames())
	case !knownScenario(*scenario):
		return fs.usageError("unknown scenario %q: the scenarios are %s", *scenario, scenarioNames())
	case *nodes < 0:
		return fs.usageError("--nodes must be positive (or 0 for the scenario's own size)")
	}
	dir := *out
	if dir == "" {
		dir = fmt.Sprintf("sim-%s-%d", *scenario, *seed)
	}

	opts := simulations.Options{Scenario: *scenario, Seed: *seed, Nodes: *nodes, Cedar: *cedar}
	var prog *progressLine
	if f, ok := e.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		prog = newProgressLine(e.stderr, "sim "+*scenario, time.Now)
		opts.Progress = prog.update
	}
	start := time.Now()
	rep, err := simulations.Run(ctx, opts)
	wall := time.Since(start)
	if prog != nil {
		prog.clear()
	}
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			e.errorf("sim: interrupted")
		} else {
			e.errorf("sim: %v", err)
		}
		return exitUsage
	}
	files, err := render.Write(dir, rep, wall)
	if err != nil {
		e.errorf("sim: writing the report: %v", err)
		return exitUsage
	}
	sum := simSummary{
		Scenario: rep.Scenario, Seed: rep.Seed, Nodes: rep.Nodes,
		Passed: render.Passed(rep), Converged: rep.Converged,
		ConvergenceP50ms: rep.ConvergenceP50ms, ConvergenceP99ms: rep.ConvergenceP99ms,
		RetractionP99ms: rep.RetractionP99ms, BytesPerDiff: rep.BytesPerDiff, BytesPerRecord: rep.BytesPerRecord,
		DuplicateSuppression: rep.DuplicateSuppression,
		OracleViolations:     rep.OracleViolations, LostRecords: rep.LostRecords,
		Events: rep.Events, SimulatedMs: rep.SimulatedMs,
		WallSeconds: wall.Seconds(), ReportSHA256: files.SHA256, Out: dir,
	}
	if wall > 0 {
		sum.EventsPerSecond = float64(rep.Events) / wall.Seconds()
	}
	if *asJSON {
		if err := json.NewEncoder(e.stdout).Encode(sum); err != nil {
			e.errorf("sim: %v", err)
			return exitUsage
		}
	} else {
		printSimSummary(e.stdout, rep, sum, files)
	}
	if !sum.Passed {
		return exitNegative
	}
	return exitOK
}

func printSimSummary(w io.Writer, rep *simulations.Report, s simSummary, files render.Files) {
	verdict := "PASS"
	if !s.Passed {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "%s, seed %d, %d nodes: %s (converged: %t; oracle violations: %d; lost records: %d)\n",
		s.Scenario, s.Seed, s.Nodes, verdict, s.Converged, s.OracleViolations, s.LostRecords)
	fmt.Fprintf(w, "convergence p50 %.1f ms, p99 %.1f ms; retraction p99 %.1f ms\n",
		s.ConvergenceP50ms, s.ConvergenceP99ms, s.RetractionP99ms)
	fmt.Fprintf(w, "bytes on the wire: %.1f per record, %.1f per reconciliation difference; duplicate suppression %.2f\n",
		s.BytesPerRecord, s.BytesPerDiff, s.DuplicateSuppression)
	fmt.Fprintf(w, "%d events, %.3f s simulated in %.2f s of wall time (%.0f events per second)\n",
		s.Events, s.SimulatedMs/1000, s.WallSeconds, s.EventsPerSecond)
	const shown = 5
	for i, v := range rep.Violations {
		if i == shown {
			fmt.Fprintf(w, "... and %d more\n", len(rep.Violations)-shown)
			break
		}
		fmt.Fprintf(w, "violation: %s\n", v)
	}
	fmt.Fprintf(w, "report: %s (report.json SHA-256 %s)\n", files.Markdown, files.SHA256)
}

func runSimList(_ context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "vigie sim list [--json]", `
Lists the scenarios 'vigie sim run --scenario NAME' accepts, with the
number of nodes each runs by default and what it shows. With --json, prints
one JSON array of {"name", "description", "default_nodes"}.`)
	asJSON := fs.Bool("json", false, "print the scenarios as one JSON array")
	if code, done := fs.Parse(args); done {
		return code
	}
	if len(fs.Args()) > 0 {
		return fs.usageError("unexpected argument %q", fs.Args()[0])
	}
	scenarios := simulations.Scenarios()
	if *asJSON {
		type entry struct {
			Name         string `json:"name"`
			Description  string `json:"description"`
			DefaultNodes int    `json:"default_nodes"`
		}
		list := make([]entry, 0, len(scenarios))
		for _, s := range scenarios {
			list = append(list, entry{s.Name, s.Description, s.DefaultNodes})
		}
		if err := json.NewEncoder(e.stdout).Encode(list); err != nil {
			e.errorf("sim: %v", err)
			return exitUsage
		}
		return exitOK
	}
	for i, s := range scenarios {
		if i > 0 {
			fmt.Fprintln(e.stdout)
		}
		fmt.Fprintf(e.stdout, "%s (%d nodes by default)\n", s.Name, s.DefaultNodes)
		for _, line := range wrapText(s.Description, 74) {
			fmt.Fprintf(e.stdout, "    %s\n", line)
		}
	}
	return exitOK
}

// wrapText breaks text into lines of at most width characters, between
// words (a longer word gets a line of its own).
func wrapText(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		switch {
		case line == "":
			line = w
		case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(w) <= width:
			line += " " + w
		default:
			lines = append(lines, line)
			line = w
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

func knownScenario(name string) bool {
	for _, s := range simulations.Scenarios() {
		if s.Name == name {
			return true
		}
	}
	return false
}

// scenarioNames lists the scenarios for an error message: "a, b or c".
func scenarioNames() string {
	var names []string
	for _, s := range simulations.Scenarios() {
		names = append(names, s.Name)
	}
	switch len(names) {
	case 0:
		return "(none)"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// progressLine shows a run's progress on one terminal line, rewritten in
// place: only once the run has lasted a second, then at most five times a
// second, so short runs print nothing.
type progressLine struct {
	mu      sync.Mutex
	w       io.Writer
	label   string
	now     func() time.Time
	start   time.Time
	last    time.Time
	written bool
}

func newProgressLine(w io.Writer, label string, now func() time.Time) *progressLine {
	return &progressLine{w: w, label: label, now: now, start: now()}
}

const (
	progressDelay    = time.Second
	progressInterval = 200 * time.Millisecond
)

// update is the simulator's Progress callback: done of about total
// simulated milliseconds.
func (p *progressLine) update(done, total int) {
	if total <= 0 {
		return
	}
	permil := int(min(max(int64(done)*1000/int64(total), 0), 1000))
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if now.Sub(p.start) < progressDelay || now.Sub(p.last) < progressInterval {
		return
	}
	p.last = now
	elapsed := now.Sub(p.start).Truncate(time.Second)
	fmt.Fprintf(p.w, "\r\033[K%s: %5.1f%% (%.1f of %.1f s simulated), %s elapsed",
		p.label, float64(permil)/10, float64(done)/1000, float64(total)/1000, elapsed)
	p.written = true
}

// clear erases the progress line, if one was shown.
func (p *progressLine) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.written {
		fmt.Fprint(p.w, "\r\033[K")
		p.written = false
	}
}
