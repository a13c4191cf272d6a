package p2p

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/sirupsen/logrus"
)

// The peer lifecycle runs on one goroutine (peerManager.run). libp2p
// notifications, hello results, dial results and roster or address changes
// are posted to it as events; it alone owns the per-peer state, dials, and
// calls the hooks, so hooks see each peer's ups and downs in order and the
// state needs no locks. Notifiers never block: events go to a queue.

type eventKind int

const (
	evConnected    eventKind = iota // a connection to peer opened
	evDisconnected                  // a connection to peer closed
	evHello                         // a hello exchange with peer ended (err says how)
	evDialDone                      // our dial to peer returned
	evRoster                        // a roster was adopted; peers were removed
	evAddrs                         // peers' addresses changed
)

type event struct {
	kind     eventKind
	peer     peer.ID
	info     PeerInfo
	err      error
	outbound bool      // evHello: we greeted (rather than answered)
	peers    []peer.ID // evRoster, evAddrs
}

// peerState is what the loop knows of one member.
type peerState struct {
	up       bool
	attempts int       // failed attempts since the peer was last up
	next     time.Time // when to dial; zero if no dial is scheduled
	dialing  bool
	greeting bool // our hello is in flight
}

type peerManager struct {
	h *Host

	mu      sync.Mutex
	queue   []event
	stopped bool // the loop has ended: events are dropped, not queued
	wake    chan struct{}

	upMu sync.RWMutex
	up   map[peer.ID]bool

	dials atomic.Uint64

	// Owned by the loop goroutine.
	state  map[peer.ID]*peerState
	jitter *rand.Rand
}

func newPeerManager(h *Host) *peerManager {
	return &peerManager{
		h:      h,
		wake:   make(chan struct{}, 1),
		up:     make(map[peer.ID]bool),
		state:  make(map[peer.ID]*peerState),
		jitter: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
	}
}

// post queues an event for the loop; it never blocks.
func (m *peerManager) post(ev event) {
	m.mu.Lock()
	if m.stopped {
		m.mu.Unlock()
		return
	}
	m.queue = append(m.queue, ev)
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

func (m *peerManager) drain() []event {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.queue
	m.queue = nil
	return q
}

// notifiee turns libp2p's connection notifications into events.
func (m *peerManager) notifiee() network.Notifiee {
	return &network.NotifyBundle{
		ConnectedF: func(_ network.Network, c network.Conn) {
			m.post(event{kind: evConnected, peer: c.RemotePeer()})
		},
		DisconnectedF: func(_ network.Network, c network.Conn) {
			m.post(event{kind: evDisconnected, peer: c.RemotePeer()})
		},
	}
}

// run is the event loop. It first dials every member it has an address
// for, then reacts to events and to due reconnections until ctx ends.
func (m *peerManager) run(ctx context.Context) {
	defer m.stop()
	// Connections accepted before the notifiee was registered would
	// otherwise never be greeted.
	for _, p := range m.h.host.Network().Peers() {
		m.connected(ctx, p)
	}
	now := time.Now()
	for p := range m.h.gate.members().peers {
		m.dialSoon(p, now)
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		m.dialDue(ctx, time.Now())
		timer.Reset(m.untilNext(time.Now()))
		select {
		case <-ctx.Done():
			return
		case <-m.wake:
			for _, ev := range m.drain() {
				m.handle(ctx, ev)
			}
		case <-timer.C:
		}
	}
}

// stop makes post drop events, so a host whose context ended but which is
// not closed yet does not queue them forever.
func (m *peerManager) stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stopped, m.queue = true, nil
}

func (m *peerManager) handle(ctx context.Context, ev event) {
	switch ev.kind {
	case evConnected:
		m.connected(ctx, ev.peer)
	case evDisconnected:
		m.disconnected(ev.peer)
	case evHello:
		m.greeted(ev)
	case evDialDone:
		m.dialed(ev.peer, ev.err)
	case evRoster:
		m.rosterChanged(ev.peers)
	case evAddrs:
		now := time.Now()
		for _, p := range ev.peers {
			m.dialSoon(p, now)
		}
	}
}

// get returns the state of member p, creating it; nil for a non-member
// (or ourselves).
func (m *peerManager) get(p peer.ID) *peerState {
	if p == m.h.ID() || !m.h.gate.allowed(p) {
		return nil
	}
	st := m.state[p]
	if st == nil {
		st = &peerState{}
		m.state[p] = st
	}
	return st
}

func (m *peerManager) isConnected(p peer.ID) bool {
	return m.h.host.Network().Connectedness(p) == network.Connected
}

func (m *peerManager) connected(ctx context.Context, p peer.ID) {
	st := m.get(p)
	if st == nil {
		// Only a member removed while its connection was being set up
		// gets here: the gate refused everything else.
		_ = m.h.host.Network().ClosePeer(p)
		return
	}
	st.next = time.Time{}
	// Whichever side does not yet count the peer as up greets, on either
	// direction: a connection may survive on one side only for a moment
	// (a dial racing a close), so the peer can be up for one and down for
	// the other, and waiting for the dialer to greet would wait forever.
	if !st.up && !st.greeting {
		st.greeting = true
		m.h.spawn(func() {
			info, err := m.h.sayHello(ctx, p)
			m.post(event{kind: evHello, peer: p, info: info, err: err, outbound: true})
		})
	}
}

func (m *peerManager) disconnected(p peer.ID) {
	st := m.state[p]
	if st == nil || m.isConnected(p) {
		return
	}
	m.down(p, st)
	if !st.dialing {
		m.retry(p, st, time.Now())
	}
}

func (m *peerManager) greeted(ev event) {
	st := m.get(ev.peer)
	if st == nil {
		return
	}
	if ev.outbound {
		st.greeting = false
	}
	if ev.err != nil {
		m.h.log.WithError(ev.err).WithField("peer", ev.peer.String()).Info("p2p: hello failed; dropping the connection")
		_ = m.h.host.Network().ClosePeer(ev.peer)
		return
	}
	if st.up || !m.isConnected(ev.peer) {
		return
	}
	st.up, st.attempts = true, 0
	m.setUp(ev.peer, true)
	m.h.log.WithFields(logrus.Fields{"peer": ev.peer.String(), "agency": ev.info.Agency.String()}).Info("p2p: peer up")
	if f := m.h.cfg.hooks.PeerUp; f != nil {
		f(ev.info)
	}
}

func (m *peerManager) down(p peer.ID, st *peerState) {
	if !st.up {
		return
	}
	st.up = false
	m.setUp(p, false)
	m.h.log.WithField("peer", p.String()).Info("p2p: peer down")
	if f := m.h.cfg.hooks.PeerDown; f != nil {
		f(p)
	}
}

func (m *peerManager) dialed(p peer.ID, err error) {
	st := m.state[p]
	if st == nil {
		return
	}
	st.dialing = false
	if err != nil {
		m.h.log.WithError(err).WithField("peer", p.String()).Debug("p2p: dial failed")
	}
	// A nil error proves nothing (the remote gate may refuse us after
	// the handshake); only a live connection cancels the retry.
	if !m.isConnected(p) {
		m.retry(p, st, time.Now())
	}
}

func (m *peerManager) rosterChanged(removed []peer.ID) {
	for _, p := range removed {
		if st := m.state[p]; st != nil {
			m.down(p, st)
			delete(m.state, p)
		}
	}
	now := time.Now()
	for p := range m.h.gate.members().peers {
		if st := m.state[p]; st == nil || st.next.IsZero() {
			m.dialSoon(p, now)
		}
	}
}

// dialSoon schedules an immediate dial of p if it is a member we can
// reach and are not already connected or dialing to.
func (m *peerManager) dialSoon(p peer.ID, now time.Time) {
	st := m.get(p)
	if st == nil || st.dialing || !m.h.book.has(p) || m.isConnected(p) {
		return
	}
	st.next = now
}

// retry schedules the next attempt with backoff.
func (m *peerManager) retry(p peer.ID, st *peerState, now time.Time) {
	if !m.h.book.has(p) {
		st.next = time.Time{}
		return
	}
	st.next = now.Add(backoff(st.attempts, m.h.cfg.backoffMin, m.h.cfg.backoffMax, m.jitter.Float64()))
	st.attempts++
}

// dialDue starts the dials whose time has come.
func (m *peerManager) dialDue(ctx context.Context, now time.Time) {
	for p, st := range m.state {
		if st.next.IsZero() || st.next.After(now) || st.dialing {
			continue
		}
		st.next = time.Time{}
		if m.isConnected(p) {
			continue
		}
		st.dialing = true
		m.dials.Add(1)
		m.h.spawn(func() {
			m.post(event{kind: evDialDone, peer: p, err: m.h.dial(ctx, p)})
		})
	}
}

// untilNext is how long the loop may sleep before a dial is due.
func (m *peerManager) untilNext(now time.Time) time.Duration {
	d := time.Hour
	for _, st := range m.state {
		if !st.next.IsZero() && !st.dialing {
			d = min(d, st.next.Sub(now))
		}
	}
	return max(d, 0)
}

func (m *peerManager) setUp(p peer.ID, up bool) {
	m.upMu.Lock()
	defer m.upMu.Unlock()
	if up {
		m.up[p] = true
	} else {
		delete(m.up, p)
	}
}

func (m *peerManager) isUp(p peer.ID) bool {
	m.upMu.RLock()
	defer m.upMu.RUnlock()
	return m.up[p]
}

func (m *peerManager) upCount() int {
	m.upMu.RLock()
	defer m.upMu.RUnlock()
	return len(m.up)
}

// dial connects to member p at its known addresses. Our own backoff
// decides when to try, so libp2p's per-address dial backoff is bypassed.
func (h *Host) dial(ctx context.Context, p peer.ID) error {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.dialTimeout)
	defer cancel()
	ctx = network.WithForceDirectDial(ctx, "vigie reconnect")
	return h.host.Connect(ctx, peer.AddrInfo{ID: p})
}

// spawn runs f on a goroutine that Close waits for.
func (h *Host) spawn(f func()) {
	if !h.enter() {
		return
	}
	go func() {
		defer h.wg.Done()
		f()
	}()
}
