package policy

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// BenchmarkDecideLatency times each explained decision over the legal
// scenarios of testdata/vectors (every action, dates from 2014 to today,
// grounds, bars and "no legal basis" denials) with the embedded bundle, and
// reports the median and 99th percentile of single decisions — the
// figure the issue sets (≤ 10 µs p50) — besides the mean ns/op.
func BenchmarkDecideLatency(b *testing.B) {
	bundle, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	files, err := filepath.Glob("testdata/vectors/*.json")
	if err != nil || len(files) == 0 {
		b.Fatalf("no vectors: %v", err)
	}
	var reqs []Request
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		vs, err := DecodeVectors(data)
		if err != nil {
			b.Fatal(err)
		}
		for _, v := range vs {
			reqs = append(reqs, v.Request)
		}
	}
	// Warm the per-record caches the way a running node would.
	for _, r := range reqs {
		bundle.Decide(r)
	}
	samples := make([]time.Duration, 0, 1<<20)
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		d := bundle.Decide(reqs[i%len(reqs)])
		elapsed := time.Since(start)
		if d.Decision == "" {
			b.Fatal("no decision")
		}
		if len(samples) < cap(samples) {
			samples = append(samples, elapsed)
		}
	}
	slices.Sort(samples)
	b.ReportMetric(float64(samples[len(samples)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(samples[len(samples)*99/100].Nanoseconds()), "p99-ns")
	b.ReportMetric(float64(len(reqs)), "scenarios")
}
