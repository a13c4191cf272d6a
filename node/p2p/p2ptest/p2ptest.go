package p2ptest

import (
	"context"
	"crypto/rand"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/vigie-project/vigie/crypto/fedtoken"
	"github.com/vigie-project/vigie/crypto/hybrid"
	"github.com/vigie-project/vigie/node/p2p"
	"github.com/vigie-project/vigie/protocol/record"
)

// Countries name the members in order: the 31 states of the federation.
var countries = [...]string{"AT", "AU", "BE", "BG", "CA", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GB", "GR", "HR",
	"HU", "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "US"}

// Federation is a roster and each member's peer key, in member order
// (Keys[i], IDs[i] and Agencies[i] are member i).
type Federation struct {
	Roster   *record.Roster
	Keys     []crypto.PrivKey
	IDs      []peer.ID
	Agencies []record.Agency
}

// New builds a federation of n members (at most 31) named name.
func New(t testing.TB, name string, n int) *Federation {
	t.Helper()
	if n > len(countries) {
		t.Fatalf("p2ptest: at most %d members", len(countries))
	}
	group, _, err := fedtoken.Deal(rand.Reader, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	r := &record.Roster{Federation: name, Version: 1, ValidFrom: 1700000000, OPRFKey: group.Public, Threshold: 1, Shares: 1}
	f := &Federation{}
	for i := range n {
		key, _, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		id, err := peer.IDFromPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		var seed [hybrid.SeedSize]byte
		seed[0] = byte(i + 1)
		m := record.Member{
			Agency:     record.Agency{Country: countries[i], Org: "svc"},
			Name:       "Service " + countries[i],
			OrgType:    record.OrgPolice,
			PeerID:     id.String(),
			SigningKey: hybrid.NewKeyFromSeed(seed).Public().Bytes(),
			Roles:      []record.Role{record.RoleMember},
		}
		if i == 0 {
			m.Roles = []record.Role{record.RoleIssuer, record.RoleMember}
			m.ShareIndex, m.SharePublicKey = uint64(group.Shares[0].Index), group.Shares[0].Public
		}
		f.Keys, f.IDs, f.Agencies = append(f.Keys, key), append(f.IDs, id), append(f.Agencies, m.Agency)
		r.Members = append(r.Members, m)
	}
	slices.SortFunc(r.Members, func(a, b record.Member) int { return a.Agency.Compare(b.Agency) })
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	f.Roster = r
	return f
}

// Start starts a host for a member key, closed when the test ends. With no
// listen option it listens on loopback TCP and QUIC.
func Start(t testing.TB, key crypto.PrivKey, r *record.Roster, opts ...p2p.Option) *p2p.Host {
	t.Helper()
	base := []p2p.Option{p2p.WithListenAddrs("/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"),
		p2p.WithBackoff(20*time.Millisecond, 200*time.Millisecond)}
	h, err := p2p.New(context.Background(), key, r, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// Mesh tells every host where the others listen.
func Mesh(t testing.TB, hosts ...*p2p.Host) {
	t.Helper()
	book := map[peer.ID][]ma.Multiaddr{}
	for _, h := range hosts {
		book[h.ID()] = h.Addrs()
	}
	for _, h := range hosts {
		if err := h.SetPeerAddrs(book); err != nil {
			t.Fatal(err)
		}
	}
}
