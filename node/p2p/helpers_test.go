package p2p

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/vigie-project/vigie/crypto/fedtoken"
	"github.com/vigie-project/vigie/crypto/hybrid"
	"github.com/vigie-project/vigie/protocol/record"
	"github.com/vigie-project/vigie/protocol/urlcanon"
)

// Test federations are real: real peer keys, a roster that passes
// record's shape checks, a dealt OPRF key, and real libp2p hosts on
// loopback.

const testFederation = "vigie-p2p-test"

// countries are the federation of the design: the 28 EU member states of
// 2014-2015 and Australia, Canada and the United States.
var countries = []string{"AT", "AU", "BE", "BG", "CA", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GB", "GR", "HR",
	"HU", "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "US"}

// country names member i; beyond the 31, made-up codes.
func country(i int) string {
	if i < len(countries) {
		return countries[i]
	}
	return string(rune('Z')) + string(rune('A'+i%26))
}

type federation struct {
	roster *record.Roster
	keys   []crypto.PrivKey
	ids    []peer.ID
	group  fedtoken.GroupKey
	shares []fedtoken.Share // shares[i] belongs to member i (the first issuers members)
}

// newFederation has n members; the first issuers of them hold shares of a
// threshold-of-issuers key.
func newFederation(t testing.TB, n, threshold, issuers int) *federation {
	t.Helper()
	f := &federation{}
	var err error
	f.group, f.shares, err = fedtoken.Deal(rand.Reader, threshold, issuers)
	if err != nil {
		t.Fatal(err)
	}
	r := &record.Roster{Federation: testFederation, Version: 1, ValidFrom: 1700000000,
		OPRFKey: f.group.Public, Threshold: uint64(threshold), Shares: uint64(issuers)}
	for i := range n {
		key, id := newPeerKey(t)
		f.keys, f.ids = append(f.keys, key), append(f.ids, id)
		r.Members = append(r.Members, testMember(i, id, f.group))
	}
	slices.SortFunc(r.Members, func(a, b record.Member) int { return a.Agency.Compare(b.Agency) })
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	f.roster = r
	return f
}

func testMember(i int, id peer.ID, g fedtoken.GroupKey) record.Member {
	var seed [hybrid.SeedSize]byte
	seed[0] = byte(i + 1)
	m := record.Member{
		Agency:     record.Agency{Country: country(i), Org: "svc"},
		Name:       "Service " + country(i),
		OrgType:    record.OrgPolice,
		PeerID:     id.String(),
		SigningKey: hybrid.NewKeyFromSeed(seed).Public().Bytes(),
		Roles:      []record.Role{record.RoleMember},
	}
	if i < g.Total {
		m.Roles = []record.Role{record.RoleIssuer, record.RoleMember}
		m.ShareIndex, m.SharePublicKey = uint64(g.Shares[i].Index), g.Shares[i].Public
	}
	return m
}

func newPeerKey(t testing.TB) (crypto.PrivKey, peer.ID) {
	t.Helper()
	key, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return key, id
}

// without returns the next roster version without the given members.
func (f *federation) without(t testing.TB, drop ...int) *record.Roster {
	t.Helper()
	prev, err := f.roster.CID()
	if err != nil {
		t.Fatal(err)
	}
	next := *f.roster
	next.Version, next.Prev, next.ValidFrom = f.roster.Version+1, prev, f.roster.ValidFrom+1
	next.Members = slices.DeleteFunc(slices.Clone(f.roster.Members), func(m record.Member) bool {
		for _, i := range drop {
			if m.PeerID == f.ids[i].String() {
				return true
			}
		}
		return false
	})
	return &next
}

// loopback listens on an ephemeral TCP port and an ephemeral QUIC port.
var loopback = WithListenAddrs("/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1")

// tcpOnly listens on TCP only: a closed host then refuses dials at once.
var tcpOnly = WithListenAddrs("/ip4/127.0.0.1/tcp/0")

// fastRetry keeps reconnection tests short.
var fastRetry = WithBackoff(20*time.Millisecond, 200*time.Millisecond)

func startHost(t testing.TB, key crypto.PrivKey, r *record.Roster, opts ...Option) *Host {
	t.Helper()
	h, err := New(context.Background(), key, r, append([]Option{loopback, fastRetry}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// startMembers starts a host for each listed member.
func (f *federation) startMembers(t testing.TB, members []int, opts ...Option) []*Host {
	t.Helper()
	hosts := make([]*Host, len(members))
	for i, m := range members {
		hosts[i] = startHost(t, f.keys[m], f.roster, opts...)
	}
	return hosts
}

// meshAddrs tells every host where the others listen.
func meshAddrs(t testing.TB, hosts ...*Host) {
	t.Helper()
	book := addrsOf(hosts...)
	for _, h := range hosts {
		if err := h.SetPeerAddrs(book); err != nil {
			t.Fatal(err)
		}
	}
}

func addrsOf(hosts ...*Host) map[peer.ID][]ma.Multiaddr {
	book := make(map[peer.ID][]ma.Multiaddr)
	for _, h := range hosts {
		book[h.ID()] = h.LibP2P().Addrs()
	}
	return book
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func allUp(hosts ...*Host) func() bool {
	return func() bool {
		for _, a := range hosts {
			for _, b := range hosts {
				if a != b && !a.IsUp(b.ID()) {
					return false
				}
			}
		}
		return true
	}
}

// hookLog records hook calls in order.
type hookLog struct {
	mu     sync.Mutex
	events []string
	infos  []PeerInfo
}

func (l *hookLog) hooks() Hooks {
	return Hooks{
		PeerUp: func(i PeerInfo) {
			l.mu.Lock()
			l.infos = append(l.infos, i)
			l.mu.Unlock()
			l.add("up " + i.ID.String())
		},
		PeerDown: func(p peer.ID) { l.add("down " + p.String()) },
	}
}

func (l *hookLog) info(p peer.ID) PeerInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, i := range l.infos {
		if i.ID == p {
			return i
		}
	}
	return PeerInfo{}
}

func (l *hookLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, s)
}

func (l *hookLog) of(p peer.ID) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.events {
		if e == "up "+p.String() || e == "down "+p.String() {
			out = append(out, e[:len(e)-len(p.String())-1])
		}
	}
	return out
}

// testInputs assigns kinds as the node does (exact 1, prefix 2, host 3).
func testInputs(exprs []string) ([]fedtoken.Input, error) {
	in := make([]fedtoken.Input, len(exprs))
	for i, x := range exprs {
		var k byte
		switch urlcanon.KindOf(x) {
		case urlcanon.KindExact:
			k = 1
		case urlcanon.KindPathPrefix:
			k = 2
		case urlcanon.KindHost:
			k = 3
		default:
			return nil, fmt.Errorf("not an expression: %q", x)
		}
		in[i] = fedtoken.Input{Kind: k, Expression: x}
	}
	return in, nil
}

func sampleExprs(n int) []string {
	out := make([]string, n)
	for i := range out {
		switch i % 3 {
		case 0:
			out[i] = fmt.Sprintf("site%d.example/", i)
		case 1:
			out[i] = fmt.Sprintf("site%d.example/dir/", i)
		default:
			out[i] = fmt.Sprintf("site%d.example/dir/page.html", i)
		}
	}
	return out
}

// echo is a test protocol whose handler counts who reached it.
const echoProtocol protocol.ID = "/vigie/test-echo/1.0.0"

type reached struct {
	mu    sync.Mutex
	peers []peer.ID
}

func (r *reached) handler(t testing.TB, members map[peer.ID]bool) StreamHandler {
	return func(_ context.Context, s network.Stream) {
		p := s.Conn().RemotePeer()
		r.mu.Lock()
		r.peers = append(r.peers, p)
		r.mu.Unlock()
		if !members[p] {
			t.Errorf("non-member %s reached an application handler", p)
		}
		buf := make([]byte, 16)
		n, _ := s.Read(buf)
		s.Write(buf[:n])
		s.Close()
	}
}

func (r *reached) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.peers)
}
