package syncnet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/sirupsen/logrus"

	"github.com/vigie-project/vigie/node/p2p"
	"github.com/vigie-project/vigie/node/syncengine"
)

// A session is one period during which the engine counts a peer up: one
// outbound stream we write (opened by the session's writer) and one
// inbound stream the peer opened, which we read. The engine assumes one
// reliable, ordered stream per peer and session, so a session whose
// stream fails, ends, or carries something malformed is not repaired in
// place: the runner resets both streams, tells the engine the peer is
// down, and, while the host still counts the peer up, starts a fresh
// session after a backoff (Hello, then the feed from the cursor). The
// peer notices at once, since its inbound stream was reset (and a second
// inbound stream in one session fails that session too), and does the
// same; a stream it opens meanwhile waits for our next session.
//
// Closing the peer's connections instead would not do: a connection that
// comes up before the host has seen the old ones close keeps the peer up,
// and the host then never reports it down.
type session struct {
	peer   syncengine.PeerID
	id     peer.ID
	ctx    context.Context // ends with the session: stops its writer and reader
	cancel context.CancelFunc
	out    *queue[syncengine.Msg]
	in     network.Stream // the adopted inbound stream, nil until one arrives
	slots  chan struct{}  // inbound messages posted and not yet stepped
	start  time.Time
}

// peerState is what the loop keeps per peer across sessions.
type peerState struct {
	id      peer.ID
	agency  string
	hostUp  bool       // between the host's PeerUp and PeerDown
	sess    *session   // nil while the engine counts the peer down
	pending *evInbound // an inbound stream that arrived between sessions
	// failures counts sessions failed in a row, for the restart backoff;
	// restart is the timer of the next attempt, gen tells its evRestart
	// from an earlier one's.
	failures int
	restart  *time.Timer
	gen      uint64
}

// Events posted to the loop besides syncengine events.
type (
	evPeerUp   struct{ info p2p.PeerInfo }
	evPeerDown struct{ id peer.ID }
	// evInbound registers an inbound stream; its reader waits on grant for
	// the session it belongs to (nil: give up).
	evInbound struct {
		peer   syncengine.PeerID
		stream network.Stream
		grant  chan *session
	}
	evReceived struct {
		sess  *session
		msg   syncengine.Msg
		bytes int
	}
	evSent struct {
		sess  *session
		bytes int
	}
	evFailed struct {
		sess   *session
		reason string // a stable snake_case name
		err    error
	}
	evRestart struct {
		peer syncengine.PeerID
		gen  uint64
	}
)

// Restart backoff after a failed session: restartMin doubling per failure
// in a row, up to restartMax. A session that lasted stableAfter resets
// the count, so a peer that keeps failing its sessions at once cannot
// make us restart faster than that.
const (
	restartMin  = 100 * time.Millisecond
	restartMax  = 30 * time.Second
	stableAfter = time.Minute
)

func restartDelay(failures int) time.Duration {
	if failures > 20 {
		return restartMax
	}
	return min(restartMin<<max(failures-1, 0), restartMax)
}

func (r *Runner) state(p syncengine.PeerID) *peerState {
	ps := r.peers[p]
	if ps == nil {
		ps = &peerState{}
		r.peers[p] = ps
	}
	return ps
}

// current reports whether s is its peer's live session.
func (r *Runner) current(s *session) bool {
	ps := r.peers[s.peer]
	return ps != nil && ps.sess == s
}

func (r *Runner) peerUp(info p2p.PeerInfo) {
	ps := r.state(syncengine.PeerID(info.ID.String()))
	ps.id, ps.agency, ps.hostUp = info.ID, info.Agency.String(), true
	ps.failures = 0
	r.stopRestart(ps)
	if ps.sess != nil { // the host alternates up and down; be safe anyway
		r.endSession(ps, "")
	}
	r.startSession(ps)
}

func (r *Runner) peerDown(id peer.ID) {
	ps := r.state(syncengine.PeerID(id.String()))
	ps.hostUp = false
	r.stopRestart(ps)
	if ps.sess != nil {
		r.endSession(ps, "")
	}
}

// startSession opens a session with a peer the host counts up and tells
// the engine.
func (r *Runner) startSession(ps *peerState) {
	p := syncengine.PeerID(ps.id.String())
	ctx, cancel := context.WithCancel(r.ctx)
	s := &session{peer: p, id: ps.id, ctx: ctx, cancel: cancel, out: newQueue[syncengine.Msg](),
		slots: make(chan struct{}, inboundSlots), start: time.Now()}
	ps.sess = s
	if ps.pending != nil {
		r.adopt(s, ps.pending)
		ps.pending = nil
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.write(s)
	}()
	r.setPeer(p, func(st *PeerStats) { st.Agency, st.Up = ps.agency, true; st.Sessions++ })
	r.log.WithFields(logrus.Fields{"peer": string(p), "agency": ps.agency}).Debug("syncnet: session up")
	r.step(syncengine.PeerUp{Peer: p, Origin: ps.agency})
}

// endSession stops the session's writer and reader, resets its streams
// (the writer resets its own when its context ends), and tells the engine
// the peer is down: nothing of the session reaches it afterwards.
func (r *Runner) endSession(ps *peerState, reason string) {
	s := ps.sess
	ps.sess = nil
	s.cancel()
	s.out.close()
	if s.in != nil {
		s.in.Reset()
	}
	r.setPeer(s.peer, func(st *PeerStats) { st.Up = false })
	r.log.WithFields(logrus.Fields{"peer": string(s.peer), "agency": ps.agency, "reason": reason}).Debug("syncnet: session down")
	r.step(syncengine.PeerDown{Peer: s.peer})
}

func (r *Runner) stopRestart(ps *peerState) {
	ps.gen++
	if ps.restart != nil {
		ps.restart.Stop()
		ps.restart = nil
	}
}

// restart starts a new session after a failed one, unless the host has
// reported the peer down (or up again, which started one) meanwhile.
func (r *Runner) restart(ev evRestart) {
	ps := r.peers[ev.peer]
	if ps == nil || ps.gen != ev.gen || !ps.hostUp || ps.sess != nil {
		return
	}
	ps.restart = nil
	r.startSession(ps)
}

// inbound places a new inbound stream: in the live session if it has
// none; pending, for the next session, if there is no live session;
// and a second stream in one session means the peer restarted its
// session without us, which fails ours, the new stream waiting for the
// next one.
func (r *Runner) inbound(ev evInbound) {
	ps := r.state(ev.peer)
	switch {
	case ps.sess == nil:
		r.setPending(ps, &ev)
	case ps.sess.in == nil:
		r.adopt(ps.sess, &ev)
	default:
		r.failed(ps.sess, "second_inbound_stream", errors.New("peer opened another sync stream in one session"))
		r.setPending(ps, &ev)
	}
}

func (r *Runner) setPending(ps *peerState, ev *evInbound) {
	if ps.pending != nil {
		ps.pending.grant <- nil // superseded by a newer stream
	}
	ps.pending = ev
}

func (r *Runner) adopt(s *session, ev *evInbound) {
	s.in = ev.stream
	ev.grant <- s
}

// received steps a message of the live session, and drops one from a
// stale or failed session: no Received after PeerDown.
func (r *Runner) received(ev evReceived) {
	<-ev.sess.slots // the reader may read one more
	if !r.current(ev.sess) {
		return
	}
	r.setPeer(ev.sess.peer, func(st *PeerStats) { st.MessagesReceived++; st.BytesReceived += uint64(ev.bytes) })
	r.step(syncengine.Received{From: ev.sess.peer, Msg: ev.msg})
}

func (r *Runner) sent(ev evSent) {
	if !r.current(ev.sess) {
		return
	}
	r.setPeer(ev.sess.peer, func(st *PeerStats) { st.MessagesSent++; st.BytesSent += uint64(ev.bytes) })
	r.step(syncengine.SendDone{Peer: ev.sess.peer})
}

func (r *Runner) send(a *syncengine.Send) {
	ps := r.peers[a.To]
	if ps == nil || ps.sess == nil || !ps.sess.out.post(a.Msg) {
		r.setPeer(a.To, func(st *PeerStats) { st.SendsDropped++ })
	}
}

// failed ends a live session and schedules the next one; see session.
func (r *Runner) failed(s *session, reason string, err error) {
	if !r.current(s) {
		return
	}
	ps := r.peers[s.peer]
	malformed := errors.Is(err, ErrMalformed) || errors.Is(err, p2p.ErrFrameTooLarge) || errors.Is(err, p2p.ErrBadFrame)
	r.setPeer(s.peer, func(st *PeerStats) {
		st.StreamFailures++
		if malformed {
			st.Malformed++
		}
	})
	if time.Since(s.start) >= stableAfter {
		ps.failures = 0
	}
	ps.failures++
	delay := restartDelay(ps.failures)
	l := r.log.WithFields(logrus.Fields{"peer": string(s.peer), "agency": ps.agency, "event": reason, "error": err.Error(), "restart_in": delay.String()})
	if malformed {
		l.Warn("syncnet: peer sent a malformed message; restarting the session")
	} else {
		l.Info("syncnet: sync stream failed; restarting the session")
	}
	r.endSession(ps, reason)
	r.stopRestart(ps)
	gen, p := ps.gen, s.peer
	ps.restart = time.AfterFunc(delay, func() { r.events.post(evRestart{peer: p, gen: gen}) })
}

// write is a session's writer: it opens the outbound stream and writes
// the session's messages in order, posting one evSent per message.
func (r *Runner) write(s *session) {
	octx, cancel := context.WithTimeout(s.ctx, openTimeout)
	st, err := r.host.NewStream(octx, s.id, ProtocolID)
	cancel()
	if err != nil {
		if s.ctx.Err() == nil {
			r.events.post(evFailed{sess: s, reason: "open_failed", err: err})
		}
		return
	}
	// Resetting unblocks a write stuck on a peer that does not read.
	stop := context.AfterFunc(s.ctx, func() { st.Reset() })
	defer stop()
	defer st.Reset()
	var buf []byte
	for s.out.wait(s.ctx) {
		for _, m := range s.out.drain() {
			if buf, err = Encode(buf[:0], m); err != nil {
				r.events.post(evFailed{sess: s, reason: "encode_failed", err: err})
				return
			}
			if err = st.SetWriteDeadline(time.Now().Add(writeTimeout)); err == nil {
				err = p2p.WriteFrame(st, buf, MaxMessageBytes)
			}
			if err != nil {
				if s.ctx.Err() == nil {
					r.events.post(evFailed{sess: s, reason: "write_failed", err: err})
				}
				return
			}
			if r.sentHook != nil {
				r.sentHook(s.peer, m)
			}
			r.events.post(evSent{sess: s, bytes: len(buf)})
		}
	}
}

// serve is the stream handler: it waits for the session the stream
// belongs to, then reads and decodes frames and posts them, never more
// than inboundSlots ahead of the loop.
func (r *Runner) serve(_ context.Context, st network.Stream) {
	if !r.enter() {
		st.Reset()
		return
	}
	defer r.wg.Done()
	defer st.Reset()
	grant := make(chan *session, 1)
	r.events.post(evInbound{peer: syncengine.PeerID(st.Conn().RemotePeer().String()), stream: st, grant: grant})
	var s *session
	select {
	case s = <-grant:
	case <-r.done:
	}
	if s == nil {
		return
	}
	for {
		select {
		case s.slots <- struct{}{}:
		case <-s.ctx.Done():
			return
		}
		b, err := p2p.ReadFrame(st, MaxMessageBytes)
		if err != nil {
			r.readFailed(s, err)
			return
		}
		m, err := Decode(b)
		if err != nil {
			r.events.post(evFailed{sess: s, reason: "malformed_message", err: err})
			return
		}
		r.events.post(evReceived{sess: s, msg: m, bytes: len(b)})
	}
}

func (r *Runner) readFailed(s *session, err error) {
	if s.ctx.Err() != nil {
		return // we reset it ourselves
	}
	reason := "read_failed"
	if errors.Is(err, io.EOF) {
		reason, err = "stream_closed", fmt.Errorf("peer closed its sync stream: %w", err)
	}
	r.events.post(evFailed{sess: s, reason: reason, err: err})
}
