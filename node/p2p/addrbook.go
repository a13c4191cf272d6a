package p2p

import (
	"fmt"
	"slices"
	"sync"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/vigie-project/vigie/protocol/record"
)

// addrBook holds where members are reached. It is the only writer of
// permanent addresses in the peerstore, and it mirrors each member's IP
// addresses into the resource manager's allow-list, so that members keep
// a budget of their own when strangers exhaust the normal limits.
type addrBook struct {
	ps    peerstore.Peerstore
	allow *rcmgr.Allowlist // nil if the resource manager has none

	mu      sync.Mutex
	addrs   map[peer.ID][]ma.Multiaddr
	allowed map[peer.ID][]ma.Multiaddr // allow-list entries we added
}

func newAddrBook(ps peerstore.Peerstore, rm network.ResourceManager) *addrBook {
	return &addrBook{
		ps:      ps,
		allow:   rcmgr.GetAllowlist(rm),
		addrs:   make(map[peer.ID][]ma.Multiaddr),
		allowed: make(map[peer.ID][]ma.Multiaddr),
	}
}

// replace installs next and returns the peers whose addresses changed.
// Nothing changes if any address is invalid.
func (b *addrBook) replace(next map[peer.ID][]ma.Multiaddr) ([]peer.ID, error) {
	clean := make(map[peer.ID][]ma.Multiaddr, len(next))
	for p, addrs := range next {
		c, err := transportAddrs(p, addrs)
		if err != nil {
			return nil, err
		}
		clean[p] = c
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var changed []peer.ID
	for p := range b.addrs {
		if _, ok := clean[p]; !ok {
			b.forgetLocked(p)
		}
	}
	for p, addrs := range clean {
		if slices.EqualFunc(b.addrs[p], addrs, ma.Multiaddr.Equal) {
			continue
		}
		b.forgetLocked(p)
		b.setLocked(p, addrs)
		changed = append(changed, p)
	}
	return changed, nil
}

// addMissing gives addresses to the peers of next that have none yet (a
// member a new roster added), keeping every address already set, and
// returns those peers. Invalid entries are skipped: a roster's addresses
// were checked when it was verified.
func (b *addrBook) addMissing(next map[peer.ID][]ma.Multiaddr) []peer.ID {
	b.mu.Lock()
	defer b.mu.Unlock()
	var added []peer.ID
	for p, addrs := range next {
		if _, ok := b.addrs[p]; ok || len(addrs) == 0 {
			continue
		}
		c, err := transportAddrs(p, addrs)
		if err != nil {
			continue
		}
		b.setLocked(p, c)
		added = append(added, p)
	}
	return added
}

// forget drops p's addresses and allow-list entries (a removed member).
func (b *addrBook) forget(p peer.ID) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.forgetLocked(p)
}

func (b *addrBook) forgetLocked(p peer.ID) {
	if _, ok := b.addrs[p]; !ok {
		return
	}
	delete(b.addrs, p)
	b.ps.ClearAddrs(p)
	for _, a := range b.allowed[p] {
		_ = b.allow.Remove(a) // only fails to parse, and we built a
	}
	delete(b.allowed, p)
}

func (b *addrBook) setLocked(p peer.ID, addrs []ma.Multiaddr) {
	b.addrs[p] = addrs
	b.ps.AddAddrs(p, addrs, peerstore.PermanentAddrTTL)
	if b.allow == nil {
		return
	}
	for _, a := range addrs {
		entry, ok := allowEntry(p, a)
		if !ok {
			continue
		}
		if err := b.allow.Add(entry); err == nil {
			b.allowed[p] = append(b.allowed[p], entry)
		}
	}
}

// has reports whether the book knows where to dial p.
func (b *addrBook) has(p peer.ID) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.addrs[p]) > 0
}

// transportAddrs strips a trailing /p2p/ID, which must name p.
func transportAddrs(p peer.ID, addrs []ma.Multiaddr) ([]ma.Multiaddr, error) {
	out := make([]ma.Multiaddr, 0, len(addrs))
	for _, a := range addrs {
		t, id := peer.SplitAddr(a)
		if t == nil {
			return nil, fmt.Errorf("p2p: address %v of %s has no transport part", a, p)
		}
		if id != "" && id != p {
			return nil, fmt.Errorf("p2p: address %v is filed under %s but names %s", a, p, id)
		}
		out = append(out, t)
	}
	return out, nil
}

// allowEntry is the allow-list entry /ipX/addr/p2p/ID for an address with
// an IP (DNS names cannot be allow-listed).
func allowEntry(p peer.ID, a ma.Multiaddr) (ma.Multiaddr, bool) {
	ip, err := manet.ToIP(a)
	if err != nil {
		return nil, false
	}
	ipa, err := manet.FromIP(ip)
	if err != nil {
		return nil, false
	}
	p2p, err := ma.NewComponent("p2p", p.String())
	if err != nil {
		return nil, false
	}
	return ipa.Encapsulate(p2p), true
}

// RosterAddrs maps every member's peer ID to the multiaddrs the roster
// gives for it, for WithPeerAddrs. A peer ID or address that does not parse
// is an error naming the member, not a member silently left unreachable.
func RosterAddrs(r *record.Roster) (map[peer.ID][]ma.Multiaddr, error) {
	out := make(map[peer.ID][]ma.Multiaddr, len(r.Members))
	for _, m := range r.Members {
		id, err := peer.Decode(m.PeerID)
		if err != nil {
			return nil, fmt.Errorf("p2p: roster member %s: peer id: %w", m.Agency, err)
		}
		for _, a := range m.Addrs {
			addr, err := ma.NewMultiaddr(a)
			if err != nil {
				return nil, fmt.Errorf("p2p: roster member %s: address %q: %w", m.Agency, a, err)
			}
			out[id] = append(out[id], addr)
		}
	}
	return out, nil
}
