package simulations

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	legal "github.com/vigie-project/vigie/policy"
)

// Options select and seed a run.
type Options struct {
	Scenario string
	Seed     uint64
	Nodes    int                   // 0: the scenario's default
	Progress func(done, total int) // simulated milliseconds done of about total; may be nil
	// Cedar adds the legal-policy engine (legal.Default()) to every
	// node's sharing rule and to the oracle's (see cedar.go), in a full
	// mesh or an overlay alike (relays are decided hop by hop).
	Cedar bool

	// brokenPolicy is a test hook: every node's policy lets TLP:RED
	// through, which the oracle must catch.
	brokenPolicy bool
	// beforeCheck is a test hook run on the simulation just before the
	// oracle's final check (to tamper with stores, for instance).
	beforeCheck func(s *sim)
	// cedarFlip is a test hook: it returns the nodes' Cedar share decision
	// for a hop (h.allow() to leave it alone; the oracle's own decisions
	// are not affected), so that a wrong one can be shown to be caught.
	cedarFlip func(h cedarHop) bool
}

// ScenarioInfo describes a named scenario.
type ScenarioInfo struct {
	Name, Description string
	DefaultNodes      int
}

// Report is what a run measured. Same Options (Progress aside), same
// bytes of json.Marshal(report).
type Report struct {
	Scenario             string    `json:"scenario"`
	Seed                 uint64    `json:"seed"`
	Nodes                int       `json:"nodes"`
	Converged            bool      `json:"converged"`
	ConvergenceP50ms     float64   `json:"convergence_p50_ms"`
	ConvergenceP99ms     float64   `json:"convergence_p99_ms"`
	RetractionP99ms      float64   `json:"retraction_p99_ms"`
	BytesPerDiff         float64   `json:"bytes_per_diff"`   // catch-up bytes per record a node was missing
	BytesPerRecord       float64   `json:"bytes_per_record"` // every byte honest nodes sent, per record stored from a peer
	DuplicateSuppression float64   `json:"duplicate_suppression"`
	OracleViolations     int       `json:"oracle_violations"`
	LostRecords          int       `json:"lost_records"`
	Violations           []string  `json:"violations,omitempty"`
	Events               uint64    `json:"events"`
	SimulatedMs          float64   `json:"simulated_ms"`
	ConvergenceMs        []float64 `json:"convergence_ms"`
	RetractionMs         []float64 `json:"retraction_ms"`
	MessagesPerNode      []int     `json:"messages_per_node"`
	Faults               []string  `json:"faults,omitempty"`
	NodeNames            []string  `json:"node_names"`

	// Added to the agreed shape.
	Description      string  `json:"description"`
	ConvergenceMaxMs float64 `json:"convergence_max_ms"`
	RetractionP50ms  float64 `json:"retraction_p50_ms"`
	RetractionMaxMs  float64 `json:"retraction_max_ms"`
	Quiet            bool    `json:"quiet"` // every engine went idle before the settle limit
	// LastActivityMs is when an engine last did anything but ask for a
	// tick (SimulatedMs also counts timers that fire with nothing to do).
	LastActivityMs   float64  `json:"last_activity_ms"`
	Records          int      `json:"records"`
	Assertions       int      `json:"assertions"`
	UniqueIndicators int      `json:"unique_indicators"`
	Samples          int      `json:"convergence_samples"` // before subsampling
	BytesTotal       int64    `json:"bytes_total"`
	Byzantine        []string `json:"byzantine,omitempty"`
	RejectedInvalid  int      `json:"rejected_invalid"` // deliveries honest nodes refused as invalid
	PolicyRefused    int      `json:"policy_refused"`   // ... of which the receiver's policy re-check refused
	WireRejected     int      `json:"wire_rejected"`    // messages a decoder refused (oversized, malformed)
	Reconciles       int      `json:"reconciles"`
	WireChecked      int      `json:"wire_records_checked"`
}

// MaxNodes is the largest federation a run accepts.
const MaxNodes = 1000

// maxSamples caps the latency samples kept in a report.
const maxSamples = 20000

// settleLimit is how long, in simulated time, a run may take after its
// workload and faults are over to go quiet.
const settleLimit = 15 * time.Minute

// Scenarios lists the named scenarios.
func Scenarios() []ScenarioInfo {
	out := make([]ScenarioInfo, len(scenarios))
	for i, sc := range scenarios {
		out[i] = sc.info
	}
	return out
}

// Run simulates one scenario and checks it with the oracle. The error is
// for bad options, an engine that refused its configuration, or ctx; a
// run that fails its oracle returns a report that says so.
func Run(ctx context.Context, o Options) (*Report, error) {
	var sc *scenario
	for i := range scenarios {
		if scenarios[i].info.Name == o.Scenario {
			sc = &scenarios[i]
		}
	}
	if sc == nil {
		names := make([]string, len(scenarios))
		for i, x := range scenarios {
			names[i] = x.info.Name
		}
		return nil, fmt.Errorf("simulations: unknown scenario %q (known: %v)", o.Scenario, names)
	}
	n := o.Nodes
	if n == 0 {
		n = sc.info.DefaultNodes
	}
	if n < sc.minNodes || n > MaxNodes {
		return nil, fmt.Errorf("simulations: %s takes %d to %d nodes, not %d", sc.info.Name, sc.minNodes, MaxNodes, n)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := newSim(ctx, o, n, sc.net())
	end := sc.setup(s)
	if o.Cedar {
		b, err := legal.Default()
		if err != nil {
			return nil, fmt.Errorf("simulations: Cedar: %w", err)
		}
		s.cedar = newCedarLayer(b, s.nodes, o.cedarFlip)
		s.oracle.cedar = newOracleCedar(b, s.nodes)
	}
	if err := s.start(); err != nil {
		return nil, err
	}
	s.horizon = int64(end) + int64(10*time.Second)
	s.run(int64(end), false)
	quiet := s.run(int64(end)+int64(settleLimit), true)
	if s.err != nil {
		return nil, s.err
	}
	if o.Progress != nil {
		total := int(s.horizon / int64(time.Millisecond))
		o.Progress(total, total)
	}
	return s.report(sc, quiet), nil
}

func (s *sim) report(sc *scenario, quiet bool) *Report {
	if s.opts.beforeCheck != nil {
		s.opts.beforeCheck(s)
	}
	ok := s.oracle.final()
	m := &s.metrics
	r := &Report{
		Scenario:         sc.info.Name,
		Seed:             s.opts.Seed,
		Nodes:            len(s.nodes),
		Description:      sc.info.Description,
		Quiet:            quiet,
		Converged:        quiet && ok && s.oracle.violations == 0,
		OracleViolations: s.oracle.violations,
		LostRecords:      s.oracle.lost,
		Violations:       s.oracle.first,
		Events:           s.events,
		SimulatedMs:      round3(float64(s.now) / 1e6),
		LastActivityMs:   round3(float64(s.lastActive) / 1e6),
		Faults:           s.faults,
		Records:          len(s.universe),
		Assertions:       m.assertions,
		UniqueIndicators: len(m.indicators),
		Samples:          len(m.convergence),
		BytesTotal:       m.bytes,
		WireRejected:     s.wireRefs,
		Reconciles:       m.reconciles,
		WireChecked:      s.oracle.checked,
	}
	slices.Sort(m.convergence)
	slices.Sort(m.retraction)
	r.ConvergenceP50ms = round3(percentile(m.convergence, 0.50))
	r.ConvergenceP99ms = round3(percentile(m.convergence, 0.99))
	r.ConvergenceMaxMs = round3(percentile(m.convergence, 1))
	r.RetractionP50ms = round3(percentile(m.retraction, 0.50))
	r.RetractionP99ms = round3(percentile(m.retraction, 0.99))
	r.RetractionMaxMs = round3(percentile(m.retraction, 1))
	r.ConvergenceMs = subsample(m.convergence)
	r.RetractionMs = subsample(m.retraction)
	if m.diffRecords > 0 {
		r.BytesPerDiff = round3(float64(m.feedBytes) / float64(m.diffRecords))
	}
	if m.stored > 0 {
		r.BytesPerRecord = round3(float64(m.bytes) / float64(m.stored))
	}
	if len(m.indicators) > 0 {
		r.DuplicateSuppression = round3(float64(m.assertions) / float64(len(m.indicators)))
	}
	for _, n := range s.nodes {
		r.NodeNames = append(r.NodeNames, n.origin)
		r.MessagesPerNode = append(r.MessagesPerNode, n.msgs)
		if n.honest() {
			r.RejectedInvalid += n.rejected
			r.PolicyRefused += n.refused
		} else {
			r.Byzantine = append(r.Byzantine, n.origin)
		}
	}
	return r
}

// percentile is the nearest-rank p-quantile of sorted xs (0 if empty).
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(xs)))) - 1
	return xs[min(max(i, 0), len(xs)-1)]
}

// subsample keeps at most maxSamples of sorted xs, evenly spaced by rank
// (the extremes included), rounded to the microsecond.
func subsample(xs []float64) []float64 {
	out := make([]float64, 0, min(len(xs), maxSamples))
	if len(xs) <= maxSamples {
		for _, x := range xs {
			out = append(out, round3(x))
		}
		return out
	}
	for k := range maxSamples {
		i := int(int64(k) * int64(len(xs)-1) / int64(maxSamples-1))
		out = append(out, round3(xs[i]))
	}
	return out
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }
