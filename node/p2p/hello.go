package p2p

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/vigie-project/vigie/protocol/dagcbor"
)

// HelloProtocol is the application-level greeting that makes a peer "up".
// A libp2p Connect can return nil although the remote gate refused us
// (TLS 1.3 lets the dialer finish first), so a connection proves nothing
// until the remote has answered on a Vigie protocol.
//
// A side that has a connection to a member it does not count as up opens
// a stream and sends its hello; the other checks it and answers with its
// own. Both are one frame each of DAG-CBOR:
//
//	{"fed": federation id, "roster": roster version, "type": "hello", "v": 1}
//
// The message belongs in protocol/ with the other wire messages once the
// sync protocol settles what else a greeting must carry.
const HelloProtocol protocol.ID = "/vigie/hello/1.0.0"

// maxHelloSize bounds a hello: a federation id of 64 bytes and a version
// number need about 100.
const maxHelloSize = 512

const helloVersion = 1

// ErrWrongFederation means a member's node follows another federation (a
// misconfigured node folder), so no protocol may run with it.
var ErrWrongFederation = errors.New("p2p: peer is in another federation")

// hello is what each side says.
type hello struct {
	Federation    string
	RosterVersion uint64
}

func (m hello) encode() ([]byte, error) {
	return dagcbor.Encode(dagcbor.Map(
		dagcbor.Entry{Key: "v", Value: dagcbor.Uint(helloVersion)},
		dagcbor.Entry{Key: "fed", Value: dagcbor.Text(m.Federation)},
		dagcbor.Entry{Key: "type", Value: dagcbor.Text("hello")},
		dagcbor.Entry{Key: "roster", Value: dagcbor.Uint(m.RosterVersion)},
	))
}

func decodeHello(b []byte) (hello, error) {
	v, err := dagcbor.Decode(b, dagcbor.Limits{MaxBytes: maxHelloSize, MaxDepth: 1, MaxString: 256, MaxItems: 8})
	if err != nil {
		return hello{}, fmt.Errorf("p2p: hello: %w", err)
	}
	f := dagcbor.ReadFields(v)
	ver, kind := f.Uint("v"), f.Text("type")
	m := hello{Federation: f.Text("fed"), RosterVersion: f.Uint("roster")}
	if err := f.Done(); err != nil {
		return hello{}, fmt.Errorf("p2p: hello: %w", err)
	}
	if ver != helloVersion || kind != "hello" {
		return hello{}, fmt.Errorf("p2p: hello: version %d type %q, want %d %q", ver, kind, helloVersion, "hello")
	}
	return m, nil
}

// ours is the hello this host sends, from the roster in force.
func (h *Host) ours() hello {
	m := h.gate.members()
	return hello{Federation: m.federation, RosterVersion: m.version}
}

// check accepts a peer's hello if it is for our federation.
func (h *Host) check(p peer.ID, m hello) (PeerInfo, error) {
	set := h.gate.members()
	if m.Federation != set.federation {
		return PeerInfo{}, fmt.Errorf("%w: %q, ours is %q", ErrWrongFederation, m.Federation, set.federation)
	}
	return PeerInfo{ID: p, Agency: set.peers[p], RosterVersion: m.RosterVersion}, nil
}

// sayHello greets p over a new stream and returns what p answered.
func (h *Host) sayHello(ctx context.Context, p peer.ID) (PeerInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.helloTimeout)
	defer cancel()
	s, err := h.NewStream(ctx, p, HelloProtocol)
	if err != nil {
		return PeerInfo{}, err
	}
	theirs, err := exchangeHello(s, h.ours(), time.Now().Add(h.cfg.helloTimeout), true)
	if err != nil {
		return PeerInfo{}, err
	}
	return h.check(p, theirs)
}

// serveHello answers a member's greeting and reports the peer as up.
func (h *Host) serveHello(_ context.Context, s network.Stream) {
	p := s.Conn().RemotePeer()
	theirs, err := exchangeHello(s, h.ours(), time.Now().Add(h.cfg.helloTimeout), false)
	var info PeerInfo
	if err == nil {
		info, err = h.check(p, theirs)
	}
	h.peers.post(event{kind: evHello, peer: p, info: info, err: err})
}

// exchangeHello sends ours and reads theirs; the side that opened the
// stream speaks first. The stream is closed (or reset on error) before
// returning.
func exchangeHello(s network.Stream, ours hello, deadline time.Time, dialer bool) (hello, error) {
	msg, err := ours.encode()
	if err != nil {
		s.Reset()
		return hello{}, err
	}
	if err := s.SetDeadline(deadline); err != nil {
		s.Reset()
		return hello{}, fmt.Errorf("p2p: hello: %w", err)
	}
	var theirs hello
	if dialer {
		err = writeThenRead(s, msg, &theirs)
	} else {
		err = readThenWrite(s, msg, &theirs)
	}
	if err != nil {
		s.Reset()
		return hello{}, err
	}
	return theirs, s.Close()
}

func writeThenRead(s network.Stream, msg []byte, theirs *hello) error {
	if err := WriteFrame(s, msg, maxHelloSize); err != nil {
		return err
	}
	// The peer may answer and close its side before our CloseWrite lands,
	// which cancels our write side: its answer is what counts.
	_ = s.CloseWrite()
	return readHello(s, theirs)
}

func readThenWrite(s network.Stream, msg []byte, theirs *hello) error {
	if err := readHello(s, theirs); err != nil {
		return err
	}
	return WriteFrame(s, msg, maxHelloSize)
}

func readHello(s network.Stream, into *hello) error {
	b, err := ReadFrame(s, maxHelloSize)
	if err != nil {
		return fmt.Errorf("p2p: hello: %w", err)
	}
	m, err := decodeHello(b)
	if err != nil {
		return err
	}
	*into = m
	return nil
}
