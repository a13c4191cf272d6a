package p2p

import (
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
)

// Limits sizes the resource manager. A federation has tens of members that
// each keep one connection and a few long-lived streams, so the limits are
// fixed numbers derived from the member count rather than libp2p's
// autoscaled defaults, which are sized for thousands of strangers. Every
// scope is set explicitly; anything not set here is blocked (zero), so a
// libp2p upgrade that adds a scope fails closed instead of open.
//
// Zero fields take the defaults below (see WithLimits).
type Limits struct {
	// Capacity is how many members the limits are sized for. Default: twice
	// the roster's size at start, at least 8, so the federation can grow
	// without a restart.
	Capacity int
	// ConnsPerMember bounds connections per member. Two are normal for a
	// moment (a simultaneous dial, or TCP and QUIC racing). Default 4.
	ConnsPerMember int
	// StreamsPerMember bounds a member's streams, in each direction and in
	// both together: one long-lived stream per purpose, plus request
	// streams. Default 32.
	StreamsPerMember int
	// TokenStreamsPerMember bounds concurrent token requests from one
	// member, which bounds the issuer CPU one member can take. Default 4.
	TokenStreamsPerMember int
	// MemoryPerMember bounds the buffer memory (yamux windows) one member
	// can make us reserve. Default 32 MiB.
	MemoryPerMember int64
	// TransientConns bounds connections still in their handshake, before
	// the gate knows who they are. Non-members die here. Default 32.
	TransientConns int
}

func (l Limits) withDefaults(members int) Limits {
	if l.Capacity <= 0 {
		l.Capacity = max(2*members, 8)
	}
	if l.ConnsPerMember <= 0 {
		l.ConnsPerMember = 4
	}
	if l.StreamsPerMember <= 0 {
		l.StreamsPerMember = 32
	}
	if l.TokenStreamsPerMember <= 0 {
		l.TokenStreamsPerMember = 4
	}
	if l.MemoryPerMember <= 0 {
		l.MemoryPerMember = 32 << 20
	}
	if l.TransientConns <= 0 {
		l.TransientConns = 32
	}
	return l
}

// transientMemory bounds buffers of connections and streams not yet
// attributed to a peer and protocol.
const transientMemory = 64 << 20

// yamuxStreamWindowMax is go-libp2p's yamux maximum stream window: the most
// one stream can make its connection reserve.
const yamuxStreamWindowMax = 16 << 20

// config turns the limits into libp2p's concrete limit configuration.
func (l Limits) config() rcmgr.ConcreteLimitConfig {
	n, c, s := l.Capacity, l.ConnsPerMember, l.StreamsPerMember
	member := streamsConns(s, c, l.MemoryPerMember)
	system := streamsConns(n*s, n*c+l.TransientConns, int64(n)*l.MemoryPerMember+transientMemory)
	transient := streamsConns(4*l.TransientConns, l.TransientConns, transientMemory)
	memberStreams := streamsConns(s, 0, l.MemoryPerMember)
	allStreams := streamsConns(n*s, 0, int64(n)*l.MemoryPerMember)
	token := streamsConns(l.TokenStreamsPerMember, 0, l.MemoryPerMember)
	partial := rcmgr.PartialLimitConfig{
		System:    system.ToResourceLimits(),
		Transient: transient.ToResourceLimits(),
		// Allow-listed members get a second system and transient budget
		// when the first is spent (by a flood of strangers, say).
		AllowlistedSystem:    system.ToResourceLimits(),
		AllowlistedTransient: transient.ToResourceLimits(),
		ServiceDefault:       allStreams.ToResourceLimits(),
		ServicePeerDefault:   memberStreams.ToResourceLimits(),
		ProtocolDefault:      allStreams.ToResourceLimits(),
		ProtocolPeerDefault:  memberStreams.ToResourceLimits(),
		ProtocolPeer:         map[protocol.ID]rcmgr.ResourceLimits{TokenProtocol: token.ToResourceLimits()},
		PeerDefault:          member.ToResourceLimits(),
		Conn:                 streamsConns(0, 1, l.MemoryPerMember).ToResourceLimits(),
		Stream:               streamsConns(1, 0, yamuxStreamWindowMax).ToResourceLimits(),
	}
	// Building on the zero configuration means every value left out above
	// is zero, which libp2p reads as "block all".
	return partial.Build(rcmgr.ConcreteLimitConfig{})
}

// streamsConns is a limit of streams and connections per direction (each
// direction and the total get the same number, so neither direction can
// starve the other of more than it could use alone) and of memory. Zero
// connections means the scope holds none (protocol and service scopes).
func streamsConns(streams, conns int, memory int64) rcmgr.BaseLimit {
	return rcmgr.BaseLimit{
		Streams: streams, StreamsInbound: streams, StreamsOutbound: streams,
		Conns: conns, ConnsInbound: conns, ConnsOutbound: conns, FD: conns,
		Memory: memory,
	}
}

// newResourceManager builds the resource manager; libp2p does not own a
// resource manager it was given, so Host.Close closes it (go-libp2p#1343).
// Its metrics follow the host's: libp2p registers the collectors when the
// host exports metrics.
func newResourceManager(l Limits, metrics bool) (network.ResourceManager, error) {
	var opts []rcmgr.Option
	if !metrics {
		opts = append(opts, rcmgr.WithMetricsDisabled())
	}
	return rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(l.config()), opts...)
}
