package render

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigie-project/vigie/simulations"
)

// markdown writes report.md.
func markdown(r *simulations.Report, plots []plot, sum string, wall time.Duration) []byte {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	p("# Simulation report: %s\n\n", mdEscape(r.Scenario))
	if d := cmp.Or(r.Description, description(r.Scenario)); d != "" {
		p("%s\n\n", mdEscape(d))
	}
	p("- Scenario: `%s`\n", code(r.Scenario))
	p("- Seed: %d\n", r.Seed)
	p("- Nodes: %d\n", r.Nodes)
	p("- Simulated time: %s\n", seconds(r.SimulatedMs))
	p("- Simulated events: %d\n", r.Events)
	if wall > 0 {
		p("- Wall time: %.2f s (%s simulated events per second)\n", wall.Seconds(),
			strconv.FormatFloat(math.Round(float64(r.Events)/wall.Seconds()), 'f', 0, 64))
	}
	p("- Reproduce: `vigie sim run --scenario %s --seed %d --nodes %d`\n", code(r.Scenario), r.Seed, r.Nodes)
	p("- `%s` SHA-256: `%s`\n\n", JSONFile, sum)

	p("## Verdict\n\n%s\n\n", Verdict(r))

	p("## Figures\n\n| Figure | Value |\n| --- | --- |\n")
	row := func(name, value string) { p("| %s | %s |\n", name, value) }
	row("Converged", yesNo(r.Converged))
	row("Oracle violations", strconv.Itoa(r.OracleViolations))
	row("Lost records", strconv.Itoa(r.LostRecords))
	row("Convergence latency p50", measured(r.ConvergenceMs, r.ConvergenceP50ms))
	row("Convergence latency p99", measured(r.ConvergenceMs, r.ConvergenceP99ms))
	row("Convergence samples", samples(r.ConvergenceMs, r.Samples))
	if len(r.RetractionMs) > 0 {
		row("Retraction latency p50", ms(r.RetractionP50ms))
	}
	row("Retraction latency p99", measured(r.RetractionMs, r.RetractionP99ms))
	row("Retraction samples", samples(r.RetractionMs, 0))
	row("Bytes on the wire per record", bytesFig(r.BytesPerRecord))
	row("Bytes on the wire per reconciliation difference", bytesFig(r.BytesPerDiff))
	row("Duplicate suppression (assertions per unique indicator)", fixed(r.DuplicateSuppression, 2))
	row("Messages per node", messages(r.MessagesPerNode))
	p("\n")

	p("## Counts\n\n| Count | Value |\n| --- | --- |\n")
	row("Records in the run", strconv.Itoa(r.Records))
	row("Assertions / unique indicators", fmt.Sprintf("%d / %d", r.Assertions, r.UniqueIndicators))
	row("Bytes on the wire in all", strconv.FormatInt(r.BytesTotal, 10))
	row("Reconciliations", strconv.Itoa(r.Reconciles))
	row("Deliveries honest nodes refused as invalid", fmt.Sprintf("%d (%d of them by the receiver's policy)", r.RejectedInvalid, r.PolicyRefused))
	row("Messages a decoder refused (oversized, malformed)", strconv.Itoa(r.WireRejected))
	row("Records the oracle checked on the wire", strconv.Itoa(r.WireChecked))
	row("Every engine went idle before the settle limit", yesNo(r.Quiet))
	byz := "none"
	if len(r.Byzantine) > 0 {
		byz = mdEscape(strings.Join(r.Byzantine, ", "))
	}
	row("Byzantine nodes", byz)
	p("\n")

	p("## Faults injected\n\n")
	list(&b, r.Faults, "None.")

	p("## Oracle findings\n\n")
	list(&b, r.Violations, "None: every node holds exactly the records it is permitted, no record reached a node the policy forbids, no retracted assertion is live anywhere and no acknowledged record was lost.")

	p("## Plots\n\n")
	for _, pl := range plots {
		p("### %s\n\n![%s](%s)\n\n", pl.caption, pl.caption, pl.file)
	}
	return []byte(b.String())
}

// Verdict is one sentence saying whether the run passed, and if not, why.
func Verdict(r *simulations.Report) string {
	if Passed(r) {
		return "**PASS**: the federation converged, the oracle found no violation and no record was lost."
	}
	var why []string
	if !r.Converged {
		why = append(why, "the federation did not converge")
	}
	if r.OracleViolations > 0 {
		why = append(why, plural(r.OracleViolations, "oracle violation", "oracle violations"))
	}
	if r.LostRecords > 0 {
		why = append(why, plural(r.LostRecords, "lost record", "lost records"))
	}
	if len(why) == 0 {
		why = append(why, plural(len(r.Violations), "finding of the oracle", "findings of the oracle"))
	}
	return "**FAIL**: " + strings.Join(why, "; ") + "."
}

// list writes items as a bulleted list, at most maxListedFindings of them.
func list(b *strings.Builder, items []string, none string) {
	if len(items) == 0 {
		fmt.Fprintf(b, "%s\n\n", none)
		return
	}
	for i, it := range items {
		if i == maxListedFindings {
			fmt.Fprintf(b, "- "+listedFindingsNote+"\n", len(items)-i)
			break
		}
		fmt.Fprintf(b, "- %s\n", mdEscape(it))
	}
	b.WriteString("\n")
}

func description(scenario string) string {
	for _, s := range simulations.Scenarios() {
		if s.Name == scenario {
			return s.Description
		}
	}
	return ""
}

// mdEscape keeps text from being read as Markdown or HTML, and on one line.
func mdEscape(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch c {
		case '\\', '`', '*', '_', '[', ']', '<', '>', '|', '#', '!':
			b.WriteByte('\\')
			b.WriteRune(c)
		case '\n', '\r', '\t':
			b.WriteByte(' ')
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// code makes s safe inside a one-backtick code span.
func code(s string) string {
	return strings.NewReplacer("`", "'", "\n", " ", "\r", " ").Replace(s)
}

func yesNo(v bool) string {
	if v {
		return "yes"
	}
	return "**no**"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func fixed(v float64, dec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	return strconv.FormatFloat(v, 'f', dec, 64)
}

// measured is a percentile of a distribution, or "n/a" if it is empty.
func measured(xs []float64, v float64) string {
	if len(xs) == 0 && v == 0 {
		return "n/a (no samples)"
	}
	return ms(v)
}

func ms(v float64) string { return fixed(v, 1) + " ms" }

func bytesFig(v float64) string { return fixed(v, 1) + " B" }

func seconds(msv float64) string { return fixed(msv/1000, 3) + " s" }

// samples summarises a latency distribution: count, minimum, mean, maximum.
// measured is how many samples the run took, if it kept fewer.
func samples(xs []float64, measured int) string {
	vals := finite(xs)
	if len(vals) == 0 {
		return "none"
	}
	kept := ""
	if measured > len(vals) {
		kept = fmt.Sprintf(" kept of %d, evenly by rank", measured)
	}
	sum := 0.0
	for _, v := range vals {
		sum += v
	}
	return fmt.Sprintf("%d%s (min %s, mean %s, max %s)", len(vals), kept,
		ms(slices.Min(vals)), ms(sum/float64(len(vals))), ms(slices.Max(vals)))
}

// messages summarises the messages per node: total, mean, minimum, maximum.
func messages(counts []int) string {
	if len(counts) == 0 {
		return "none"
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	return fmt.Sprintf("%s mean (min %d, max %d; %d in all)",
		fixed(float64(total)/float64(len(counts)), 1), slices.Min(counts), slices.Max(counts), total)
}
