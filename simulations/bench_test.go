package simulations

import (
	"context"
	"testing"
	"time"
)

func benchRun(b *testing.B, o Options) *Report {
	var r *Report
	var events uint64
	start := time.Now()
	for b.Loop() {
		var err error
		r, err = Run(context.Background(), o)
		if err != nil {
			b.Fatal(err)
		}
		if r.OracleViolations != 0 || r.LostRecords != 0 || !r.Converged {
			b.Fatalf("violations %d, lost %d, converged %t: %v", r.OracleViolations, r.LostRecords, r.Converged, r.Violations)
		}
		events += r.Events
	}
	wall := time.Since(start).Seconds()
	b.ReportMetric(wall/float64(b.N), "wall-s/op")
	b.ReportMetric(float64(events)/wall, "events/s")
	return r
}

// benchScale runs the scale scenario's overlay with nodes nodes, under the
// Cedar layer or the baseline, so the two can be compared in one run.
func benchScale(b *testing.B, nodes int, cedar bool) {
	r := benchRun(b, Options{Scenario: "scale", Seed: 1, Nodes: nodes, Cedar: cedar})
	b.ReportMetric(r.ConvergenceP99ms, "conv-p99-ms")
	b.ReportMetric(float64(r.Samples), "deliveries")
}

// BenchmarkScale1000 runs the scale scenario with 1 000 nodes (go test
// -run '^$' -bench Scale1000 -benchtime 1x ./simulations/); the Cedar
// variant adds the legal policy layer.
func BenchmarkScale1000(b *testing.B)      { benchScale(b, 1000, false) }
func BenchmarkScale1000Cedar(b *testing.B) { benchScale(b, 1000, true) }

// BenchmarkScale300 and BenchmarkScale300Cedar compare the overlay with and
// without the Cedar layer at a size that runs in seconds.
func BenchmarkScale300(b *testing.B)      { benchScale(b, 300, false) }
func BenchmarkScale300Cedar(b *testing.B) { benchScale(b, 300, true) }

func BenchmarkEU28(b *testing.B) {
	r := benchRun(b, Options{Scenario: "eu28", Seed: 1})
	b.ReportMetric(r.ConvergenceP99ms, "conv-p99-ms")
	b.ReportMetric(r.RetractionP99ms, "retr-p99-ms")
}
