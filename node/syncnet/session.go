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

type peerID = peer.ID

// A session is one up period of a peer, from the host's PeerUp to its
// PeerDown: one outbound stream we write (opened by the session's writer)
// and one inbound stream the peer opened, which we read. The engine
// assumes one reliable, ordered stream per peer and session, so a session
// whose stream fails, or whose peer sends something malformed, is not
// repaired in place: the runner closes every connection to the peer,
// both hosts report it down, and the next connection starts a fresh
// session (Hello, feed from the persisted cursor). Until the host's
// PeerDown arrives, the engine's sends to the failed session are dropped
// and counted; nothing is lost, the next session's feed covers it.
type session struct {
	peer   syncengine.PeerID
	id     peer.ID
	ctx    context.Context // ends with the session: stops its writer and reader
	cancel context.CancelFunc
	out    *queue[syncengine.Msg]
	in     network.Stream // the adopted inbound stream, nil until one arrives
	slots  chan struct{}  // inbound messages posted and not yet stepped
	failed bool
}

// peerState is what the loop keeps per peer across sessions.
type peerState struct {
	agency  string
	sess    *session   // nil while the peer is down
	pending *evInbound // an inbound stream that arrived while the peer was down
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
)

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
	return ps != nil && ps.sess == s && !s.failed
}

func (r *Runner) peerUp(info p2p.PeerInfo) {
	p := syncengine.PeerID(info.ID.String())
	ps := r.state(p)
	if ps.sess != nil { // the host alternates up and down; be safe anyway
		r.endSession(ps)
	}
	ps.agency = info.Agency.String()
	ctx, cancel := context.WithCancel(r.ctx)
	s := &session{peer: p, id: info.ID, ctx: ctx, cancel: cancel, out: newQueue[syncengine.Msg](), slots: make(chan struct{}, inboundSlots)}
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
	r.log.WithFields(logrus.Fields{"peer": string(p), "agency": ps.agency}).Debug("syncnet: peer up")
	r.step(syncengine.PeerUp{Peer: p, Origin: ps.agency})
}

func (r *Runner) peerDown(id peer.ID) {
	p := syncengine.PeerID(id.String())
	ps := r.state(p)
	if ps.sess == nil {
		return
	}
	r.endSession(ps)
	r.setPeer(p, func(st *PeerStats) { st.Up = false })
	r.log.WithFields(logrus.Fields{"peer": string(p), "agency": ps.agency}).Debug("syncnet: peer down")
	r.step(syncengine.PeerDown{Peer: p})
}

// endSession stops the session's writer and reader and resets its streams
// (the writer resets its own when its context ends).
func (r *Runner) endSession(ps *peerState) {
	s := ps.sess
	ps.sess = nil
	s.cancel()
	s.out.close()
	if s.in != nil {
		s.in.Reset()
	}
}

// inbound places a new inbound stream: in the live session if it has
// none; pending if the peer is not up yet (its PeerUp may come before
// ours) or its session has failed (the stream most likely belongs to the
// reconnection); and otherwise, a second stream in one session means the
// peer restarted its session without us, which fails ours.
func (r *Runner) inbound(ev evInbound) {
	ps := r.state(ev.peer)
	switch {
	case ps.sess == nil || ps.sess.failed:
		if ps.pending != nil {
			ps.pending.grant <- nil // superseded by a newer stream
		}
		ps.pending = &ev
	case ps.sess.in == nil:
		r.adopt(ps.sess, &ev)
	default:
		ev.grant <- nil
		r.failed(ps.sess, "second_inbound_stream", errors.New("peer opened another sync stream in one session"))
	}
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
	if ps == nil || ps.sess == nil || ps.sess.failed || !ps.sess.out.post(a.Msg) {
		r.setPeer(a.To, func(st *PeerStats) { st.SendsDropped++ })
	}
}

// failed ends a live session's streams and closes the peer's connections
// so that both sides start over; see session.
func (r *Runner) failed(s *session, reason string, err error) {
	if !r.current(s) {
		return
	}
	s.failed = true
	s.cancel()
	s.out.close()
	if s.in != nil {
		s.in.Reset()
	}
	malformed := errors.Is(err, ErrMalformed) || errors.Is(err, p2p.ErrFrameTooLarge) || errors.Is(err, p2p.ErrBadFrame)
	r.setPeer(s.peer, func(st *PeerStats) {
		st.StreamFailures++
		if malformed {
			st.Malformed++
		}
	})
	l := r.log.WithFields(logrus.Fields{"peer": string(s.peer), "agency": r.peers[s.peer].agency, "event": reason, "error": err.Error()})
	if malformed {
		l.Warn("syncnet: peer sent a malformed message; closing its connections")
	} else {
		l.Info("syncnet: sync stream failed; closing the peer's connections")
	}
	h, id := r.host, s.id
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		h.LibP2P().Network().ClosePeer(id)
	}()
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
