package p2p

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/sirupsen/logrus"

	"github.com/vigie-project/vigie/protocol/record"
)

// ErrStaleRoster means SetRoster was given a roster older than the one in
// force; the gate never goes backwards.
var ErrStaleRoster = errors.New("p2p: roster is older than the one in force")

// members is an immutable snapshot of who may connect, built from one
// roster. The gate swaps whole snapshots, so a check never sees half of
// an update.
type members struct {
	federation string
	version    uint64
	peers      map[peer.ID]record.Agency
}

// membersOf reads the roster's peer IDs. A peer ID that does not parse
// rejects the whole roster: admitting the rest would silently lock one
// member out, which the node must hear about.
func membersOf(r *record.Roster) (*members, error) {
	if r == nil {
		return nil, errors.New("p2p: no roster")
	}
	m := &members{federation: r.Federation, version: r.Version, peers: make(map[peer.ID]record.Agency, len(r.Members))}
	for _, mem := range r.Members {
		id, err := peer.Decode(mem.PeerID)
		if err != nil {
			return nil, fmt.Errorf("p2p: roster version %d: member %s: peer id: %w", r.Version, mem.Agency, err)
		}
		m.peers[id] = mem.Agency
	}
	return m, nil
}

func (m *members) has(p peer.ID) bool {
	_, ok := m.peers[p]
	return ok
}

// removedFrom lists the peers of m that are not in next.
func (m *members) removedFrom(next *members) []peer.ID {
	var out []peer.ID
	for p := range m.peers {
		if !next.has(p) {
			out = append(out, p)
		}
	}
	return out
}

// gate is the connection gater: it admits only roster members, on dial and
// on accept. It is consulted by libp2p on its own goroutines, so it reads
// the member set through an atomic pointer and never blocks.
type gate struct {
	set        atomic.Pointer[members]
	log        *logrus.Entry
	refusedIn  atomic.Uint64
	refusedOut atomic.Uint64
}

var _ connmgr.ConnectionGater = (*gate)(nil)

func newGate(m *members, log *logrus.Entry) *gate {
	g := &gate{log: log}
	g.set.Store(m)
	return g
}

func (g *gate) members() *members { return g.set.Load() }

func (g *gate) allowed(p peer.ID) bool { return g.set.Load().has(p) }

// swap installs next if it is not older than the set in force and returns
// the set it replaced.
func (g *gate) swap(next *members) (*members, error) {
	for {
		cur := g.set.Load()
		if next.federation != cur.federation {
			return nil, fmt.Errorf("p2p: roster of federation %q, this node is in %q", next.federation, cur.federation)
		}
		if next.version < cur.version {
			return nil, fmt.Errorf("%w: version %d, in force %d", ErrStaleRoster, next.version, cur.version)
		}
		if g.set.CompareAndSwap(cur, next) {
			return cur, nil
		}
	}
}

// InterceptPeerDial refuses to dial a non-member, so nothing of ours (not
// even a TLS ClientHello with our certificate) reaches it.
func (g *gate) InterceptPeerDial(p peer.ID) bool {
	return g.check(network.DirOutbound, p, "dial")
}

// InterceptAddrDial repeats the peer check per address: the member set may
// have changed since InterceptPeerDial.
func (g *gate) InterceptAddrDial(p peer.ID, _ ma.Multiaddr) bool {
	return g.check(network.DirOutbound, p, "dial")
}

// InterceptAccept admits every socket: the peer is not yet authenticated
// here, and filtering by IP is the firewall's job (members' addresses are
// not in the roster).
func (g *gate) InterceptAccept(network.ConnMultiaddrs) bool { return true }

// InterceptSecured is the authoritative check: the TLS handshake has just
// proved the remote holds the key of peer p, on both directions.
func (g *gate) InterceptSecured(dir network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return g.check(dir, p, "handshake")
}

// InterceptUpgraded re-checks once the muxer is up, closing the window in
// which a roster change could land between handshake and use. libp2p
// ignores the disconnect reason, so none is given.
func (g *gate) InterceptUpgraded(c network.Conn) (bool, control.DisconnectReason) {
	return g.check(c.Stat().Direction, c.RemotePeer(), "upgrade"), 0
}

func (g *gate) check(dir network.Direction, p peer.ID, stage string) bool {
	if g.allowed(p) {
		return true
	}
	if dir == network.DirInbound {
		g.refusedIn.Add(1)
	} else {
		g.refusedOut.Add(1)
	}
	// Debug, not Warn: anyone on the Internet can make us log this line.
	// The counters in Stats carry the signal.
	g.log.WithFields(logrus.Fields{"peer": p.String(), "dir": dir.String(), "stage": stage}).Debug("p2p: refused a non-member")
	return false
}
