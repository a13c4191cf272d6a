package simulations

import (
	"context"
	"crypto/hmac"
	"errors"
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

func (s *sim) sendFromEngine(n *node, a *syncengine.Send) {
	dst := s.byID[a.To]
	if dst == nil || dst == n {
		s.oracle.failf("%s sent to a peer that is not a member: %s", n.origin, a.To)
		return
	}
	if n.honest() {
		s.oracle.checkSend(n, dst, a.Msg)
	} else if n.byz.withholds(a.Msg) {
		// Written to nowhere: the engine sees it go, the peer never does.
		s.later(n, s.now+int64(20*time.Microsecond), func() { s.step(n, syncengine.SendDone{Peer: a.To}) })
		return
	}
	s.transmit(n, dst, wire{msg: a.Msg, size: msgSize(a.Msg)}, true)
}

// transmit puts w on n's stream to dst: serialised on n's uplink, then
// the link's one-way delay and jitter, FIFO per stream. A lost message
// breaks the stream. engine: report SendDone to n's engine.
func (s *sim) transmit(n, dst *node, w wire, engine bool) {
	l, dir := s.link(n.i, dst.i)
	start := max(s.now, n.upFree)
	done := start + int64(float64(w.size)*8e9/s.net.bandwidth)
	n.upFree = done
	n.msgs++
	if n.honest() {
		s.metrics.bytes += int64(w.size)
		switch w.msg.(type) {
		case *syncengine.Hello, *syncengine.FeedRequest, *syncengine.FeedBatch, *syncengine.EpochReset:
			s.metrics.feedBytes += int64(w.size)
		}
	}
	gen := l.gen
	if engine {
		to := dst.id
		s.later(n, done, func() {
			if l.gen == gen {
				s.step(n, syncengine.SendDone{Peer: to})
			}
		})
	}
	if !l.up {
		return // the connection is gone; PeerDown is on its way
	}
	if s.net.loss > 0 && s.rng.Float64() < s.net.loss {
		s.breakLink(n.i, dst.i)
		return
	}
	arrival := done + l.lat
	if s.net.jitter > 0 {
		arrival += int64(s.rng.Float64() * s.net.jitter * float64(l.lat))
	}
	if arrival < l.last[dir] {
		arrival = l.last[dir]
	}
	l.last[dir] = arrival
	s.at(arrival, func() {
		if l.up && l.gen == gen {
			s.receive(dst, n, w)
		}
	})
}

// receive is dst's adapter decoding a message from src.
func (s *sim) receive(dst, src *node, w wire) {
	if !dst.alive {
		return
	}
	if w.garbage || w.size > decodeLimit {
		// The decoder refuses it and closes the stream.
		s.wireRefs++
		s.breakLink(src.i, dst.i)
		return
	}
	if fb, ok := w.msg.(*syncengine.FeedBatch); ok && dst.honest() {
		for _, b := range fb.Bundles {
			for _, r := range b.Records {
				if !dst.store.has(r.Ref.CID) {
					s.metrics.diffRecords++
				}
			}
		}
	}
	s.step(dst, syncengine.Received{From: src.id, Msg: w.msg})
}

// peered reports whether a and b connect at all.
func (s *sim) peered(a, b *node) bool {
	if a == b {
		return false
	}
	l, _ := s.link(a.i, b.i)
	return l.peered
}

// fullMesh reports whether every pair of nodes connects.
func (s *sim) fullMesh() bool {
	for i := range s.nodes {
		for j := i + 1; j < len(s.nodes); j++ {
			if !s.peered(s.nodes[i], s.nodes[j]) {
				return false
			}
		}
	}
	return true
}

// overlay replaces the full mesh by a bounded-degree one: every node
// peers with its near nearest nodes (by delay), far random others, and
// its neighbours in a ring (so the overlay is connected).
func (s *sim) overlay(near, far int) {
	n := len(s.nodes)
	if n-1 <= near+far+2 {
		return
	}
	for i := range s.links {
		s.links[i].peered = false
	}
	peer := func(i, j int) {
		if i != j {
			l, _ := s.link(i, j)
			l.peered = true
		}
	}
	order := make([]int, n)
	for i := range n {
		peer(i, (i+1)%n)
		for k := range order {
			order[k] = k
		}
		slices.SortStableFunc(order, func(a, b int) int {
			la, lb := s.delay(i, a), s.delay(i, b)
			switch {
			case la < lb:
				return -1
			case la > lb:
				return 1
			}
			return 0
		})
		for _, j := range order[1 : near+1] {
			peer(i, j)
		}
		for range far {
			peer(i, s.rng.IntN(n))
		}
	}
	links := 0
	for i := range n {
		for j := i + 1; j < n; j++ {
			if l, _ := s.link(i, j); l.peered {
				links++
			}
		}
	}
	s.faults = append(s.faults, fmt.Sprintf("t=0ms overlay: each node peers with its %d nearest, %d random others and its ring neighbours (%d connections, mean degree %.1f)", near, far, links, 2*float64(links)/float64(n)))
}

func (s *sim) delay(i, j int) int64 {
	if i == j {
		return -1
	}
	l, _ := s.link(i, j)
	return l.lat
}

func (s *sim) link(i, j int) (*link, int) {
	if i < j {
		return &s.links[i*len(s.nodes)+j], 0
	}
	return &s.links[j*len(s.nodes)+i], 1
}

// ---- the simulated node

// ingest verifies, stores and acknowledges a delivery, one bundle at a
// time; a crash before the acknowledgement loses it (nothing was stored).
func (s *sim) ingest(n *node, a *syncengine.Deliver) {
	cost := float64(s.net.ingestBase+time.Duration(len(a.Bundle.Records))*s.net.ingestPerRecord) * n.slow
	start := max(s.now, n.busy)
	n.busy = start + int64(cost)
	s.later(n, n.busy, func() {
		fs, err := s.verify(n, a.From, a.Bundle)
		if err != nil {
			n.rejected++
			s.step(n, syncengine.Rejected{Delivery: a.Delivery, Invalid: true, Reason: err.Error()})
			return
		}
		stored := n.store.put(a.Bundle, fs)
		if n.honest() {
			for _, ref := range stored {
				if ref.Kind != syncengine.KindManifest {
					s.onStored(n, ref.CID)
				}
			}
		}
		s.step(n, syncengine.Accepted{Delivery: a.Delivery, Stored: stored})
	})
}

var (
	errNoManifest  = errors.New("no manifest")
	errBadCID      = errors.New("bytes do not match the CID")
	errNotMember   = errors.New("origin not in the roster")
	errSignature   = errors.New("bad manifest signature")
	errNotCovered  = errors.New("record not covered by the manifest")
	errOtherOrigin = errors.New("record of another origin than its manifest")
	errWithheld    = errors.New("the sender's policy should have withheld it")
	errRetraction  = errors.New("retraction of another origin's assertion")
)

// verify is the node's check of a delivered bundle, as node.Ingest does
// it: manifest signature by a roster member, every record covered and of
// the manifest's origin, a retraction only by its assertion's origin, and
// the baseline re-checked for the sender (a peer must never have sent a
// record its own policy withholds).
func (s *sim) verify(n *node, from syncengine.PeerID, b syncengine.Bundle) ([]*facts, error) {
	if b.Manifest == nil {
		return nil, errNoManifest
	}
	m, err := s.checkManifest(b.Manifest)
	if err != nil {
		return nil, err
	}
	sender := s.roster[from]
	fs := make([]*facts, len(b.Records))
	for i, r := range b.Records {
		f, err := s.checkRecord(r)
		if err != nil {
			return nil, err
		}
		if !m.covers[r.Ref.CID] {
			return nil, errNotCovered
		}
		if f.origin != m.origin {
			return nil, errOtherOrigin
		}
		if !mayHold(sender, n.origin, f, s.opts.brokenPolicy) || !s.cedar.mayAccept(sender, n.origin, f) {
			n.refused++
			return nil, errWithheld
		}
		if f.kind == syncengine.KindRetraction {
			if f.targetOrigin != f.origin {
				return nil, errRetraction
			}
			if tc, err := cid.Decode(f.target); err == nil {
				if e, ok := n.store.get(tc); ok && e.Record.Ref.Origin != f.origin {
					return nil, errRetraction
				}
			}
		}
		fs[i] = f
	}
	return fs, nil
}

// Verification caches. Bytes travel shared, never copied, and are never
// modified once handed over (the engine's contract), so a slice already
// verified against a CID need not be hashed again; a tampered copy is a
// new slice. The keys are pointers, which keep the slices alive, so they
// are never reused.
type checkedRecord struct {
	n int
	c cid.Cid
	f *facts
}

type checkedManifest struct {
	n      int
	c      cid.Cid
	origin string
	covers map[cid.Cid]bool
}

// checkRecord checks that r's bytes match its CID and decodes its facts.
func (s *sim) checkRecord(r syncengine.Record) (*facts, error) {
	if len(r.Bytes) == 0 {
		return nil, errMalformed
	}
	k := &r.Bytes[0]
	if v, ok := s.recCache[k]; ok && v.n == len(r.Bytes) && v.c == r.Ref.CID {
		return v.f, nil
	}
	if cidOf(r.Bytes) != r.Ref.CID {
		return nil, errBadCID
	}
	f, err := parseFacts(r.Bytes)
	if err != nil {
		return nil, err
	}
	s.recCache[k] = checkedRecord{n: len(r.Bytes), c: r.Ref.CID, f: f}
	return f, nil
}

// checkManifest checks that m matches its CID and is signed by a roster
// member's key, and returns its origin and the CIDs it covers.
func (s *sim) checkManifest(m *syncengine.Record) (*checkedManifest, error) {
	if len(m.Bytes) == 0 {
		return nil, errMalformed
	}
	k := &m.Bytes[0]
	if v, ok := s.manCache[k]; ok && v.n == len(m.Bytes) && v.c == m.Ref.CID {
		return v, nil
	}
	if cidOf(m.Bytes) != m.Ref.CID {
		return nil, errBadCID
	}
	origin, covers, body, tag, err := parseManifest(m.Bytes)
	if err != nil {
		return nil, err
	}
	key, ok := s.keys[origin]
	if !ok {
		return nil, errNotMember
	}
	if !hmac.Equal([]byte(tag), []byte(manifestTag(key, body))) {
		return nil, errSignature
	}
	v := &checkedManifest{n: len(m.Bytes), c: m.Ref.CID, origin: origin, covers: make(map[cid.Cid]bool, len(covers))}
	for _, c := range covers {
		if cc, err := cid.Decode(c); err == nil {
			v.covers[cc] = true
		}
	}
	s.manCache[k] = v
	return v, nil
}

// onStored records the delivery latency of a universe record at n.
func (s *sim) onStored(n *node, c cid.Cid) {
	s.metrics.stored++
	u := s.byCID[c]
	if u == nil {
		return
	}
	ms := float64(s.now-u.issued) / float64(time.Millisecond)
	s.metrics.convergence = append(s.metrics.convergence, ms)
	if u.target != nil && u.target.f.tlp != tlpRed {
		s.metrics.retraction = append(s.metrics.retraction, ms)
	}
}

// ---- connections, faults

// connect brings a connection up after a handshake (one round trip)
// unless a partition or a dead node stands in the way.
func (s *sim) connect(i, j int) {
	l, _ := s.link(i, j)
	a, b := s.nodes[i], s.nodes[j]
	if !l.peered || l.up || !a.alive || !b.alive || s.group[i] != s.group[j] {
		return
	}
	l.up = true
	l.gen++
	gen := l.gen
	s.at(s.now+2*l.lat+int64(time.Millisecond), func() {
		if l.up && l.gen == gen {
			s.step(a, syncengine.PeerUp{Peer: b.id, Origin: b.origin})
			s.step(b, syncengine.PeerUp{Peer: a.id, Origin: a.origin})
		}
	})
}

// breakLink drops a connection and what is in flight on it; both sides
// are told, and it is tried again after the reconnect delay.
func (s *sim) breakLink(i, j int) {
	l, _ := s.link(i, j)
	if !l.up {
		return
	}
	l.up = false
	l.gen++
	l.last = [2]int64{}
	a, b := s.nodes[i], s.nodes[j]
	s.step(a, syncengine.PeerDown{Peer: b.id})
	s.step(b, syncengine.PeerDown{Peer: a.id})
	d := s.net.reconnect[0]
	if span := s.net.reconnect[1] - s.net.reconnect[0]; span > 0 {
		d += time.Duration(s.rng.Int64N(int64(span)))
	}
	s.after(d, func() { s.connect(i, j) })
}

// setGroups partitions the network: connections between groups break,
// connections within a group come back.
func (s *sim) setGroups(g []int) {
	copy(s.group, g)
	for i := range s.nodes {
		for j := i + 1; j < len(s.nodes); j++ {
			if s.group[i] != s.group[j] {
				s.breakLink(i, j)
			} else {
				s.connect(i, j)
			}
		}
	}
}

// crash kills n's engine and its work in progress (deliveries not yet
// acknowledged, cursor writes not yet durable); its store survives.
func (s *sim) crash(n *node) {
	if !n.alive {
		return
	}
	n.alive, n.eng = false, nil
	n.inc++
	for j := range s.nodes {
		if j == n.i {
			continue
		}
		if l, _ := s.link(n.i, j); l.up {
			l.up = false
			l.gen++
			l.last = [2]int64{}
			s.step(s.nodes[j], syncengine.PeerDown{Peer: n.id})
		}
	}
}

func (s *sim) restart(n *node) {
	if n.alive {
		return
	}
	if err := s.boot(n); err != nil {
		s.err = err
		return
	}
	for j := range s.nodes {
		if j != n.i {
			s.connect(n.i, j)
		}
	}
}

func (s *sim) fault(format string, args ...any) {
	s.faults = append(s.faults, fmt.Sprintf("t=%dms ", s.now/int64(time.Millisecond))+fmt.Sprintf(format, args...))
}

// ---- workload

// assert has n originate a signed batch; a node that is down retries a
// second later (its operators' import waits for it).
func (s *sim) assert(n *node, specs []recordSpec, then func([]*uRecord)) {
	if !n.alive {
		s.after(time.Second, func() { s.assert(n, specs, then) })
		return
	}
	b := newBundle(s.keys[n.origin], n.origin, n.seq+1, specs)
	n.seq += uint64(len(specs))
	ev := n.store.commitOwn(b)
	us := make([]*uRecord, len(b.Records))
	for i, r := range b.Records {
		f := r.Ref.Facts.(*facts)
		u := &uRecord{cid: r.Ref.CID, f: f, origin: n, issued: s.now}
		if f.kind == syncengine.KindRetraction {
			if tc, err := cid.Decode(f.target); err == nil {
				if t := s.byCID[tc]; t != nil && t.origin == n {
					u.target, t.retracted = t, u
				}
			}
		} else {
			s.metrics.assertions++
			s.metrics.indicators[f.indicator] = struct{}{}
		}
		s.oracle.issue(r.Ref.CID, r.Bytes)
		s.universe = append(s.universe, u)
		s.byCID[u.cid] = u
		us[i] = u
	}
	s.step(n, ev)
	if then != nil {
		then(us)
	}
}

// retract has the origin of us retract them.
func (s *sim) retract(us []*uRecord) {
	if len(us) == 0 {
		return
	}
	specs := make([]recordSpec, len(us))
	for i, u := range us {
		specs[i] = recordSpec{kind: syncengine.KindRetraction, target: u.cid.String(), targetOrigin: u.f.origin}
	}
	s.assert(us[0].origin, specs, nil)
}

// ---- sizes

// msgSize estimates a message's encoded size: a frame header, fixed
// fields, origins, and bundles (manifest, records, proofs).
func msgSize(m syncengine.Msg) int {
	const frame = 16
	switch m := m.(type) {
	case *syncengine.Hello:
		return frame + 16 + 9
	case *syncengine.Direct:
		return frame + originsSize(m.Origins)
	case *syncengine.Push:
		return frame + 16 + 9 + bundlesSize(m.Bundles)
	case *syncengine.FeedRequest:
		return frame + 16 + 9 + 5 + originsSize(m.Skip)
	case *syncengine.FeedBatch:
		return frame + 16 + 9 + 9 + 1 + bundlesSize(m.Bundles)
	case *syncengine.EpochReset:
		return frame + 16 + 9
	}
	return frame
}

func originsSize(os []string) int {
	n := 2
	for _, o := range os {
		n += len(o) + 1
	}
	return n
}

func bundlesSize(bs []syncengine.Bundle) int {
	n := 2
	for _, b := range bs {
		n += 4
		if b.Manifest != nil {
			n += len(b.Manifest.Bytes) + 4
		}
		for _, r := range b.Records {
			n += len(r.Bytes) + len(r.Proof) + 6
		}
	}
	return n
}
