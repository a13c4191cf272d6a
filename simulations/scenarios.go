package simulations

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/vigie-project/vigie/node/syncengine"
)

// scenario is a named preset: its network model, and a setup that
// configures the nodes and schedules the workload and the faults, and
// returns when they are over (the run then waits for quiet).
type scenario struct {
	info     ScenarioInfo
	minNodes int
	net      func() netParams
	setup    func(s *sim) time.Duration
}

var scenarios = []scenario{
	{
		info: ScenarioInfo{Name: "eu28", DefaultNodes: 31, Description: "The federation of 2015: the 28 EU member states (with GB) and US, CA, AU, one node each " +
			"at its capital, in a full mesh over links with realistic one-way delays (great-circle distance at 200 km/ms plus 2 ms, 10% jitter, " +
			"1 Gbit/s uplinks). About 12 states assert 3 000 synthetic indicators in imported batches over 10 s, with overlaps (several states " +
			"flagging the same indicator) and a mix of TLP labels and onward-transfer consents; 2% are retracted by their origin 1–5 s later. " +
			"NTP-class clocks (±20 ms). Nodes above 31 are further agencies at the capitals."},
		minNodes: 2,
		net:      defaultNet,
		setup:    setupEU28,
	},
	{
		info: ScenarioInfo{Name: "churn", DefaultNodes: 31, Description: "eu28's federation under churn for a minute: every 1–4 s a random node crashes " +
			"(losing its engine, deliveries not yet acknowledged and cursor writes not yet durable; its store survives) and restarts 0.5–20 s later; " +
			"one message in 2 000 is lost, breaking its stream (both ends reconnect after 0.5–1 s); two nodes are 20× slower to verify and store; " +
			"clocks are off by up to ±5 s and drift by up to ±200 ppm. 3 000 assertions over 60 s, 2% retracted."},
		minNodes: 3,
		net: func() netParams {
			p := defaultNet()
			p.loss = 0.0005
			return p
		},
		setup: setupChurn,
	},
	{
		info: ScenarioInfo{Name: "partition", DefaultNodes: 31, Description: "eu28's federation split in two at t=5 s (west of 10°E with the US, CA and " +
			"AU, against the rest); at 12 s one more node is cut off from everyone; the halves heal at 25 s and the lone node at 32 s. Assertions " +
			"continue on both sides throughout (3 000 over 40 s, 2% retracted); one message in 5 000 is lost. Records asserted during the " +
			"partition reach the other side by catch-up feed after healing, so their convergence time includes the partition."},
		minNodes: 2,
		net: func() netParams {
			p := defaultNet()
			p.loss = 0.0002
			return p
		},
		setup: setupPartition,
	},
	{
		info: ScenarioInfo{Name: "byzantine", DefaultNodes: 31, Description: "eu28's federation with one member in ten byzantine (at least one): " +
			"each runs the real engine but, every 50–300 ms for 21 s, injects forged records (another origin's name without its key), tampered " +
			"records, records smuggled under its own manifest, replays, its own TLP:RED assertions, retractions of others' assertions, floods of " +
			"junk, oversized and malformed messages, and lying cursor claims and resets; the first also withholds every push and feed. Honest " +
			"nodes must refuse all of it and still converge; the oracle checks that nothing invalid was stored. 2 000 assertions over 20 s."},
		minNodes: 3,
		net:      defaultNet,
		setup:    setupByzantine,
	},
	{
		info: ScenarioInfo{Name: "retraction", DefaultNodes: 31, Description: "The October 2016 incident: at t=2 s France asserts a false positive at " +
			"the host level of a large site (TLP:GREEN, onward transfer granted), it spreads to every member, and France retracts it one hour " +
			"of simulated time later. Measures how long each node that holds the assertion takes to hold the retraction (retraction_p99_ms). " +
			"Background: 600 assertions over the hour; one slow node; clocks off by up to ±2 s; one message in 5 000 lost."},
		minNodes: 2,
		net: func() netParams {
			p := defaultNet()
			p.loss = 0.0002
			return p
		},
		setup: setupRetraction,
	},
	{
		info: ScenarioInfo{Name: "scale", DefaultNodes: 100, Description: "A large federation, 100 nodes by default and up to 1 000 (Options.Nodes): " +
			"agencies placed at and around the 31 capitals. Beyond 23 nodes the full mesh gives way to a bounded-degree overlay: each node peers " +
			"with its 12 nearest nodes, 8 random others and its ring neighbours (mean degree about 35), and records reach non-peers by relay where " +
			"the policy allows onward transfer (a record without consent reaches only its origin's peers). One node in twenty (3 to 50) asserts " +
			"2 000 indicators in all over 10 s, with overlaps; no faults. Measures convergence over several hops, bytes and messages per node, " +
			"and the simulator's own speed."},
		minNodes: 2,
		net:      defaultNet,
		setup:    setupScale,
	},
}

// ---- workload

// workload is a stream of imported batches of assertions.
type workload struct {
	origins      []*node
	assertions   int
	batch        [2]int
	start        time.Duration
	window       time.Duration
	ratio        float64 // assertions per unique indicator, roughly
	retractFrac  float64
	retractDelay [2]time.Duration
}

// token is a synthetic federation token for indicator number i.
func token(i int) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	sum := sha256.Sum256(append([]byte("vigie-sim-indicator|"), b[:]...))
	return hex.EncodeToString(sum[:16])
}

func (s *sim) uniform(a, b time.Duration) time.Duration {
	if b <= a {
		return a
	}
	return a + time.Duration(s.rng.Int64N(int64(b-a)))
}

// marking draws a TLP label and an onward-transfer consent.
func (s *sim) marking() (string, string) {
	var tlp string
	switch u := s.rng.Float64(); {
	case u < 0.10:
		tlp = tlpClear
	case u < 0.50:
		tlp = tlpGreen
	case u < 0.78:
		tlp = tlpAmber
	case u < 0.88:
		tlp = tlpAmberStrict
	default:
		tlp = tlpRed
	}
	onward := onwardDenied
	if s.rng.Float64() < 0.7 {
		onward = onwardGranted
	}
	return tlp, onward
}

// schedule plans w: every batch's time, origin and indicators are drawn
// now; the records are signed and committed when their time comes.
func (s *sim) schedule(w workload) {
	if len(w.origins) == 0 || w.assertions <= 0 {
		return
	}
	pool := max(1, int(float64(w.assertions)/w.ratio))
	fresh := pool
	used := map[[2]int]bool{}
	for left := w.assertions; left > 0; {
		size := min(left, w.batch[0]+s.rng.IntN(w.batch[1]-w.batch[0]+1))
		left -= size
		on := w.origins[s.rng.IntN(len(w.origins))]
		at := w.start + s.uniform(0, w.window)
		specs := make([]recordSpec, size)
		for k := range specs {
			idx := -1
			for range 4 {
				c := int(float64(pool) * math.Pow(s.rng.Float64(), 2))
				if !used[[2]int{on.i, c}] {
					idx = c
					break
				}
			}
			if idx < 0 {
				idx = fresh
				fresh++
			}
			used[[2]int{on.i, idx}] = true
			tlp, onward := s.marking()
			specs[k] = recordSpec{kind: syncengine.KindAssertion, tlp: tlp, onward: onward, indicator: token(idx)}
			if s.cedarRng != nil {
				specs[k].cedar = drawCedar(s.cedarRng)
			}
		}
		s.at(int64(at), func() {
			s.assert(on, specs, func(us []*uRecord) {
				for _, u := range us {
					if w.retractFrac > 0 && s.rng.Float64() < w.retractFrac {
						s.after(s.uniform(w.retractDelay[0], w.retractDelay[1]), func() { s.retract([]*uRecord{u}) })
					}
				}
			})
		})
	}
}

// assertingStates picks k asserting nodes among the honest, spread over
// the list (the largest states come first).
func (s *sim) assertingStates(k int) []*node {
	var honest []*node
	for _, n := range s.nodes {
		if n.honest() {
			honest = append(honest, n)
		}
	}
	k = min(max(k, 1), len(honest))
	out := make([]*node, 0, k)
	for i := range k {
		out = append(out, honest[i*len(honest)/k])
	}
	return out
}

// clocks gives every node a clock offset up to ±skew and a drift up to
// ±drift.
func (s *sim) clocks(skew time.Duration, drift float64) {
	for _, n := range s.nodes {
		if skew > 0 {
			n.skew = s.rng.Int64N(2*int64(skew)+1) - int64(skew)
		}
		n.drift = (2*s.rng.Float64() - 1) * drift
	}
	if skew > 0 {
		s.faults = append(s.faults, "t=0ms clocks off by up to ±"+skew.String()+", drifting up to ±"+ppm(drift))
	}
}

func ppm(d float64) string { return strconv.FormatFloat(d*1e6, 'g', -1, 64) + " ppm" }

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// slowNodes makes k honest nodes (not the first) factor times slower.
func (s *sim) slowNodes(k int, factor float64) {
	for c := 0; c < k; c++ {
		n := s.nodes[len(s.nodes)-1-((c*7)%len(s.nodes))]
		if n.slow != 1 || !n.honest() {
			continue
		}
		n.slow = factor
		s.faults = append(s.faults, "t=0ms slow "+n.origin+" ×"+formatFloat(factor))
	}
}

func eu28Workload(s *sim, start, window time.Duration, assertions int) workload {
	k := max(2, min(12, len(s.nodes)*2/5))
	return workload{
		origins: s.assertingStates(k), assertions: assertions, batch: [2]int{1, 40},
		start: start, window: window, ratio: 1.6,
		retractFrac: 0.02, retractDelay: [2]time.Duration{time.Second, 5 * time.Second},
	}
}

func setupEU28(s *sim) time.Duration {
	s.clocks(20*time.Millisecond, 20e-6)
	s.schedule(eu28Workload(s, time.Second, 10*time.Second, 3000))
	return 16 * time.Second
}

func setupChurn(s *sim) time.Duration {
	s.clocks(5*time.Second, 200e-6)
	s.slowNodes(2, 20)
	s.schedule(eu28Workload(s, time.Second, 60*time.Second, 3000))
	const until = 61 * time.Second
	var crash func()
	crash = func() {
		if s.now > int64(until) {
			return
		}
		down := 0
		for _, n := range s.nodes {
			if !n.alive {
				down++
			}
		}
		if down < max(1, len(s.nodes)/4) {
			n := s.nodes[s.rng.IntN(len(s.nodes))]
			if n.alive {
				d := s.uniform(500*time.Millisecond, 20*time.Second)
				s.fault("crash %s for %dms", n.origin, d.Milliseconds())
				s.crash(n)
				s.after(d, func() {
					s.fault("restart %s", n.origin)
					s.restart(n)
				})
			}
		}
		s.after(s.uniform(time.Second, 4*time.Second), crash)
	}
	s.at(int64(3*time.Second), crash)
	return until + 21*time.Second
}

func setupPartition(s *sim) time.Duration {
	s.clocks(20*time.Millisecond, 20e-6)
	s.schedule(eu28Workload(s, time.Second, 40*time.Second, 3000))
	west := make([]int, len(s.nodes))
	for i, n := range s.nodes {
		if n.lon >= 10 {
			west[i] = 1
		}
	}
	s.at(int64(5*time.Second), func() {
		s.fault("partition: %s | %s", s.side(west, 0), s.side(west, 1))
		s.setGroups(west)
	})
	lone := -1
	for i := len(s.nodes) - 1; i >= 0; i-- {
		if west[i] == 1 {
			lone = i
			break
		}
	}
	alone := append([]int(nil), west...)
	if lone >= 0 && s.count(west, 1) >= 2 {
		alone[lone] = 2
		s.at(int64(12*time.Second), func() {
			s.fault("partition: %s cut off from everyone", s.nodes[lone].origin)
			s.setGroups(alone)
		})
	}
	healed := make([]int, len(s.nodes))
	if lone >= 0 && s.count(west, 1) >= 2 {
		healed[lone] = 2
	}
	s.at(int64(25*time.Second), func() {
		s.fault("heal: the two sides reconnect")
		s.setGroups(healed)
	})
	s.at(int64(32*time.Second), func() {
		s.fault("heal: everyone")
		s.setGroups(make([]int, len(s.nodes)))
	})
	return 42 * time.Second
}

func (s *sim) count(g []int, v int) int {
	c := 0
	for _, x := range g {
		if x == v {
			c++
		}
	}
	return c
}

func (s *sim) side(g []int, v int) string {
	var names []string
	for i, x := range g {
		if x == v {
			names = append(names, s.nodes[i].origin)
		}
	}
	if len(names) > 12 {
		return strings.Join(names[:12], " ") + " …"
	}
	return strings.Join(names, " ")
}

func setupByzantine(s *sim) time.Duration {
	s.clocks(20*time.Millisecond, 20e-6)
	k := max(1, len(s.nodes)/10)
	picked := 0
	for picked < k {
		n := s.nodes[1+s.rng.IntN(len(s.nodes)-1)]
		if n.byz != nil {
			continue
		}
		n.byz = &adversary{s: s, n: n, from: int64(time.Second), until: int64(22 * time.Second),
			every: [2]time.Duration{50 * time.Millisecond, 300 * time.Millisecond}, next: picked * 3}
		if picked == 0 {
			n.byz.withhold = true
		}
		picked++
	}
	for _, n := range s.nodes {
		if n.byz != nil {
			what := "forges, tampers, smuggles, replays, floods, sends RED, oversized and malformed messages, lies"
			if n.byz.withhold {
				what += ", withholds every push and feed"
			}
			s.faults = append(s.faults, "t=1000ms byzantine "+n.origin+": "+what)
			n.byz.start()
		}
	}
	s.schedule(eu28Workload(s, time.Second, 20*time.Second, 2000))
	return 24 * time.Second
}

func setupRetraction(s *sim) time.Duration {
	s.clocks(2*time.Second, 50e-6)
	s.slowNodes(1, 20)
	w := eu28Workload(s, 5*time.Second, time.Hour, 600)
	w.batch = [2]int{1, 10}
	w.retractFrac = 0
	s.schedule(w)
	fr := s.nodes[0]
	s.at(int64(2*time.Second), func() {
		s.fault("%s asserts a false positive at a large host (TLP:GREEN, onward transfer granted)", fr.origin)
		spec := recordSpec{kind: syncengine.KindAssertion, tlp: tlpGreen, onward: onwardGranted, indicator: token(-1)}
		if s.cedarRng != nil {
			spec.cedar = &cedarFacts{categories: []string{"incitement"}, pap: "GREEN", legal: "referral", scope: "host", expires: "2027-06-01"}
		}
		s.assert(fr, []recordSpec{spec}, func(us []*uRecord) {
			s.after(time.Hour, func() {
				s.fault("%s retracts it (false positive)", fr.origin)
				s.retract(us)
			})
		})
	})
	return time.Hour + 5*time.Second
}

// The scale scenario's overlay (see its description).
const (
	scaleNear = 12
	scaleFar  = 8
)

func setupScale(s *sim) time.Duration {
	s.clocks(20*time.Millisecond, 20e-6)
	s.overlay(scaleNear, scaleFar)
	k := min(50, max(3, len(s.nodes)/20))
	s.schedule(workload{
		origins: s.assertingStates(k), assertions: 2000, batch: [2]int{1, 40},
		start: time.Second, window: 10 * time.Second, ratio: 1.6,
	})
	return 12 * time.Second
}
