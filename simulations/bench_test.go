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

// BenchmarkScale1000 runs the scale scenario with 1 000 nodes (go test
// -run '^$' -bench Scale1000 -benchtime 1x ./simulations/).
func BenchmarkScale1000(b *testing.B) {
	r := benchRun(b, Options{Scenario: "scale", Seed: 1, Nodes: 1000})
	b.ReportMetric(r.ConvergenceP99ms, "conv-p99-ms")
}

func BenchmarkEU28(b *testing.B) {
	r := benchRun(b, Options{Scenario: "eu28", Seed: 1})
	b.ReportMetric(r.ConvergenceP99ms, "conv-p99-ms")
	b.ReportMetric(r.RetractionP99ms, "retr-p99-ms")
}
