package fedtoken

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/cloudflare/circl/oprf"
)

// benchExpressions is the batch both benchmarks tokenise: a full batch of 32
// real expressions, so neither side gets padding for free.
const benchExpressions = BatchSize

// thresholdBench runs one 3-of-5 look-up in-process: blind, three issuer
// evaluations, finalize (which verifies three proofs).
type thresholdBench struct {
	client  *Client
	issuers []*Issuer
	inputs  []Input
}

func newThresholdBench(b *testing.B) *thresholdBench {
	f := newFederation(b, 50, 3, 5)
	return &thresholdBench{client: f.client, issuers: f.issuers[:3], inputs: sampleInputs(benchExpressions)}
}

func (tb *thresholdBench) run(b *testing.B) {
	tokens, err := tb.client.TokenizeLocal(rand.Reader, tb.inputs, tb.issuers)
	if err != nil || len(tokens) != benchExpressions {
		b.Fatalf("threshold: %d tokens, %v", len(tokens), err)
	}
}

// singleBench is the baseline: circl's VOPRF with one key, same inputs.
type singleBench struct {
	client oprf.VerifiableClient
	server oprf.VerifiableServer
	inputs [][]byte
}

func newSingleBench(b *testing.B) *singleBench {
	sk, err := oprf.GenerateKey(oprf.SuiteRistretto255, rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	sb := &singleBench{
		client: oprf.NewVerifiableClient(oprf.SuiteRistretto255, sk.Public()),
		server: oprf.NewVerifiableServer(oprf.SuiteRistretto255, sk),
	}
	for _, in := range sampleInputs(benchExpressions) {
		enc, err := EncodeInput(testFederation, in)
		if err != nil {
			b.Fatal(err)
		}
		sb.inputs = append(sb.inputs, enc)
	}
	return sb
}

func (sb *singleBench) run(b *testing.B) {
	fin, req, err := sb.client.Blind(sb.inputs)
	if err != nil {
		b.Fatal(err)
	}
	ev, err := sb.server.Evaluate(req)
	if err != nil {
		b.Fatal(err)
	}
	out, err := sb.client.Finalize(fin, ev)
	if err != nil || len(out) != benchExpressions {
		b.Fatalf("single: %d outputs, %v", len(out), err)
	}
}

func reportExprPerSec(b *testing.B, n int, d time.Duration, unit string) {
	if d > 0 {
		b.ReportMetric(float64(n*benchExpressions)/d.Seconds(), unit)
	}
}

// loop runs fn for the benchmark and reports wall-clock expr/s (the goal
// metric) and CPU-time expr/s (robust against other jobs on the machine).
func loop(b *testing.B, fn func(*testing.B)) {
	n := 0
	cpu0 := processCPU()
	for b.Loop() {
		fn(b)
		n++
	}
	cpu := processCPU() - cpu0
	reportExprPerSec(b, n, b.Elapsed(), "expr/s")
	reportExprPerSec(b, n, cpu, "cpu-expr/s")
}

func BenchmarkTokenBatchThreshold(b *testing.B) {
	loop(b, newThresholdBench(b).run)
}

func BenchmarkTokenBatchSingleKey(b *testing.B) {
	loop(b, newSingleBench(b).run)
}

// stopwatch accumulates wall and CPU time over many timed sections.
type stopwatch struct{ wall, cpu time.Duration }

func (s *stopwatch) time(b *testing.B, fn func(*testing.B)) {
	w0, c0 := time.Now(), processCPU()
	fn(b)
	s.cpu += processCPU() - c0
	s.wall += time.Since(w0)
}

// BenchmarkTokenThresholdVsSingle runs the two in the same loop, alternating
// which goes first, so both see the same machine load. "ratio" is threshold
// throughput over single-key throughput in CPU time (ideal about 1/t, goal
// >= 0.25); "wall-ratio" is the same in wall-clock time, noisier on a shared
// machine.
func BenchmarkTokenThresholdVsSingle(b *testing.B) {
	tb := newThresholdBench(b)
	sb := newSingleBench(b)
	var thr, single stopwatch
	n := 0
	for b.Loop() {
		if n%2 == 0 {
			thr.time(b, tb.run)
			single.time(b, sb.run)
		} else {
			single.time(b, sb.run)
			thr.time(b, tb.run)
		}
		n++
	}
	if thr.cpu > 0 {
		b.ReportMetric(single.cpu.Seconds()/thr.cpu.Seconds(), "ratio")
	}
	if thr.wall > 0 {
		b.ReportMetric(single.wall.Seconds()/thr.wall.Seconds(), "wall-ratio")
	}
	reportExprPerSec(b, n, thr.wall, "threshold-expr/s")
	reportExprPerSec(b, n, single.wall, "single-expr/s")
}
