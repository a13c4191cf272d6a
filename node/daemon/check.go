package daemon

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/node"
	"github.com/vigie-project/vigie/node/store"
	"github.com/vigie-project/vigie/node/syncengine"
	"github.com/vigie-project/vigie/protocol/record"
)

// CheckReport is what `vigie demo --check --json` prints: how a local
// federation converged, measured on real nodes.
type CheckReport struct {
	Nodes              int      `json:"nodes"`
	IndicatorsAsserted int      `json:"indicators_asserted"` // assertions made
	UniqueIndicators   int      `json:"unique_indicators"`
	Converged          bool     `json:"converged"` // every node holds exactly what it is permitted
	PushP50ms          float64  `json:"push_p50_ms"`
	PushP99ms          float64  `json:"push_p99_ms"`
	RetractionP50ms    float64  `json:"retraction_p50_ms"`
	RetractionP99ms    float64  `json:"retraction_p99_ms"`
	PolicyViolations   int      `json:"policy_violations"`
	InvalidAccepted    int      `json:"invalid_records_accepted"`
	Retractions        int      `json:"retractions"`
	SeedSeconds        float64  `json:"seed_seconds"`
	ConvergeSeconds    float64  `json:"converge_seconds"`
	Problems           []string `json:"problems,omitempty"`
}

// Arrivals records when each member stored each record it received.
type Arrivals struct {
	mu sync.Mutex
	at []map[cid.Cid]time.Time // by member
}

// NewArrivals is ready for n members.
func NewArrivals(n int) *Arrivals {
	a := &Arrivals{at: make([]map[cid.Cid]time.Time, n)}
	for i := range a.at {
		a.at[i] = make(map[cid.Cid]time.Time)
	}
	return a
}

// Option returns the daemon option that records member i's arrivals.
func (a *Arrivals) Option(i int) Option {
	return WithStored(func(_ string, refs []syncengine.RecordRef) {
		now := time.Now()
		a.mu.Lock()
		defer a.mu.Unlock()
		for _, r := range refs {
			if _, seen := a.at[i][r.CID]; !seen {
				a.at[i][r.CID] = now
			}
		}
	})
}

func (a *Arrivals) get(i int, c cid.Cid) (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.at[i][c]
	return t, ok
}

// seeded is one assertion the check made, with what the oracle needs.
type seeded struct {
	origin int
	cid    cid.Cid
	facts  node.RecordFacts
	at     time.Time // when the origin's Assert returned
}

// Seed asserts count synthetic indicators (reserved .example and .test
// names only) from several members with overlaps: about one indicator in
// eight is asserted by two states. The mix of TLP and onward consent
// exercises the baseline policy: a few TLP:RED assertions must stay home.
func Seed(ctx context.Context, l *Local, count int, progress func(done int)) ([]seeded, int, error) {
	origins := min(len(l.Members), 8)
	per := make([][]node.AssertRequest, origins)
	rng := rand.New(rand.NewPCG(7, uint64(count)))
	cats := record.Categories()
	for i := range count {
		req := demoRequest(i, rng, cats)
		o := i % origins
		per[o] = append(per[o], req)
		if i%8 == 0 && origins > 1 {
			dup := req
			dup.TLP, dup.Onward = record.TLPGreen, record.OnwardGranted
			per[(o+1)%origins] = append(per[(o+1)%origins], dup)
		}
	}
	var (
		mu   sync.Mutex
		out  []seeded
		done int
		wg   sync.WaitGroup
		errs = make([]error, origins)
	)
	for o := range origins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for chunk := range slices.Chunk(per[o], 32) {
				res, err := l.Members[o].Node().AssertMany(ctx, chunk)
				at := time.Now()
				if err != nil {
					errs[o] = err
					return
				}
				mu.Lock()
				for k, r := range res {
					if r.Err != nil {
						errs[o] = r.Err
						mu.Unlock()
						return
					}
					q := chunk[k]
					out = append(out, seeded{origin: o, cid: r.Assertion, at: at,
						facts: node.RecordFacts{Kind: store.KindAssertion, Origin: l.Members[o].Node().Agency(), TLP: q.TLP, Onward: q.Onward}})
				}
				done += len(chunk)
				if progress != nil {
					progress(done)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, 0, err
		}
	}
	return out, count, nil
}

func demoRequest(i int, rng *rand.Rand, cats []record.Category) node.AssertRequest {
	req := node.AssertRequest{
		Categories:  []record.Category{cats[rng.IntN(len(cats))]},
		LegalStatus: record.StatusReferral,
		LegalBasis:  []string{"TCO:Art.5"},
		TLP:         record.TLPGreen, PAP: record.PAPAmber,
		SourceEval: "B", InfoEval: "2", Onward: record.OnwardGranted,
		Expires: time.Now().Add(90 * 24 * time.Hour), // the Cedar baseline shares nothing without one
	}
	switch r := rng.IntN(20); {
	case r == 0:
		req.TLP = record.TLPRed
	case r == 1:
		req.TLP = record.TLPAmberStrict
	case r < 5:
		req.TLP, req.Onward = record.TLPAmber, record.OnwardAsk
	case r < 10:
		req.TLP = record.TLPClear
	}
	switch i % 3 {
	case 0:
		req.Expression = fmt.Sprintf("propaganda-%d.example/", i/3+1)
	case 1:
		req.Expression = fmt.Sprintf("forum-%d.test/board/%d/", i/3+1, (i/3+1)%5)
	default:
		req.URL = fmt.Sprintf("http://videos-%d.example/watch/%d.html", i/3+1, i)
	}
	return req
}

// permitted is the oracle: whether member m may hold a record the origin
// asserted with facts f, by the baseline policy, independently of the
// engine and of any relaying (a relay can never widen the origin's
// audience under the baseline).
func permitted(l *Local, s *seeded, m int) bool {
	if m == s.origin {
		return true
	}
	return node.MayHold(s.facts.Origin, l.Members[m].Node().Agency(), &s.facts)
}

// expected is what a member must end up holding: what the origin itself
// may send it — the baseline and, when the origin runs the Cedar packs,
// its share decision for that recipient. (A lawful relay may deliver more;
// that is never required, and never a baseline violation.)
func expected(l *Local, s *seeded, m int) bool {
	if m == s.origin {
		return true
	}
	if s.facts.Kind != store.KindAssertion {
		return permitted(l, s, m)
	}
	return l.Members[s.origin].Node().MayShareWith(l.Members[m].Node().Agency(), s.cid, &s.facts)
}

// Converge waits until every member holds every record it is expected to,
// or until timeout; it returns the problems left.
func Converge(l *Local, recs []seeded, timeout time.Duration) []string {
	deadline := time.Now().Add(timeout)
	for {
		missing := 0
		var first string
		for i := range recs {
			for m, d := range l.Members {
				if !expected(l, &recs[i], m) {
					continue
				}
				if ok, err := d.Node().Store().Has(recs[i].cid); err != nil || !ok {
					if missing == 0 {
						first = fmt.Sprintf("%s lacks %s from %s", d.Node().Agency(), recs[i].cid, recs[i].facts.Origin)
					}
					missing++
				}
			}
		}
		if missing == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return []string{fmt.Sprintf("%d records missing after %s; first: %s", missing, timeout, first)}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Violations counts records held where the oracle forbids them, and
// assertions held that nobody made (which could only come from a forgery
// accepted).
func Violations(l *Local, recs []seeded) (policy, invalid int) {
	made := make(map[cid.Cid]bool, len(recs))
	for i := range recs {
		made[recs[i].cid] = true
		for m, d := range l.Members {
			if !permitted(l, &recs[i], m) {
				if ok, _ := d.Node().Store().Has(recs[i].cid); ok {
					policy++
				}
			}
		}
	}
	for _, d := range l.Members {
		policy += int(d.Node().SyncCounters().PolicyViolations)
		st, err := d.Node().Store().Stats()
		if err != nil {
			invalid++
			continue
		}
		held := 0
		for i := range recs {
			if recs[i].facts.Kind != store.KindAssertion {
				continue
			}
			if ok, _ := d.Node().Store().Has(recs[i].cid); ok {
				held++
			}
		}
		invalid += int(st.Records[store.KindAssertion]) - held
	}
	return policy, invalid
}

// pushLatencies lists, for every record a member received, the time from
// its origin's Assert returning to the member storing it, in ms.
func pushLatencies(l *Local, a *Arrivals, recs []seeded) []float64 {
	var out []float64
	for i := range recs {
		for m := range l.Members {
			if m == recs[i].origin {
				continue
			}
			if t, ok := a.get(m, recs[i].cid); ok {
				out = append(out, ms(t.Sub(recs[i].at)))
			}
		}
	}
	return out
}

// Retract withdraws up to n of the seeded assertions, one at a time and
// spread over the origins, and returns the retractions as seeded records
// (a retraction goes wherever its assertion went).
func Retract(ctx context.Context, l *Local, recs []seeded, n int) ([]seeded, error) {
	var out []seeded
	step := max(len(recs)/max(n, 1), 1)
	for i := 0; i < len(recs) && len(out) < n; i += step {
		s := recs[i]
		c, err := l.Members[s.origin].Node().Retract(ctx, node.RetractRequest{Assertion: s.cid, Reason: record.ReasonFalsePositive})
		if err != nil {
			return nil, err
		}
		s.cid, s.at = c, time.Now()
		s.facts = node.RecordFacts{Kind: store.KindRetraction, Origin: s.facts.Origin}
		out = append(out, s)
	}
	return out, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// percentile is the nearest-rank percentile of xs (sorted in place).
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	k := int(p/100*float64(len(xs))+0.5) - 1
	return xs[min(max(k, 0), len(xs)-1)]
}

// Check runs a whole measurement on a started local federation whose
// members record arrivals in a: seed, converge, retract, converge, and
// look for violations.
func Check(ctx context.Context, l *Local, a *Arrivals, indicators int, timeout time.Duration) (*CheckReport, error) {
	rep := &CheckReport{Nodes: len(l.Members)}
	start := time.Now()
	recs, _, err := Seed(ctx, l, indicators, nil)
	if err != nil {
		return nil, fmt.Errorf("seeding: %w", err)
	}
	rep.SeedSeconds = time.Since(start).Seconds()
	rep.IndicatorsAsserted = len(recs)
	unique := map[string]bool{}
	for i := range recs {
		raw, _, err := l.Members[recs[i].origin].Node().Store().Get(recs[i].cid)
		if err != nil {
			return nil, err
		}
		as, err := record.DecodeAs[*record.Assertion](raw)
		if err != nil {
			return nil, err
		}
		unique[as.Indicator.KeyString()] = true
		recs[i].facts = node.RecordFacts{Kind: store.KindAssertion, Origin: as.Origin, TLP: as.TLP, Onward: as.Onward,
			Categories: as.Categories, PAP: as.PAP, LegalStatus: as.LegalStatus, Expr: as.Expr, Handling: as.Handling,
			OrderRef: as.OrderRef, Expires: as.Expires, Flags: as.Flags}
	}
	rep.UniqueIndicators = len(unique)
	rep.Problems = Converge(l, recs, timeout)
	rep.ConvergeSeconds = time.Since(start).Seconds() - rep.SeedSeconds
	push := pushLatencies(l, a, recs)
	rep.PushP50ms, rep.PushP99ms = percentile(push, 50), percentile(push, 99)

	rets, err := Retract(ctx, l, recs, min(100, max(len(recs)/10, 1)))
	if err != nil {
		return nil, fmt.Errorf("retracting: %w", err)
	}
	rep.Retractions = len(rets)
	rep.Problems = append(rep.Problems, Converge(l, rets, timeout)...)
	rl := pushLatencies(l, a, rets)
	rep.RetractionP50ms, rep.RetractionP99ms = percentile(rl, 50), percentile(rl, 99)
	rep.PolicyViolations, rep.InvalidAccepted = Violations(l, append(recs, rets...))
	rep.Converged = len(rep.Problems) == 0 && rep.PolicyViolations == 0 && rep.InvalidAccepted == 0
	return rep, nil
}
