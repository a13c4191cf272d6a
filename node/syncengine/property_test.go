package syncengine

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

// randomRun runs a federation whose size, network, limits and history all
// come from seed: records with random audiences and markings from random
// nodes, connection losses, partitions, crashes and store failures; then
// heals everything and lets it settle.
func randomRun(t testing.TB, seed uint64, keepTrace bool) *sim {
	cfg := defaultSimConfig(0)
	pick := newSim(t, seed, cfg) // a throwaway sim just for its seeded rng
	r := pick.rng
	cfg.nodes = 3 + r.IntN(5)
	cfg.latency = [2]time.Duration{time.Duration(1+r.IntN(5)) * time.Millisecond, time.Duration(5+r.IntN(30)) * time.Millisecond}
	cfg.loss = []float64{0, 0, 0.001, 0.01}[r.IntN(4)]
	cfg.failStore = []float64{0, 0, 0.01, 0.05}[r.IntN(4)]
	cfg.ingestDelay = time.Duration(50+r.IntN(2000)) * time.Microsecond
	cfg.keepTrace = keepTrace
	window, queue, push, feed, feedWin, known := 1+r.IntN(8), 4+r.IntN(60), 1+r.IntN(64), 10+r.IntN(200), 1+r.IntN(3), 2+r.IntN(64)
	scan, maxDeliveries, msgBytes := feed*(1+r.IntN(4)), 20+r.IntN(2000), 200+r.IntN(20000)
	timeout := []time.Duration{5 * time.Millisecond, 50 * time.Millisecond, 10 * time.Second}[r.IntN(3)]
	cfg.engine = func(c *Config) {
		c.SendWindow, c.QueueRecords, c.PushRecords, c.FeedRecords, c.FeedWindow, c.KnownPerPeer = window, queue, push, feed, feedWin, known
		c.FeedScan, c.MaxDeliveries, c.MessageBytes, c.DeliveryTimeout = scan, maxDeliveries, msgBytes, timeout
	}
	s := newSim(t, seed+1, cfg)
	s.settle(time.Minute)
	for range 10 + s.rng.IntN(15) {
		s.randomStep()
	}
	s.heal()
	for _, n := range s.nodes {
		s.restart(n)
	}
	s.settle(10 * time.Minute)
	return s
}

// randomStep does one random thing to the federation, then lets time pass.
func (s *sim) randomStep() {
	n := s.nodes[s.rng.IntN(len(s.nodes))]
	switch k := s.rng.IntN(10); {
	case k < 5:
		if n.alive {
			s.addRecords(n, s.randomSpecs(1+s.rng.IntN(60), 0.1, 0.6, 0.1), 1+s.rng.IntN(20))
		}
	case k == 5:
		sides := s.rng.Uint64()
		s.partition(func(i int) int { return int(sides>>i) & 1 })
	case k == 6:
		s.heal()
	case k == 7:
		s.crash(n)
	case k == 8:
		s.restart(n)
	}
	s.runFor(time.Duration(s.rng.IntN(400)) * time.Millisecond)
}

func TestPolicyOracleAcrossRandomRuns(t *testing.T) {
	seeds := 60
	if testing.Short() {
		seeds = 12
	}
	if v, err := strconv.Atoi(os.Getenv("SYNCENGINE_SEEDS")); err == nil {
		seeds = v // for long soak runs
	}
	var dropped, checked, relayed uint64
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			s := randomRun(t, seed, false)
			s.check()
			if err := s.converged(); err != nil {
				t.Fatal(err)
			}
			checked += uint64(s.oracle.checked)
			for _, n := range s.nodes {
				dropped += n.eng.Stats().PushRecordsDropped
				relayed += n.eng.Stats().Relayed
			}
		})
	}
	t.Logf("oracle checked %d record sends; %d pushes dropped by full queues, %d relays, all covered", checked, dropped, relayed)
	if dropped == 0 || relayed == 0 {
		t.Errorf("the random runs never exercised backpressure (%d) or relaying (%d)", dropped, relayed)
	}
}

func TestSameSeedSameTrace(t *testing.T) {
	a := randomRun(t, 42, true)
	b := randomRun(t, 42, true)
	if a.traceHash() != b.traceHash() {
		for i := range min(len(a.traceLines), len(b.traceLines)) {
			if a.traceLines[i] != b.traceLines[i] {
				t.Fatalf("traces differ at action %d:\n%s%s", i, a.traceLines[i], b.traceLines[i])
			}
		}
		t.Fatalf("traces differ in length: %d and %d", len(a.traceLines), len(b.traceLines))
	}
	if a.steps < 500 {
		t.Fatalf("only %d steps: not much of a trace", a.steps)
	}
	if c := randomRun(t, 43, false); c.traceHash() == a.traceHash() {
		t.Fatal("different seeds gave the same trace")
	}
	t.Logf("seed 42: %d steps, %d actions, trace %s", a.steps, len(a.traceLines), a.traceHash()[:16])
}
