package syncengine

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Engine is the federation sync state machine of one node. It is not safe
// for concurrent use: the adapter feeds it one event at a time.
type Engine struct {
	cfg   Config
	now   time.Time
	epoch Epoch // our log's epoch, read once: a new epoch needs a new Engine
	// announced is the highest local log index such that every entry up to
	// it was announced (LocalRecords or Accepted): queued, sent or filtered
	// for every connected peer. Pushes vouch for nothing beyond it.
	announced uint64

	peers  map[PeerID]*peer
	sorted []*peer // every known peer, by ID: all iteration goes through it

	deliveries map[DeliveryID]*delivery
	timers     deliveryHeap // every delivery, by its next deadline
	nextID     DeliveryID
	reserved   int // deliveries promised to outstanding FeedRequests

	lastDirect []string  // the Direct set last sent to every peer
	directAt   time.Time // when to send a changed Direct set (zero: unchanged)
	scheduled  time.Time // the At of the last Schedule emitted
	out        []Action
	slab       slab
	scratch    scratch
	stats      Stats
}

// New builds an engine from cfg, reading the log's head once.
func New(cfg Config) (*Engine, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	e := &Engine{
		cfg:        cfg,
		peers:      make(map[PeerID]*peer),
		deliveries: make(map[DeliveryID]*delivery),
		nextID:     1,
	}
	var next uint64
	e.epoch, next = cfg.Log.Head()
	if next > 0 {
		e.announced = next - 1
	}
	for _, pc := range cfg.Cursors {
		p := e.peerFor(pc.Peer)
		p.in.cursor = pc.Cursor
		p.in.epoch, p.in.pos = pc.Cursor.Epoch, pc.Cursor.After
	}
	return e, nil
}

// Step applies one event and returns the actions it calls for, in the
// order the adapter must perform them. The returned slice, and nothing
// else, is reused by the next Step: the adapter must be done with the
// slice (not with the actions) before calling Step again.
func (e *Engine) Step(ev Event) []Action {
	e.out = e.out[:0]
	switch ev := ev.(type) {
	case PeerUp:
		e.onPeerUp(ev)
	case PeerDown:
		e.onPeerDown(ev)
	case Received:
		e.onReceived(ev)
	case Tick:
		e.onTick(ev)
	case LocalRecords:
		e.announce(ev.Bundles, nil)
	case Accepted:
		e.onAccepted(ev)
	case Rejected:
		e.onRejected(ev)
	case SendDone:
		e.onSendDone(ev)
	case Reconciled:
		e.onReconciled(ev)
	default:
		e.note(LevelWarn, "", "unknown_event", fmt.Sprintf("%T", ev))
	}
	e.reschedule()
	return e.out
}

// Epoch is our log's epoch, as the engine announces it.
func (e *Engine) Epoch() Epoch { return e.epoch }

// peerFor returns the peer named id, creating it (down) if needed.
func (e *Engine) peerFor(id PeerID) *peer {
	if p, ok := e.peers[id]; ok {
		return p
	}
	p := &peer{id: id, known: newKnownSet(e.cfg.KnownPerPeer)}
	e.peers[id] = p
	i, _ := slices.BinarySearchFunc(e.sorted, id, func(q *peer, id PeerID) int { return strings.Compare(string(q.id), string(id)) })
	e.sorted = slices.Insert(e.sorted, i, p)
	return p
}

// upPeer returns the peer named id if it is connected.
func (e *Engine) upPeer(id PeerID) *peer {
	if p, ok := e.peers[id]; ok && p.up {
		return p
	}
	return nil
}

func (e *Engine) onPeerUp(ev PeerUp) {
	p := e.peerFor(ev.Peer)
	if p.up {
		e.closeSession(p)
	}
	p.up, p.origin = true, ev.Origin
	_, next := e.cfg.Log.Head()
	e.sendControl(p, &Hello{Epoch: e.epoch, Next: next})
	e.broadcastDirect(p)
	// A reconciliation that was under way is restarted from scratch: ask
	// again, and the peer answers with its current epoch. Ask a moment
	// later, so that connections coming up together already appear in the
	// request's Skip: a node back from an outage then gets each record
	// from its origin, once, rather than from every peer.
	p.in.resetting = false
	p.in.notBefore = e.now.Add(e.cfg.DirectDelay)
}

func (e *Engine) onPeerDown(ev PeerDown) {
	p := e.upPeer(ev.Peer)
	if p == nil {
		return
	}
	e.closeSession(p)
	e.broadcastDirect(nil)
}

// closeSession forgets what belonged to the connection. Queued pushes are
// dropped without loss: the peer is no longer live, so its next feed
// covers them.
func (e *Engine) closeSession(p *peer) {
	p.up = false
	p.out = outbound{}
	e.answeredRequest(p)
	p.in.live = false
}

// broadcastDirect tells connected peers which origins we receive
// directly. A newly connected peer hears it at once (before our feed
// request, so that its answer already leaves those origins out); the
// others hear of a change after DirectDelay, so that a burst of
// connections costs one message per peer rather than one per connection.
// Meanwhile they may relay a few records we get anyway: duplicates, never
// losses.
func (e *Engine) broadcastDirect(joined *peer) {
	set := e.directSet()
	if joined != nil {
		e.sendControl(joined, &Direct{Origins: set})
	}
	if slices.Equal(set, e.lastDirect) || !e.directAt.IsZero() {
		return
	}
	e.directAt = e.now.Add(e.cfg.DirectDelay)
}

// flushDirect sends the Direct set to every connected peer if it changed.
func (e *Engine) flushDirect() {
	e.directAt = time.Time{}
	set := e.directSet()
	if slices.Equal(set, e.lastDirect) {
		return
	}
	e.lastDirect = set
	for _, p := range e.sorted {
		if p.up {
			e.sendControl(p, &Direct{Origins: set})
		}
	}
}

// directSet lists, sorted, the origins of the connected peers.
func (e *Engine) directSet() []string {
	var set []string
	for _, p := range e.sorted {
		if p.up && p.origin != "" {
			set = append(set, p.origin)
		}
	}
	slices.Sort(set)
	return slices.Compact(set)
}

func (e *Engine) onReceived(ev Received) {
	p := e.upPeer(ev.From)
	if p == nil {
		e.note(LevelDebug, ev.From, "message_from_unconnected_peer", fmt.Sprintf("%T", ev.Msg))
		return
	}
	switch m := ev.Msg.(type) {
	case *Hello:
		if m != nil {
			e.onHello(p, m)
		}
	case *Direct:
		if m != nil {
			e.onDirect(p, m)
		}
	case *Push:
		if m != nil {
			e.onPush(p, m)
		}
	case *FeedRequest:
		if m != nil {
			e.onFeedRequest(p, m)
		}
	case *FeedBatch:
		if m != nil {
			e.onFeedBatch(p, m)
		}
	case *EpochReset:
		if m != nil {
			e.onEpochReset(p, m)
		}
	default:
		e.note(LevelWarn, p.id, "unknown_message", fmt.Sprintf("%T", ev.Msg))
	}
}

func (e *Engine) onDirect(p *peer, m *Direct) {
	d := slices.Clone(m.Origins)
	slices.Sort(d)
	p.out.direct = slices.Compact(d)
}

func (e *Engine) onSendDone(ev SendDone) {
	p := e.upPeer(ev.Peer)
	if p == nil || p.out.unconfirmed.empty() {
		return
	}
	// One stream per peer: writes complete in the order they were sent.
	if p.out.unconfirmed.pop() {
		p.out.inflight--
	}
	e.flush(p)
}

func (e *Engine) onTick(ev Tick) {
	if ev.Now.After(e.now) {
		e.now = ev.Now
	}
	if !e.scheduled.After(e.now) {
		e.scheduled = time.Time{} // that timer has fired
	}
	e.fireDeliveryTimers()
	if due(e.directAt, e.now) {
		e.flushDirect()
	}
	for _, p := range e.sorted {
		// Due timers are cleared whether or not the peer is connected, so
		// that a stale one never hides the next deadline.
		if due(p.out.feedRetry, e.now) {
			p.out.feedRetry = time.Time{}
			e.flush(p)
		}
		if due(p.in.notBefore, e.now) {
			p.in.notBefore = time.Time{}
			e.maybeRequest(p)
		}
	}
}

// due reports whether deadline t is set and reached.
func due(t, now time.Time) bool { return !t.IsZero() && !now.Before(t) }

// reschedule emits a Schedule when the earliest deadline changed.
func (e *Engine) reschedule() {
	var next time.Time
	earliest := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if len(e.timers) > 0 {
		earliest(e.timers[0].due)
	}
	earliest(e.directAt)
	for _, p := range e.sorted {
		if p.up {
			earliest(p.out.feedRetry)
			earliest(p.in.notBefore)
		}
	}
	if next.IsZero() || next.Equal(e.scheduled) {
		return
	}
	e.scheduled = next
	a := e.slab.schedule()
	a.At = next
	e.out = append(e.out, a)
}

// sendControl sends a small message outside the push queues and the send
// window: control messages never wait behind data.
func (e *Engine) sendControl(p *peer, m Msg) {
	p.out.unconfirmed.push(false)
	e.emit(p, m, PriorityNormal)
}

// sendData sends a Push or FeedBatch, which takes a place in the window.
func (e *Engine) sendData(p *peer, m Msg, prio Priority) {
	p.out.unconfirmed.push(true)
	p.out.inflight++
	e.emit(p, m, prio)
}

func (e *Engine) emit(p *peer, m Msg, prio Priority) {
	a := e.slab.send()
	a.To, a.Msg, a.Priority = p.id, m, prio
	e.out = append(e.out, a)
}

func (e *Engine) note(l Level, id PeerID, event, detail string) {
	e.out = append(e.out, &Note{Level: l, Peer: id, Event: event, Detail: detail})
}

func (e *Engine) persist(p *peer, c Cursor) {
	p.in.cursor = c
	e.stats.CursorsPersisted++
	e.out = append(e.out, &PersistCursor{Peer: p.id, Cursor: c})
}
