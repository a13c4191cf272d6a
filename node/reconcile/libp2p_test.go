package reconcile

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/vigie-project/vigie/node/p2p"
	"github.com/vigie-project/vigie/node/p2p/p2ptest"
	"github.com/vigie-project/vigie/protocol/record"
)

// A real roster and real hosts on loopback (node/p2p/p2ptest).

type federation struct {
	roster *record.Roster
	keys   []crypto.PrivKey
}

func newFederation(t testing.TB, n int) *federation {
	t.Helper()
	f := p2ptest.New(t, "vigie-reconcile-test", n)
	return &federation{roster: f.Roster, keys: f.Keys}
}

func startHost(t testing.TB, key crypto.PrivKey, r *record.Roster) *p2p.Host {
	t.Helper()
	return p2ptest.Start(t, key, r)
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
