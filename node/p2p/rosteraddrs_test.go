package p2p

import (
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
)

func TestRosterAddrs(t *testing.T) {
	f := newFederation(t, 3, 1, 1)
	f.roster.Members[0].Addrs = []string{"/ip4/127.0.0.1/tcp/4001", "/ip4/127.0.0.1/udp/4001/quic-v1"}
	got, err := RosterAddrs(f.roster)
	if err != nil {
		t.Fatal(err)
	}
	first, err := peer.Decode(f.roster.Members[0].PeerID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got[first]) != 2 || got[first][1].String() != "/ip4/127.0.0.1/udp/4001/quic-v1" {
		t.Fatalf("addresses of the first member: %v", got[first])
	}
	if len(got) != 1 {
		t.Fatalf("members without addresses got entries: %v", got)
	}
	f.roster.Members[1].Addrs = []string{"/ip4/999.0.0.1/tcp/1"}
	if _, err := RosterAddrs(f.roster); err == nil || !strings.Contains(err.Error(), f.roster.Members[1].Agency.String()) {
		t.Fatalf("bad address: %v, want an error naming the member", err)
	}
}
