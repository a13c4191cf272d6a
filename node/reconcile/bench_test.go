package reconcile

import (
	"testing"
	"time"
)

// benchSessions runs b.N sessions between fixed sets and reports bytes,
// rounds and the CPU time of both sides together.
func benchSessions(b *testing.B, a, r Set, diffs int) {
	var bytes, rounds int
	var cpu time.Duration
	b.ReportAllocs()
	for b.Loop() {
		before := cpuTime()
		res, err, rerr := session(b, a, r, nil, nil)
		cpu += cpuTime() - before
		if err != nil || rerr != nil {
			b.Fatalf("initiator %v, responder %v", err, rerr)
		}
		if len(res.Theirs)+len(res.Ours) != diffs || res.Fallback {
			b.Fatalf("%d differences found (fallback %v), want %d", len(res.Theirs)+len(res.Ours), res.Fallback, diffs)
		}
		bytes += res.BytesSent + res.BytesReceived
		rounds += res.Rounds
	}
	n := float64(b.N)
	b.ReportMetric(float64(bytes)/n, "B/session")
	if diffs > 0 {
		b.ReportMetric(float64(bytes)/n/float64(diffs), "B/diff")
	}
	b.ReportMetric(float64(rounds)/n, "rounds")
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/1000/n, "CPU-ms/session")
	}
}

// BenchmarkReconcileSession_1M_d1000: a million ids per side, 500 only on
// each side.
func BenchmarkReconcileSession_1M_d1000(b *testing.B) {
	a, r, _, _ := sets(1000, 1_000_000-500, 500, 500)
	benchSessions(b, Slice(a), Slice(r), 1000)
}

// BenchmarkReconcileInSync: a million equal ids per side.
func BenchmarkReconcileInSync(b *testing.B) {
	a, r, _, _ := sets(1001, 1_000_000, 0, 0)
	benchSessions(b, Slice(a), Slice(r), 0)
}
