package p2p

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/crypto/pb"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/sirupsen/logrus"

	"github.com/vigie-project/vigie/protocol/record"
)

// memberTag is the connection-manager protection tag of member peers.
const memberTag = "vigie-member"

// ErrNotMember means an operation named a peer that is not in the roster.
var ErrNotMember = errors.New("p2p: peer is not a federation member")

// ErrClosed means the host has been closed.
var ErrClosed = errors.New("p2p: host closed")

// Host is a node's libp2p presence: transports, the membership gate, the
// peer lifecycle and the stream protocols registered with Handle. It is
// safe for concurrent use.
type Host struct {
	host  host.Host
	rm    network.ResourceManager
	cm    *connmgr.BasicConnMgr
	gate  *gate
	peers *peerManager
	book  *addrBook
	cfg   config
	log   *logrus.Entry

	// ctx is cancelled by Close (or with New's context); it bounds the
	// event loop, dials, hellos and every handler.
	ctx    context.Context
	cancel context.CancelFunc

	// mu guards closed, so that no handler joins wg after Close waits.
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup

	// rosterMu serialises roster adoptions, so that protection tags and
	// closed connections always follow the gate's order.
	rosterMu sync.Mutex
}

// New starts a host with identity key, admitting the members of roster.
// ctx bounds the host's background work (dialing, reconnecting, peer
// events, handlers): cancel it, or call Close, to stop them; Close is
// still needed to release the host.
//
// The host listens only on the addresses given with WithListenAddrs, speaks
// only TLS 1.3 over TCP or QUIC-v1, with yamux on TCP, and has no DHT,
// mDNS, relay, hole punching, UPnP or AutoNAT probing: members are known
// in advance and reached directly. It checks before anything else that
// its TLS stack negotiates a post-quantum hybrid key exchange.
func New(ctx context.Context, key crypto.PrivKey, roster *record.Roster, opts ...Option) (*Host, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.log == nil {
		cfg.log = quietLogger()
	}
	// Without a key libp2p would make up an identity that no roster names.
	if key == nil || key.Type() != pb.KeyType_Ed25519 {
		return nil, fmt.Errorf("%w: New needs the node's Ed25519 peer key", ErrPeerKeyFormat)
	}
	set, err := membersOf(roster)
	if err != nil {
		return nil, err
	}
	if err := checkPostQuantum(ctx); err != nil {
		return nil, err
	}
	h := &Host{cfg: cfg, gate: newGate(set, cfg.log), log: cfg.log}
	if err := h.start(key, cfg.limits.withDefaults(len(set.peers))); err != nil {
		return nil, err
	}
	h.ctx, h.cancel = context.WithCancel(ctx)
	h.book = newAddrBook(h.host.Peerstore(), h.rm)
	h.peers = newPeerManager(h)
	h.protect(set, nil)
	h.host.Network().Notify(h.peers.notifiee())
	h.Handle(HelloProtocol, h.serveHello)
	if cfg.addrs != nil {
		if err := h.SetPeerAddrs(cfg.addrs); err != nil {
			h.Close()
			return nil, err
		}
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		h.peers.run(h.ctx)
	}()
	return h, nil
}

// start builds the resource manager, connection manager and libp2p host.
func (h *Host) start(key crypto.PrivKey, lim Limits) error {
	rm, err := newResourceManager(lim, h.cfg.metrics != nil)
	if err != nil {
		return fmt.Errorf("p2p: resource manager: %w", err)
	}
	// Members are protected, so trimming only ever touches connections
	// that outlived their membership; the marks are generous on purpose.
	cm, err := connmgr.NewConnManager(lim.Capacity, lim.Capacity*lim.ConnsPerMember)
	if err != nil {
		rm.Close()
		return fmt.Errorf("p2p: connection manager: %w", err)
	}
	lh, err := libp2p.New(h.libp2pOptions(key, rm, cm)...)
	if err != nil {
		cm.Close()
		rm.Close()
		return fmt.Errorf("p2p: starting libp2p: %w", err)
	}
	h.host, h.rm, h.cm = lh, rm, cm
	return nil
}

func (h *Host) libp2pOptions(key crypto.PrivKey, rm network.ResourceManager, cm *connmgr.BasicConnMgr) []libp2p.Option {
	opts := []libp2p.Option{
		libp2p.Identity(key),
		libp2p.ListenAddrs(h.cfg.listen...),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(quic.NewTransport),
		libp2p.Security(libp2ptls.ID, libp2ptls.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.ConnectionGater(h.gate),
		libp2p.ResourceManager(rm),
		libp2p.ConnectionManager(cm),
		libp2p.DisableRelay(),
		// Reachability is not in question: members dial each other at
		// configured addresses. Forcing it keeps AutoNAT from probing.
		libp2p.ForceReachabilityPublic(),
		libp2p.DisableIdentifyAddressDiscovery(),
		libp2p.UserAgent("vigie"),
	}
	if len(h.cfg.listen) == 0 {
		opts = append(opts, libp2p.NoListenAddrs)
	}
	if h.cfg.metrics != nil {
		opts = append(opts, libp2p.PrometheusRegisterer(h.cfg.metrics))
	} else {
		opts = append(opts, libp2p.DisableMetrics())
	}
	return opts
}

// ID is this node's peer ID.
func (h *Host) ID() peer.ID { return h.host.ID() }

// Addrs are the addresses the host listens on, each ending in /p2p/ID, as
// other members should be told to dial them.
func (h *Host) Addrs() []ma.Multiaddr {
	addrs, err := peer.AddrInfoToP2pAddrs(&peer.AddrInfo{ID: h.ID(), Addrs: h.host.Addrs()})
	if err != nil { // only for an empty ID, which a running host never has
		return nil
	}
	return addrs
}

// LibP2P exposes the underlying host for protocol adapters that need more
// than Handle and NewStream. Handlers set on it directly bypass the
// membership re-check of Handle (the gate still applies).
func (h *Host) LibP2P() host.Host { return h.host }

// SetRoster adopts a newer roster: the gate swaps atomically, connections
// of removed members are closed at once, and new members become eligible
// for dialing at the addresses the roster gives them (addresses set with
// SetPeerAddrs are kept). The node verifies the roster first; the host only refuses
// one that is older than the roster in force or of another federation.
func (h *Host) SetRoster(r *record.Roster) error {
	h.rosterMu.Lock()
	defer h.rosterMu.Unlock()
	next, err := membersOf(r)
	if err != nil {
		return err
	}
	prev, err := h.gate.swap(next)
	if err != nil {
		return err
	}
	removed := prev.removedFrom(next)
	h.protect(next, removed)
	for _, p := range removed {
		h.book.forget(p)
		// The gate refuses new connections from here on; ClosePeer cuts
		// the ones already open, and their streams with them.
		if err := h.host.Network().ClosePeer(p); err != nil {
			h.log.WithError(err).WithField("peer", p.String()).Warn("p2p: closing a removed member's connections")
		}
	}
	h.peers.post(event{kind: evRoster, peers: removed})
	if addrs, err := RosterAddrs(r); err == nil {
		if added := h.book.addMissing(addrs); len(added) > 0 {
			h.peers.post(event{kind: evAddrs, peers: added})
		}
	}
	h.log.WithFields(logrus.Fields{"version": next.version, "members": len(next.peers), "removed": len(removed)}).Info("p2p: roster adopted")
	return nil
}

// protect tags members so the connection manager never trims them.
func (h *Host) protect(set *members, removed []peer.ID) {
	for _, p := range removed {
		h.cm.Unprotect(p, memberTag)
	}
	for p := range set.peers {
		h.cm.Protect(p, memberTag)
	}
}

// SetPeerAddrs replaces the address book: where to dial each member
// (later read from the roster). Addresses may end in /p2p/ID, which must
// then match the key. Members with new addresses that are not connected
// are dialed at once.
func (h *Host) SetPeerAddrs(addrs map[peer.ID][]ma.Multiaddr) error {
	changed, err := h.book.replace(addrs)
	if err != nil {
		return err
	}
	h.peers.post(event{kind: evAddrs, peers: changed})
	return nil
}

// StreamHandler serves one inbound stream. ctx ends when the host closes.
// The handler owns the stream and must Close or Reset it.
type StreamHandler func(ctx context.Context, s network.Stream)

// Handle registers fn for protocol id. Every stream is re-checked against
// the roster in force before fn sees it (the gate already refused
// non-members; this catches a member removed while its connection was
// being set up), and a panic in fn resets the stream instead of taking
// the node down.
func (h *Host) Handle(id protocol.ID, fn StreamHandler) {
	h.host.SetStreamHandler(id, func(s network.Stream) {
		if !h.enter() {
			s.Reset()
			return
		}
		defer h.wg.Done()
		if !h.gate.allowed(s.Conn().RemotePeer()) {
			h.gate.refusedIn.Add(1)
			s.Reset()
			return
		}
		defer h.recoverHandler(id, s)
		fn(h.ctx, s)
	})
}

// enter registers a handler run unless the host is closing.
func (h *Host) enter() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.wg.Add(1)
	return true
}

func (h *Host) isClosed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed
}

func (h *Host) recoverHandler(id protocol.ID, s network.Stream) {
	if v := recover(); v != nil {
		s.Reset()
		h.log.WithFields(logrus.Fields{"protocol": string(id), "peer": s.Conn().RemotePeer().String(), "panic": fmt.Sprint(v)}).
			Error("p2p: stream handler panicked\n" + string(debug.Stack()))
	}
}

// RemoveHandler unregisters a protocol.
func (h *Host) RemoveHandler(id protocol.ID) { h.host.RemoveStreamHandler(id) }

// NewStream opens a stream to member p, dialing it if needed.
func (h *Host) NewStream(ctx context.Context, p peer.ID, ids ...protocol.ID) (network.Stream, error) {
	if h.isClosed() {
		return nil, ErrClosed
	}
	if !h.gate.allowed(p) {
		return nil, fmt.Errorf("%w: %s", ErrNotMember, p)
	}
	s, err := h.host.NewStream(ctx, p, ids...)
	if err != nil {
		return nil, fmt.Errorf("p2p: opening %v to %s: %w", ids, p, err)
	}
	return s, nil
}

// IsUp reports whether p is up (see Hooks.PeerUp).
func (h *Host) IsUp(p peer.ID) bool { return h.peers.isUp(p) }

// Stats are counters for metrics and tests.
type Stats struct {
	RefusedInbound  uint64 // connections and streams refused because the peer is not a member
	RefusedOutbound uint64 // dials refused because the peer is not a member
	Connected       int    // peers with at least one connection
	Up              int    // peers up (hello answered)
	Dials           uint64 // dials started by the reconnect loop
}

// Stats returns the current counters.
func (h *Host) Stats() Stats {
	return Stats{
		RefusedInbound:  h.gate.refusedIn.Load(),
		RefusedOutbound: h.gate.refusedOut.Load(),
		Connected:       len(h.host.Network().Peers()),
		Up:              h.peers.upCount(),
		Dials:           h.peers.dials.Load(),
	}
}

// Close stops the host: background work ends, connections close, and
// every handler has returned when Close does.
func (h *Host) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	h.mu.Unlock()
	h.cancel()
	err := h.host.Close()
	h.wg.Wait()
	// libp2p closes only a resource manager it made itself.
	return errors.Join(err, h.rm.Close())
}

// quietLogger reports only warnings and errors, for a host built without a
// logger of its own.
func quietLogger() *logrus.Entry {
	l := logrus.New()
	l.SetLevel(logrus.WarnLevel)
	return logrus.NewEntry(l)
}
