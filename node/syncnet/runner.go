package syncnet

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/sirupsen/logrus"

	"github.com/vigie-project/vigie/node/p2p"
	"github.com/vigie-project/vigie/node/syncengine"
)

// ProtocolID is the sync protocol. Each side of a peer pair opens one
// stream of it to write, and reads the one the other side opened.
const ProtocolID protocol.ID = "/vigie/sync/1.0.0"

// Timing of the adapter (the engine's own delays are in its Config).
const (
	// tickEvery is how often the engine is ticked even with nothing
	// scheduled, as doc.go of syncengine asks ("now and then").
	tickEvery = time.Second
	// openTimeout bounds opening the outbound stream.
	openTimeout = 15 * time.Second
	// writeTimeout bounds one frame write: a peer that does not read for
	// that long is treated as a failed stream.
	writeTimeout = time.Minute
	// inboundSlots is how many received messages of one peer may wait for
	// the event loop before its reader stops reading (backpressure: the
	// peer's writes then block in the muxer's flow control).
	inboundSlots = 8
	// persistTimeout bounds the last cursor writes at shutdown.
	persistTimeout = 5 * time.Second
)

// ErrInvalid is wrapped by a Store's Deliver error when the bundle can
// never be valid; it is counted against the peer that sent it.
var ErrInvalid = errors.New("syncnet: invalid bundle")

// Store is what the adapter needs from the node (package node implements
// it).
type Store interface {
	// Deliver verifies and stores one bundle received from peer from,
	// whose roster agency is agency (e.g. "FR/dgsi"). It returns the refs
	// of the records it appended to its log (with LogIndex and Facts set),
	// in log order, manifest included if newly stored. An error wrapping
	// ErrInvalid means the bundle can never be valid (counted against the
	// peer); any other error is a local failure (the engine retries).
	Deliver(ctx context.Context, from syncengine.PeerID, agency string, b syncengine.Bundle) ([]syncengine.RecordRef, error)
	// Cursors returns the persisted feed cursors; SaveCursor persists one
	// (it may be called often).
	Cursors() ([]syncengine.PeerCursor, error)
	SaveCursor(ctx context.Context, c syncengine.PeerCursor) error
}

// Reconciler is the anti-entropy layer (layer c).
type Reconciler interface {
	// Reconcile runs anti-entropy with peer after its log epoch changed
	// and returns what the engine's Reconciled event needs.
	Reconcile(ctx context.Context, peer syncengine.PeerID, epoch syncengine.Epoch, next uint64) (through uint64, err error)
}

// feedFromStart is the default Reconciler: it reconciles nothing and lets
// the engine feed the peer's new epoch from its start, which is correct,
// only slower than a real reconciliation.
type feedFromStart struct{}

func (feedFromStart) Reconcile(context.Context, syncengine.PeerID, syncengine.Epoch, uint64) (uint64, error) {
	return 0, nil
}

// Option configures New.
type Option func(*Runner)

// WithLogger sends the runner's logs to l.
func WithLogger(l *logrus.Entry) Option { return func(r *Runner) { r.log = l } }

// WithClock sets where Ticks take the time from (default time.Now).
func WithClock(now func() time.Time) Option { return func(r *Runner) { r.clock = now } }

// WithSentHook calls f after each message is written to a peer's stream,
// on that peer's writer goroutine, in order: for the audit log's record
// of disclosures. f must not block for long and must not modify m.
func WithSentHook(f func(peer syncengine.PeerID, m syncengine.Msg)) Option {
	return func(r *Runner) { r.sentHook = f }
}

// WithReconciler plugs in the anti-entropy layer.
func WithReconciler(rc Reconciler) Option { return func(r *Runner) { r.rec = rc } }

// Runner drives one syncengine.Engine over libp2p. One goroutine (Run's)
// owns the engine; hooks, Announce, stream readers and writers, the
// delivery worker and reconciliations post events to it.
type Runner struct {
	st    Store
	eng   *syncengine.Engine
	log   *logrus.Entry
	clock func() time.Time
	rec   Reconciler

	sentHook func(syncengine.PeerID, syncengine.Msg) // may be nil

	events *queue[any]
	done   chan struct{} // closed when Run stops: readers waiting for a session give up

	// mu guards the fields below it, read by Stats and by stream handlers.
	mu      sync.Mutex
	started bool
	stopped bool
	stats   Stats
	wg      sync.WaitGroup // every goroutine the runner starts, and every handler run

	// Owned by the event loop.
	host  *p2p.Host
	ctx   context.Context // Run's context, for the goroutines the loop starts
	peers map[syncengine.PeerID]*peerState
	timer *time.Timer
	work  *worker
}

// New builds a runner and its engine, with the cursors st has persisted.
// cfg's message budgets must fit in the wire limits (MaxMessageBytes,
// MaxRecords).
func New(cfg syncengine.Config, st Store, opts ...Option) (*Runner, error) {
	if st == nil {
		return nil, errors.New("syncnet: New needs a Store")
	}
	if cfg.MessageBytes > syncengine.DefaultMessageBytes {
		return nil, fmt.Errorf("syncnet: MessageBytes %d above the wire's %d", cfg.MessageBytes, syncengine.DefaultMessageBytes)
	}
	// A bundle may carry one manifest per record: half the wire's records.
	if cfg.PushRecords > MaxRecords/2 || cfg.FeedRecords > MaxRecords/2 {
		return nil, fmt.Errorf("syncnet: PushRecords and FeedRecords must be at most %d", MaxRecords/2)
	}
	cursors, err := st.Cursors()
	if err != nil {
		return nil, fmt.Errorf("syncnet: reading cursors: %w", err)
	}
	cfg.Cursors = cursors
	eng, err := syncengine.New(cfg)
	if err != nil {
		return nil, err
	}
	r := &Runner{
		st:     st,
		eng:    eng,
		clock:  time.Now,
		rec:    feedFromStart{},
		events: newQueue[any](),
		done:   make(chan struct{}),
		peers:  make(map[syncengine.PeerID]*peerState),
		stats:  Stats{Peers: map[syncengine.PeerID]PeerStats{}},
	}
	for _, o := range opts {
		o(r)
	}
	if r.log == nil {
		r.log = quietLogger()
	}
	r.log = r.log.WithField("component", "syncnet")
	return r, nil
}

// Hooks are the peer callbacks to give p2p.New (WithHooks): the host is
// created after the runner. They only post events, so they return at once.
func (r *Runner) Hooks() p2p.Hooks {
	return p2p.Hooks{
		PeerUp:   func(i p2p.PeerInfo) { r.events.post(evPeerUp{info: i}) },
		PeerDown: func(id peer.ID) { r.events.post(evPeerDown{id: id}) },
	}
}

// Announce reports entries the node appended to its log (LocalRecords),
// each with its LogIndex. It never blocks, is safe from any goroutine, and
// keeps call order: call it in log order, e.g. under the lock that
// serialises appends.
func (r *Runner) Announce(bundles []syncengine.Bundle) {
	r.events.post(syncengine.LocalRecords{Bundles: bundles})
}

// Run registers the stream handler and runs the event loop on h until ctx
// ends, then closes every stream and waits for every goroutine it started.
// It returns nil when ctx ends; a Runner runs once.
func (r *Runner) Run(ctx context.Context, h *p2p.Host) error {
	r.mu.Lock()
	if r.started {
		r.mu.Unlock()
		return errors.New("syncnet: Run called twice")
	}
	r.started = true
	r.mu.Unlock()

	r.host, r.ctx = h, ctx
	r.work = newWorker(ctx, r)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.work.run()
	}()
	h.Handle(ProtocolID, r.serve)
	r.loop(ctx)
	h.RemoveHandler(ProtocolID)
	r.shutdown()
	return nil
}

func (r *Runner) loop(ctx context.Context) {
	r.timer = time.NewTimer(time.Hour)
	r.timer.Stop()
	defer r.timer.Stop()
	ticker := time.NewTicker(tickEvery)
	defer ticker.Stop()
	// The engine measures deadlines from the latest Tick: give it one
	// before anything else, hooks' events included.
	r.step(syncengine.Tick{Now: r.clock()})
	r.publish()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.events.ready:
			for _, ev := range r.events.drain() {
				r.handle(ev)
			}
		case <-r.timer.C:
			r.step(syncengine.Tick{Now: r.clock()})
		case <-ticker.C:
			r.step(syncengine.Tick{Now: r.clock()})
		}
		r.publish()
	}
}

// step feeds the engine one event and performs its actions, in order.
func (r *Runner) step(ev syncengine.Event) {
	for _, a := range r.eng.Step(ev) {
		r.perform(a)
	}
}

func (r *Runner) perform(a syncengine.Action) {
	switch a := a.(type) {
	case *syncengine.Send:
		r.send(a)
	case *syncengine.Deliver:
		ps := r.peers[a.From]
		agency := ""
		if ps != nil {
			agency = ps.agency
		}
		r.work.deliveries.post(deliverJob{id: a.Delivery, from: a.From, agency: agency, bundle: a.Bundle})
	case *syncengine.PersistCursor:
		r.work.persist(syncengine.PeerCursor{Peer: a.Peer, Cursor: a.Cursor})
	case *syncengine.Schedule:
		d := max(a.At.Sub(r.clock()), 0)
		r.timer.Reset(d)
	case *syncengine.Reconcile:
		r.reconcile(a)
	case *syncengine.Note:
		r.note(a)
	default:
		r.log.WithField("action", fmt.Sprintf("%T", a)).Warn("syncnet: unknown engine action")
	}
}

// reconcile runs the anti-entropy layer in its own goroutine. A failed
// reconciliation reports through 0: the engine then feeds the peer's new
// epoch from its start, which is slower but loses nothing.
func (r *Runner) reconcile(a *syncengine.Reconcile) {
	peer, epoch, next := a.Peer, a.Epoch, a.Next
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		through, err := r.rec.Reconcile(r.ctx, peer, epoch, next)
		if err != nil {
			if r.ctx.Err() != nil {
				return
			}
			r.log.WithFields(logrus.Fields{"peer": string(peer), "epoch": epoch.String(), "error": err.Error()}).
				Warn("syncnet: reconciliation failed; feeding the new epoch from its start")
			through = 0
		}
		r.events.post(syncengine.Reconciled{Peer: peer, Epoch: epoch, Through: through})
	}()
}

func (r *Runner) note(n *syncengine.Note) {
	f := logrus.Fields{"event": n.Event}
	if n.Peer != "" {
		f["peer"] = string(n.Peer)
		if ps := r.peers[n.Peer]; ps != nil {
			f["agency"] = ps.agency
		}
	}
	if n.Detail != "" {
		f["detail"] = n.Detail
	}
	l := r.log.WithFields(f)
	switch n.Level {
	case syncengine.LevelWarn:
		l.Warn("syncnet: engine note")
	case syncengine.LevelInfo:
		l.Info("syncnet: engine note")
	default:
		l.Debug("syncnet: engine note")
	}
}

// handle dispatches one posted event.
func (r *Runner) handle(ev any) {
	switch ev := ev.(type) {
	case evPeerUp:
		r.peerUp(ev.info)
	case evPeerDown:
		r.peerDown(ev.id)
	case evInbound:
		r.inbound(ev)
	case evReceived:
		r.received(ev)
	case evSent:
		r.sent(ev)
	case evFailed:
		r.failed(ev.sess, ev.reason, ev.err)
	case evRestart:
		r.restart(ev)
	case evDelivered:
		r.delivered(ev)
	case syncengine.Event:
		r.step(ev)
	}
}

// delivered passes the node's answer to the engine. The engine counts an
// invalid bundle against its sender and notes it (invalid_bundle, or
// store_failed for a local failure) at warn level, which note logs with
// the peer and its agency: no second log line here.
func (r *Runner) delivered(ev evDelivered) {
	if ev.err == nil {
		r.step(syncengine.Accepted{Delivery: ev.id, Stored: ev.stored})
		return
	}
	r.step(syncengine.Rejected{Delivery: ev.id, Invalid: errors.Is(ev.err, ErrInvalid), Reason: ev.err.Error()})
}

// shutdown ends every session and waits for every goroutine the runner
// started and every handler that entered.
func (r *Runner) shutdown() {
	r.mu.Lock()
	r.stopped = true
	r.mu.Unlock()
	r.events.close() // later hooks and announcements have no one to go to
	close(r.done)
	for _, ps := range r.peers {
		r.stopRestart(ps)
		if ps.sess != nil {
			r.endSession(ps, "shutdown")
		}
		if ps.pending != nil {
			ps.pending.grant <- nil
			ps.pending = nil
		}
	}
	r.work.stop()
	r.wg.Wait()
	r.publish()
}

// enter registers a stream handler run unless the runner has stopped, so
// that shutdown waits for it.
func (r *Runner) enter() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return false
	}
	r.wg.Add(1)
	return true
}

// quietLogger reports only warnings and errors, for a runner built without
// a logger of its own.
func quietLogger() *logrus.Entry {
	l := logrus.New()
	l.SetLevel(logrus.WarnLevel)
	return logrus.NewEntry(l)
}
