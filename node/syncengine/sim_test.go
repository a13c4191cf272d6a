package syncengine

import (
	"container/heap"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
)

// The simulation harness: N engines, each with a fake store and a fake
// node (verify, store, acknowledge), joined by a fake network whose
// latency, loss, partitions and crashes come from one seed. Everything
// runs on one goroutine in simulated time, ordered by (time, sequence), so
// a seed fixes the whole run. A lost message breaks the connection, as on
// one reliable stream per peer: both sides see PeerDown, then reconnect.

type simConfig struct {
	nodes       int
	latency     [2]time.Duration // uniform in [min, max]
	loss        float64          // per message: the connection breaks
	ingestDelay time.Duration    // the node's time to verify and store a bundle
	failStore   float64          // per delivery: a local store failure
	reconnect   time.Duration
	engine      func(*Config)
	policy      func(s *sim, n *simNode) Policy
	keepTrace   bool
}

func defaultSimConfig(nodes int) simConfig {
	return simConfig{
		nodes:       nodes,
		latency:     [2]time.Duration{2 * time.Millisecond, 10 * time.Millisecond},
		ingestDelay: 200 * time.Microsecond,
		reconnect:   500 * time.Millisecond,
	}
}

type simEvent struct {
	at  time.Time
	seq uint64
	fn  func()
}

type eventQueue []simEvent

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(simEvent)) }
func (q *eventQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

type link struct {
	up   bool
	gen  int
	last [2]time.Time // last arrival per direction, to keep streams FIFO
}

type simNode struct {
	i        int
	id       PeerID
	origin   string
	store    *fakeStore
	eng      *Engine
	alive    bool
	inc      int // incarnation: events of a crashed engine are dropped
	cursors  map[PeerID]Cursor
	seq      uint64 // last own sequence number
	timerGen int
	lastTick time.Time
	busy     time.Time // the node verifies and stores one bundle at a time
	checked  map[PeerID]uint64

	received, duplicates int // records delivered to it, and those it held already
}

type universeRecord struct {
	cid   cid.Cid
	facts *facts
}

type sim struct {
	t        testing.TB
	cfg      simConfig
	rng      *rand.Rand
	now      time.Time
	seq      uint64
	q        eventQueue
	nodes    []*simNode
	byID     map[PeerID]*simNode
	links    map[[2]int]*link
	cut      func(i, j int) bool // partition: no connection between i and j
	oracle   *oracle
	universe []universeRecord

	trace      hash.Hash
	traceLines []string
	steps      int
	broken     []string // harness invariants that failed
	reconciles int
	sends      map[string]int // messages sent, by type
}

func newSim(t testing.TB, seed uint64, cfg simConfig) *sim {
	s := &sim{
		t: t, cfg: cfg,
		rng:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		now:    time.Unix(1_700_000_000, 0),
		byID:   map[PeerID]*simNode{},
		links:  map[[2]int]*link{},
		oracle: newOracle(),
		trace:  sha256.New(),
		sends:  map[string]int{},
	}
	for i := range cfg.nodes {
		n := &simNode{i: i, id: PeerID(fmt.Sprintf("p%02d", i)), origin: fmt.Sprintf("C%02d", i), cursors: map[PeerID]Cursor{}, checked: map[PeerID]uint64{}}
		n.store = newFakeStore(s.newEpoch())
		s.nodes = append(s.nodes, n)
		s.byID[n.id] = n
		s.oracle.addNode(n.id, n.origin, i)
	}
	for _, n := range s.nodes {
		s.start(n)
	}
	for i := range s.nodes {
		for j := i + 1; j < len(s.nodes); j++ {
			s.links[[2]int{i, j}] = &link{}
			s.connect(i, j)
		}
	}
	return s
}

func (s *sim) newEpoch() Epoch {
	var e Epoch
	for i := range e {
		e[i] = byte(s.rng.Uint32())
	}
	return e
}

func (s *sim) policyFor(n *simNode) Policy {
	if s.cfg.policy != nil {
		return s.cfg.policy(s, n)
	}
	idx := map[PeerID]int{}
	for _, m := range s.nodes {
		idx[m.id] = m.i
	}
	return &fakePolicy{origin: n.origin, index: idx}
}

// start builds a fresh engine for n from its store and persisted cursors.
func (s *sim) start(n *simNode) {
	cfg := Config{Origin: n.origin, Log: n.store, Policy: s.policyFor(n), DeliveryTimeout: 10 * time.Second, RetryDelay: 200 * time.Millisecond}
	for _, id := range sortedKeys(n.cursors) {
		cfg.Cursors = append(cfg.Cursors, PeerCursor{Peer: id, Cursor: n.cursors[id]})
	}
	if s.cfg.engine != nil {
		s.cfg.engine(&cfg)
	}
	eng, err := New(cfg)
	if err != nil {
		s.t.Fatal(err)
	}
	n.eng, n.alive, n.lastTick = eng, true, time.Time{}
	n.inc++
	s.step(n, Tick{Now: s.now})
}

func sortedKeys[V any](m map[PeerID]V) []PeerID {
	keys := make([]PeerID, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (s *sim) at(t time.Time, fn func()) {
	if t.Before(s.now) {
		t = s.now
	}
	s.seq++
	heap.Push(&s.q, simEvent{at: t, seq: s.seq, fn: fn})
}

func (s *sim) after(d time.Duration, fn func()) { s.at(s.now.Add(d), fn) }

// later runs fn after d if n is still the same incarnation.
func (s *sim) later(n *simNode, d time.Duration, fn func()) {
	inc := n.inc
	s.after(d, func() {
		if n.alive && n.inc == inc {
			fn()
		}
	})
}

// run processes events up to until.
func (s *sim) run(until time.Time) {
	for s.q.Len() > 0 && !s.q[0].at.After(until) {
		ev := heap.Pop(&s.q).(simEvent)
		s.now = ev.at
		ev.fn()
	}
	if s.now.Before(until) {
		s.now = until
	}
}

func (s *sim) runFor(d time.Duration) { s.run(s.now.Add(d)) }

// settle runs until nothing is left to do, failing past limit.
func (s *sim) settle(limit time.Duration) {
	end := s.now.Add(limit)
	for s.q.Len() > 0 {
		if s.q[0].at.After(end) {
			for _, n := range s.nodes {
				if n.alive {
					s.t.Logf("%s: %+v", n.id, n.eng.Stats())
				}
			}
			for _, l := range s.traceLines[max(0, len(s.traceLines)-40):] {
				s.t.Log(l)
			}
			s.t.Fatalf("not quiet after %v: %d events pending", limit, s.q.Len())
		}
		ev := heap.Pop(&s.q).(simEvent)
		s.now = ev.at
		ev.fn()
	}
}

// step feeds one event to n's engine and performs the actions. The engine
// learns the time from Ticks: one goes first whenever time moved on.
func (s *sim) step(n *simNode, ev Event) {
	if !n.alive {
		return
	}
	if _, isTick := ev.(Tick); !isTick && s.now.Sub(n.lastTick) >= 50*time.Millisecond {
		s.step(n, Tick{Now: s.now})
	}
	if t, ok := ev.(Tick); ok {
		n.lastTick = t.Now
	}
	acts := slices.Clone(n.eng.Step(ev))
	s.steps++
	for _, a := range acts {
		s.record(n, a)
		s.perform(n, a)
	}
}

func (s *sim) perform(n *simNode, a Action) {
	switch a := a.(type) {
	case *Send:
		s.send(n, a)
	case *Deliver:
		s.ingest(n, a)
	case *PersistCursor:
		s.persist(n, a)
	case *Schedule:
		n.timerGen++
		gen := n.timerGen
		s.later(n, a.At.Sub(s.now), func() {
			if n.timerGen == gen {
				s.step(n, Tick{Now: s.now})
			}
		})
	case *Reconcile:
		s.reconciles++
		// No anti-entropy yet: "reconcile" by feeding from the start.
		s.later(n, 10*time.Millisecond, func() { s.step(n, Reconciled{Peer: a.Peer, Epoch: a.Epoch}) })
	case *Note:
	default:
		s.t.Fatalf("unknown action %T", a)
	}
}

func (s *sim) send(n *simNode, a *Send) {
	s.oracle.check(n.id, a)
	s.sends[fmt.Sprintf("%T", a.Msg)]++
	dst := s.byID[a.To]
	if dst == nil {
		s.broken = append(s.broken, fmt.Sprintf("%s sent to unknown peer %s", n.id, a.To))
		return
	}
	l, dir := s.link(n.i, dst.i)
	sentOn := l.gen
	s.later(n, 20*time.Microsecond, func() {
		if l.gen == sentOn { // none for a connection that went down
			s.step(n, SendDone{Peer: a.To})
		}
	})
	if !l.up {
		return // the connection is gone; PeerDown is on its way
	}
	if s.cfg.loss > 0 && s.rng.Float64() < s.cfg.loss {
		s.breakLink(n.i, dst.i)
		return
	}
	lat := s.cfg.latency[0]
	if span := s.cfg.latency[1] - s.cfg.latency[0]; span > 0 {
		lat += time.Duration(s.rng.Int64N(int64(span)))
	}
	arrival := s.now.Add(lat)
	if arrival.Before(l.last[dir]) {
		arrival = l.last[dir]
	}
	l.last[dir] = arrival
	gen := l.gen
	s.at(arrival, func() {
		if l.up && l.gen == gen {
			s.step(dst, Received{From: n.id, Msg: a.Msg})
		}
	})
}

func (s *sim) link(i, j int) (*link, int) {
	if i < j {
		return s.links[[2]int{i, j}], 0
	}
	return s.links[[2]int{j, i}], 1
}

// ingest is the fake node: verify, store, acknowledge, one bundle at a
// time. A crash before the acknowledgement loses the delivery.
func (s *sim) ingest(n *simNode, a *Deliver) {
	start := s.now
	if n.busy.After(start) {
		start = n.busy
	}
	n.busy = start.Add(s.cfg.ingestDelay)
	s.later(n, n.busy.Sub(s.now), func() {
		if err := verify(a.Bundle); err != nil {
			s.step(n, Rejected{Delivery: a.Delivery, Invalid: true, Reason: err.Error()})
			return
		}
		if s.cfg.failStore > 0 && s.rng.Float64() < s.cfg.failStore {
			s.step(n, Rejected{Delivery: a.Delivery, Reason: "disk full"})
			return
		}
		for _, r := range a.Bundle.Records {
			n.received++
			if n.store.has(r.Ref.CID) {
				n.duplicates++
			}
		}
		stored := n.store.put(a.Bundle)
		s.step(n, Accepted{Delivery: a.Delivery, Stored: stored})
	})
}

// persist checks the central invariant before keeping the cursor: every
// record that the peer originated and may share with n, up to the cursor,
// is already in n's store. A cursor that passed an unstored record would
// skip it for good.
func (s *sim) persist(n *simNode, a *PersistCursor) {
	z := s.byID[a.Peer]
	prev := n.cursors[a.Peer]
	if len(s.broken) > 20 {
		return
	}
	if prev.Epoch == a.Cursor.Epoch && a.Cursor.After < prev.After {
		s.broken = append(s.broken, fmt.Sprintf("%s: cursor for %s went back from %d to %d", n.id, a.Peer, prev.After, a.Cursor.After))
	}
	n.cursors[a.Peer] = a.Cursor
	if z == nil || z.store.epoch != a.Cursor.Epoch {
		n.checked[a.Peer] = 0
		return
	}
	from := n.checked[a.Peer]
	if prev.Epoch != a.Cursor.Epoch {
		from = 0
	}
	for idx := from + 1; idx <= a.Cursor.After && idx <= uint64(len(z.store.entries)); idx++ {
		e := z.store.entries[idx-1]
		if e.Erased || e.Record.Ref.Kind == KindManifest {
			continue
		}
		f := e.Record.Ref.Facts.(*facts)
		if f.origin == z.origin && !f.red && f.audience&(1<<n.i) != 0 && !n.store.has(e.Record.Ref.CID) {
			s.broken = append(s.broken, fmt.Sprintf("%s: cursor for %s at %d passed entry %d, not stored", n.id, a.Peer, a.Cursor.After, idx))
			return
		}
	}
	n.checked[a.Peer] = a.Cursor.After
}

// connect brings a connection up (after a handshake delay) unless a
// partition or a dead node stands in the way.
func (s *sim) connect(i, j int) {
	l, _ := s.link(i, j)
	a, b := s.nodes[i], s.nodes[j]
	if l.up || !a.alive || !b.alive || (s.cut != nil && s.cut(i, j)) {
		return
	}
	l.up = true
	l.gen++
	gen := l.gen
	s.after(time.Millisecond, func() {
		if l.up && l.gen == gen {
			s.step(a, PeerUp{Peer: b.id, Origin: b.origin})
			s.step(b, PeerUp{Peer: a.id, Origin: a.origin})
		}
	})
}

// breakLink drops a connection and what is in flight on it; both sides
// are told, and it comes back after the reconnect delay if it can.
func (s *sim) breakLink(i, j int) {
	l, _ := s.link(i, j)
	if !l.up {
		return
	}
	l.up = false
	l.gen++
	l.last = [2]time.Time{}
	for _, pair := range [][2]*simNode{{s.nodes[i], s.nodes[j]}, {s.nodes[j], s.nodes[i]}} {
		if pair[0].alive {
			s.step(pair[0], PeerDown{Peer: pair[1].id})
		}
	}
	s.after(s.cfg.reconnect, func() { s.connect(i, j) })
}

func (s *sim) partition(side func(i int) int) {
	s.cut = func(i, j int) bool { return side(i) != side(j) }
	for i := range s.nodes {
		for j := i + 1; j < len(s.nodes); j++ {
			if s.cut(i, j) {
				s.breakLink(i, j)
			}
		}
	}
}

func (s *sim) heal() {
	s.cut = nil
	for i := range s.nodes {
		for j := i + 1; j < len(s.nodes); j++ {
			s.connect(i, j)
		}
	}
}

// crash kills n's engine and its pending work; the store and persisted
// cursors survive.
func (s *sim) crash(n *simNode) {
	if !n.alive {
		return
	}
	for j := range s.nodes {
		if j == n.i {
			continue
		}
		if l, _ := s.link(n.i, j); l.up {
			l.up = false
			l.gen++
			l.last = [2]time.Time{}
			s.step(s.nodes[j], PeerDown{Peer: n.id})
		}
	}
	n.alive, n.eng, n.busy = false, nil, time.Time{}
	n.inc++
}

func (s *sim) restart(n *simNode) {
	if n.alive {
		return
	}
	s.start(n)
	for j := range s.nodes {
		if j != n.i {
			s.connect(n.i, j)
		}
	}
}

// addRecords has n originate records in batches.
func (s *sim) addRecords(n *simNode, specs []recordSpec, batch int) {
	if !n.alive {
		s.t.Fatalf("%s is down", n.id)
	}
	for chunk := range slices.Chunk(specs, batch) {
		ev := n.store.commitOwn(n.origin, n.seq+1, chunk)
		n.seq += uint64(len(chunk))
		for _, r := range ev.Bundles[0].Records {
			s.universe = append(s.universe, universeRecord{cid: r.Ref.CID, facts: r.Ref.Facts.(*facts)})
		}
		s.step(n, ev)
	}
}

// randomSpecs makes count records with random audiences and markings.
func (s *sim) randomSpecs(count int, redP, onwardP, retractP float64) []recordSpec {
	specs := make([]recordSpec, count)
	all := uint64(1)<<len(s.nodes) - 1
	for i := range specs {
		k := KindAssertion
		if s.rng.Float64() < retractP {
			k = KindRetraction
		}
		aud := s.rng.Uint64() & all
		if s.rng.IntN(3) == 0 {
			aud = all
		}
		specs[i] = recordSpec{kind: k, audience: aud, red: s.rng.Float64() < redP, onward: s.rng.Float64() < onwardP, note: fmt.Sprint(s.rng.Uint32())}
	}
	return specs
}

// audienceSpecs makes count assertions for everyone (onward allowed).
func audienceSpecs(count int, aud uint64, note string) []recordSpec {
	specs := make([]recordSpec, count)
	for i := range specs {
		specs[i] = recordSpec{kind: KindAssertion, audience: aud, onward: true, note: fmt.Sprintf("%s-%d", note, i)}
	}
	return specs
}

// expected is what n must end up holding: what it originated, and what
// its audience rule lets reach it (directly from the origin, which every
// node eventually is connected to).
func (s *sim) expected(n *simNode) map[cid.Cid]bool {
	want := map[cid.Cid]bool{}
	for _, r := range s.universe {
		if r.facts.origin == n.origin || (!r.facts.red && r.facts.audience&(1<<n.i) != 0) {
			want[r.cid] = true
		}
	}
	return want
}

// converged reports what differs between every node's store and what it
// should hold.
func (s *sim) converged() error {
	for _, n := range s.nodes {
		have, want := n.store.records(), s.expected(n)
		missing, extra := 0, 0
		for c := range want {
			if !have[c] {
				missing++
			}
		}
		for c := range have {
			if !want[c] {
				extra++
			}
		}
		if missing+extra > 0 {
			return fmt.Errorf("%s holds %d records: %d missing, %d it must not hold", n.id, len(have), missing, extra)
		}
	}
	return nil
}

// check fails the test on any oracle or harness violation.
func (s *sim) check() {
	s.t.Helper()
	if len(s.oracle.violations) > 0 {
		s.t.Fatalf("policy oracle: %d violations, first: %v", len(s.oracle.violations), s.oracle.violations)
	}
	if len(s.broken) > 0 {
		s.t.Fatalf("invariants: %v", s.broken)
	}
}

// record adds an action to the run's trace.
func (s *sim) record(n *simNode, a Action) {
	line := fmt.Sprintf("%d %s %s\n", s.now.UnixNano(), n.id, describe(a))
	s.trace.Write([]byte(line))
	if s.cfg.keepTrace {
		s.traceLines = append(s.traceLines, line)
	}
}

func (s *sim) traceHash() string { return hex.EncodeToString(s.trace.Sum(nil)) }

// describe renders an action deterministically and compactly.
func describe(a Action) string {
	switch a := a.(type) {
	case *Send:
		return fmt.Sprintf("send %s %s %s", a.To, a.Priority, describeMsg(a.Msg))
	case *Deliver:
		return fmt.Sprintf("deliver %d from %s %s", a.Delivery, a.From, describeBundles([]Bundle{a.Bundle}))
	case *PersistCursor:
		return fmt.Sprintf("persist %s %s/%d", a.Peer, a.Cursor.Epoch, a.Cursor.After)
	case *Schedule:
		return fmt.Sprintf("schedule %d", a.At.UnixNano())
	case *Reconcile:
		return fmt.Sprintf("reconcile %s %s/%d %s", a.Peer, a.Epoch, a.Next, a.Reason)
	case *Note:
		return fmt.Sprintf("note %s %s %s %s", a.Level, a.Peer, a.Event, a.Detail)
	}
	return fmt.Sprintf("%T", a)
}

func describeMsg(m Msg) string {
	switch m := m.(type) {
	case *Hello:
		return fmt.Sprintf("hello %s/%d", m.Epoch, m.Next)
	case *Direct:
		return fmt.Sprintf("direct %v", m.Origins)
	case *Push:
		return fmt.Sprintf("push %s/%d %s", m.Epoch, m.Through, describeBundles(m.Bundles))
	case *FeedRequest:
		return fmt.Sprintf("feedreq %s/%d %d", m.Epoch, m.After, m.Limit)
	case *FeedBatch:
		return fmt.Sprintf("feed %s (%d,%d] %t %s", m.Epoch, m.After, m.Next, m.Done, describeBundles(m.Bundles))
	case *EpochReset:
		return fmt.Sprintf("reset %s/%d", m.Epoch, m.Next)
	}
	return fmt.Sprintf("%T", m)
}

func describeBundles(bs []Bundle) string {
	n := 0
	first := ""
	for _, b := range bs {
		n += len(b.Records)
		if first == "" && len(b.Records) > 0 {
			first = b.Records[0].Ref.CID.String()
			first = first[len(first)-8:]
		}
	}
	return fmt.Sprintf("%db/%dr/%s", len(bs), n, first)
}
