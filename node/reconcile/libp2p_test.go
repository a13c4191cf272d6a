package reconcile

import (
	"context"
	"crypto/rand"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/vigie-project/vigie/crypto/fedtoken"
	"github.com/vigie-project/vigie/crypto/hybrid"
	"github.com/vigie-project/vigie/node/p2p"
	"github.com/vigie-project/vigie/protocol/record"
)

// Copied and trimmed from node/p2p/helpers_test.go: a real roster with a
// dealt OPRF key, and real hosts on loopback.

type federation struct {
	roster *record.Roster
	keys   []crypto.PrivKey
}

func newFederation(t testing.TB, n int) *federation {
	t.Helper()
	group, _, err := fedtoken.Deal(rand.Reader, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	r := &record.Roster{Federation: "vigie-reconcile-test", Version: 1, ValidFrom: 1700000000,
		OPRFKey: group.Public, Threshold: 1, Shares: 1}
	f := &federation{}
	countries := []string{"FR", "DE", "IT"}
	for i := range n {
		key, _, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		id, err := peer.IDFromPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		f.keys = append(f.keys, key)
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
		if i < group.Total {
			m.Roles = []record.Role{record.RoleIssuer, record.RoleMember}
			m.ShareIndex, m.SharePublicKey = uint64(group.Shares[i].Index), group.Shares[i].Public
		}
		r.Members = append(r.Members, m)
	}
	slices.SortFunc(r.Members, func(a, b record.Member) int { return a.Agency.Compare(b.Agency) })
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	f.roster = r
	return f
}

func startHost(t testing.TB, key crypto.PrivKey, r *record.Roster) *p2p.Host {
	t.Helper()
	h, err := p2p.New(context.Background(), key, r, p2p.WithListenAddrs("/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func TestOverLibp2p(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts real libp2p hosts")
	}
	f := newFederation(t, 2)
	a, b := startHost(t, f.keys[0], f.roster), startHost(t, f.keys[1], f.roster)
	book := map[peer.ID][]ma.Multiaddr{a.ID(): a.LibP2P().Addrs(), b.ID(): b.LibP2P().Addrs()}
	for _, h := range []*p2p.Host{a, b} {
		if err := h.SetPeerAddrs(book); err != nil {
			t.Fatal(err)
		}
	}
	setA, setB, onlyA, onlyB := sets(42, 10_000, 300, 200)
	served := make(chan error, 2)
	b.Handle(ProtocolID, func(ctx context.Context, s network.Stream) {
		err := Respond(ctx, s, Slice(setB))
		if err != nil {
			s.Reset()
		} else {
			s.Close()
		}
		served <- err
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, opts := range [][]Option{nil, {WithMaxDifference(8)}} {
		s, err := a.NewStream(ctx, b.ID(), ProtocolID)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Initiate(ctx, s, Slice(setA), opts...)
		if err != nil {
			s.Reset()
			t.Fatal(err)
		}
		s.Close()
		if err := <-served; err != nil {
			t.Fatalf("responder: %v", err)
		}
		sameIDs(t, "theirs", res.Theirs, onlyB)
		sameIDs(t, "ours", res.Ours, onlyA)
		t.Logf("over libp2p (fallback %v): %d rounds, %d B up, %d B down", res.Fallback, res.Rounds, res.BytesSent, res.BytesReceived)
	}
}
