package simulations

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/node/syncengine"
)

// decodeLimit is the largest message a node's decoder accepts, as
// node/syncnet's MaxMessageBytes: a larger one closes the stream.
const decodeLimit = syncengine.DefaultMessageBytes + 1<<20

// tickEvery is how often, at most, a node's engine is told the time
// before an event (the adapter's "now and then").
const tickEvery = int64(50 * time.Millisecond)

// netParams is the network and node model of a run.
type netParams struct {
	bandwidth       float64          // bits per second of each node's uplink
	jitter          float64          // extra one-way delay, uniform in [0, jitter × base]
	loss            float64          // per message: the stream breaks
	reconnect       [2]time.Duration // delay before a broken connection is tried again
	ingestBase      time.Duration    // the node's time to verify and store one bundle
	ingestPerRecord time.Duration    // ... plus this per record
	persistDelay    time.Duration    // a cursor write becomes durable after this
	reconcileDelay  time.Duration    // a Reconcile's anti-entropy session
}

func defaultNet() netParams {
	return netParams{
		bandwidth:       1e9,
		jitter:          0.1,
		reconnect:       [2]time.Duration{500 * time.Millisecond, time.Second},
		ingestBase:      300 * time.Microsecond,
		ingestPerRecord: 20 * time.Microsecond,
		persistDelay:    2 * time.Millisecond,
		reconcileDelay:  50 * time.Millisecond,
	}
}

type event struct {
	at  int64 // simulated nanoseconds since the start of the run
	seq uint64
	fn  func()
}

// node is one simulated federation member: the real engine, a simulated
// store that survives crashes, and the simulated node around them that
// verifies, stores and acknowledges deliveries.
type node struct {
	i       int
	id      syncengine.PeerID
	origin  string
	lat     float64
	lon     float64
	store   *store
	eng     *syncengine.Engine
	policy  *policy
	alive   bool
	inc     int                                     // incarnation: work of a crashed engine is dropped
	cursors map[syncengine.PeerID]syncengine.Cursor // durable
	checked map[syncengine.PeerID]syncengine.Cursor // how far the oracle checked its cursors
	seq     uint64                                  // last own sequence number

	timerGen  int
	lastTick  int64
	lastLocal time.Time
	busy      int64 // the node verifies and stores one bundle at a time
	upFree    int64 // when its uplink is free again

	skew  int64   // clock offset, ns
	drift float64 // clock rate error
	slow  float64 // processing time factor (1: normal)
	byz   *adversary

	msgs     int
	rejected int // deliveries it found invalid
	refused  int // deliveries its policy re-check refused (a sender's policy failed)
}

func (n *node) honest() bool { return n.byz == nil }

type link struct {
	peered bool // the two nodes connect at all (a full mesh unless an overlay says otherwise)
	up     bool
	gen    uint32
	lat    int64    // base one-way delay, ns
	last   [2]int64 // last arrival per direction: a stream is FIFO
}

// wire is one message on a stream, as the receiving decoder sees it.
type wire struct {
	msg     syncengine.Msg
	size    int
	garbage bool // undecodable bytes
}

// uRecord is a record of the run's universe: issued by an honest origin,
// acknowledged (durable at its origin) when issued.
type uRecord struct {
	cid       cid.Cid
	f         *facts
	origin    *node
	issued    int64
	target    *uRecord // a retraction's assertion
	retracted *uRecord // an assertion's retraction by its origin
}

type sim struct {
	ctx    context.Context
	opts   Options
	net    netParams
	rng    *rand.Rand
	base   time.Time
	now    int64
	seq    uint64
	q      []event
	nodes  []*node
	byID   map[syncengine.PeerID]*node
	roster map[syncengine.PeerID]string
	links  []link
	group  []int // partition: no connection between different groups
	keys   map[string][]byte
	oracle *oracle
	engCfg func(*syncengine.Config)

	cedar    *cedarLayer // nil unless Options.Cedar
	cedarRng *rand.Rand  // draws records' Cedar facts (Options.Cedar)

	recCache map[*byte]checkedRecord
	manCache map[*byte]*checkedManifest

	universe []*uRecord
	byCID    map[cid.Cid]*uRecord

	events     uint64
	lastActive int64 // when an engine last did anything but schedule a tick
	horizon    int64
	faults     []string
	err        error
	metrics    metrics
	wireRefs   int // messages refused by a decoder (oversized, malformed)
}

// metrics accumulates what the report shows.
type metrics struct {
	convergence []float64 // ms, per (record, node)
	retraction  []float64 // ms, per (retraction, node holding its assertion)
	bytes       int64     // every byte honest nodes sent
	feedBytes   int64     // catch-up: Hello, FeedRequest, FeedBatch, EpochReset
	diffRecords int64     // records received by feed that the receiver lacked
	stored      int64     // records newly stored by honest nodes from peers
	reconciles  int
	assertions  int
	indicators  map[string]struct{}
}

func newSim(ctx context.Context, o Options, n int, net netParams) *sim {
	s := &sim{
		ctx:    ctx,
		opts:   o,
		net:    net,
		rng:    rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)),
		base:   time.Date(2016, 10, 17, 12, 0, 0, 0, time.UTC),
		byID:   map[syncengine.PeerID]*node{},
		roster: map[syncengine.PeerID]string{},
		keys:   map[string][]byte{},
		group:  make([]int, n),
		byCID:  map[cid.Cid]*uRecord{},

		recCache: map[*byte]checkedRecord{},
		manCache: map[*byte]*checkedManifest{},
	}
	s.metrics.indicators = map[string]struct{}{}
	for i := range n {
		c := capitals[i%len(capitals)]
		name := c.code
		lat, lon := c.lat, c.lon
		if i >= len(capitals) {
			name = fmt.Sprintf("%s-%d", c.code, i/len(capitals)+1)
			lat += (s.rng.Float64() - 0.5) * 4
			lon += (s.rng.Float64() - 0.5) * 4
		}
		nd := &node{
			i: i, id: syncengine.PeerID("peer-" + name), origin: name, lat: lat, lon: lon,
			cursors: map[syncengine.PeerID]syncengine.Cursor{}, checked: map[syncengine.PeerID]syncengine.Cursor{},
			slow: 1,
		}
		nd.store = newStore(s.newEpoch())
		s.nodes = append(s.nodes, nd)
		s.byID[nd.id] = nd
		s.roster[nd.id] = nd.origin
		s.keys[nd.origin] = keyOf(o.Seed, nd.origin)
	}
	s.links = make([]link, n*n)
	for i := range n {
		for j := i + 1; j < n; j++ {
			a, b := s.nodes[i], s.nodes[j]
			s.links[i*n+j].lat = int64(oneWay(a.lat, a.lon, b.lat, b.lon))
			s.links[i*n+j].peered = true
		}
	}
	if o.Cedar {
		s.cedarRng = rand.New(rand.NewPCG(o.Seed, o.Seed^0xceda2026))
	}
	s.oracle = newOracle(s)
	return s
}

func (s *sim) newEpoch() syncengine.Epoch {
	var e syncengine.Epoch
	for i := range e {
		e[i] = byte(s.rng.Uint32())
	}
	return e
}

// start boots every node and connects every pair (a full mesh, as the
// roster prescribes).
func (s *sim) start() error {
	for _, n := range s.nodes {
		if err := s.boot(n); err != nil {
			return err
		}
	}
	for i := range s.nodes {
		for j := i + 1; j < len(s.nodes); j++ {
			s.connect(i, j)
		}
	}
	return nil
}

// boot builds a fresh engine for n from its store and durable cursors.
func (s *sim) boot(n *node) error {
	n.policy = &policy{self: n.origin, agency: s.roster, broken: s.opts.brokenPolicy, cedar: s.cedar}
	cfg := syncengine.Config{Origin: n.origin, Log: n.store, Policy: n.policy}
	keys := make([]syncengine.PeerID, 0, len(n.cursors))
	for k := range n.cursors {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		cfg.Cursors = append(cfg.Cursors, syncengine.PeerCursor{Peer: k, Cursor: n.cursors[k]})
	}
	if s.engCfg != nil {
		s.engCfg(&cfg)
	}
	eng, err := syncengine.New(cfg)
	if err != nil {
		return err
	}
	n.eng, n.alive, n.lastTick, n.busy, n.upFree = eng, true, math.MinInt64/2, 0, 0
	n.inc++
	s.tick(n, time.Time{})
	return nil
}

// ---- the event loop

func (s *sim) at(t int64, fn func()) {
	if t < s.now {
		t = s.now
	}
	s.seq++
	s.q = append(s.q, event{at: t, seq: s.seq, fn: fn})
	// sift up
	q := s.q
	i := len(q) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !less(&q[i], &q[p]) {
			break
		}
		q[i], q[p] = q[p], q[i]
		i = p
	}
}

func less(a, b *event) bool { return a.at < b.at || (a.at == b.at && a.seq < b.seq) }

func (s *sim) pop() event {
	q := s.q
	top := q[0]
	last := len(q) - 1
	q[0] = q[last]
	q[last] = event{}
	q = q[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= len(q) {
			break
		}
		m := l
		if r := l + 1; r < len(q) && less(&q[r], &q[l]) {
			m = r
		}
		if !less(&q[m], &q[i]) {
			break
		}
		q[i], q[m] = q[m], q[i]
		i = m
	}
	s.q = q
	return top
}

func (s *sim) after(d time.Duration, fn func()) { s.at(s.now+int64(d), fn) }

// later runs fn at t if n is still the same incarnation then.
func (s *sim) later(n *node, t int64, fn func()) {
	inc := n.inc
	s.at(t, func() {
		if n.alive && n.inc == inc {
			fn()
		}
	})
}

// run processes events up to until (simulated ns), or until the queue is
// empty when quiet is set. It reports whether the queue emptied.
func (s *sim) run(until int64, quiet bool) bool {
	for len(s.q) > 0 && s.q[0].at <= until {
		if s.err != nil {
			return false
		}
		ev := s.pop()
		s.now = ev.at
		s.events++
		if s.events&0xfff == 0 {
			if err := s.ctx.Err(); err != nil {
				s.err = err
				return false
			}
		}
		if s.events&0xffff == 0 {
			if s.opts.Progress != nil && s.horizon > 0 {
				s.opts.Progress(int(min(s.now, s.horizon)/int64(time.Millisecond)), int(s.horizon/int64(time.Millisecond)))
			}
		}
		ev.fn()
	}
	if len(s.q) == 0 {
		return true
	}
	if !quiet && s.now < until {
		s.now = until
	}
	return false
}

// ---- clocks

// local is n's clock at simulated time t: offset and drift.
func (s *sim) local(n *node, t int64) time.Time {
	return s.base.Add(time.Duration(n.skew + int64(float64(t)*(1+n.drift))))
}

// simTime is the simulated time at which n's clock shows l.
func (s *sim) simTime(n *node, l time.Time) int64 {
	d := float64(l.Sub(s.base)-time.Duration(n.skew)) / (1 + n.drift)
	return int64(math.Ceil(d))
}

// tick tells n the time (not before floor, and never backwards).
func (s *sim) tick(n *node, floor time.Time) {
	t := s.local(n, s.now)
	if t.Before(floor) {
		t = floor
	}
	if t.Before(n.lastLocal) {
		t = n.lastLocal
	}
	n.lastLocal, n.lastTick = t, s.now
	s.step(n, syncengine.Tick{Now: t})
}

// ---- driving an engine

// step feeds one event to n's engine and performs its actions.
func (s *sim) step(n *node, ev syncengine.Event) {
	if !n.alive {
		return
	}
	if _, isTick := ev.(syncengine.Tick); !isTick && s.now-n.lastTick >= tickEvery {
		s.tick(n, time.Time{})
		if !n.alive {
			return
		}
	}
	acts := slices.Clone(n.eng.Step(ev))
	for _, a := range acts {
		if _, ok := a.(*syncengine.Schedule); !ok {
			s.lastActive = s.now
		}
		if !n.alive {
			return
		}
		s.perform(n, a)
	}
}

func (s *sim) perform(n *node, a syncengine.Action) {
	switch a := a.(type) {
	case *syncengine.Send:
		s.sendFromEngine(n, a)
	case *syncengine.Deliver:
		s.ingest(n, a)
	case *syncengine.PersistCursor:
		s.oracle.checkCursor(n, a.Peer, a.Cursor)
		s.later(n, s.now+int64(s.net.persistDelay), func() { n.cursors[a.Peer] = a.Cursor })
	case *syncengine.Schedule:
		n.timerGen++
		gen, at := n.timerGen, a.At
		s.later(n, s.simTime(n, at), func() {
			if n.timerGen == gen {
				s.tick(n, at)
			}
		})
	case *syncengine.Reconcile:
		// The anti-entropy layer: the simulator runs node/syncnet's
		// default reconciler, which reconciles nothing and lets the
		// engine feed the peer's new epoch from its start.
		s.metrics.reconciles++
		s.later(n, s.now+int64(s.net.reconcileDelay), func() {
			s.step(n, syncengine.Reconciled{Peer: a.Peer, Epoch: a.Epoch})
		})
	case *syncengine.Note:
	default:
		s.err = fmt.Errorf("simulations: unknown action %T", a)
	}
}
