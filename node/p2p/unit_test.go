package p2p

import (
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoremem"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"
)

func TestBackoff(t *testing.T) {
	min, max := time.Second, time.Minute
	want := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60} // seconds, before jitter
	for i, w := range want {
		w *= time.Second
		if got := backoff(i, min, max, 0); got != w {
			t.Errorf("attempt %d: %v, want %v", i, got, w)
		}
		if got := backoff(i, min, max, 0.999); got < w || got >= w+w/2 {
			t.Errorf("attempt %d with jitter: %v, want in [%v, %v)", i, got, w, w+w/2)
		}
	}
	if got := backoff(1000, min, max, 0); got != max {
		t.Errorf("attempt 1000: %v, want the cap", got)
	}
}

func TestDailyLimiter(t *testing.T) {
	l := newDailyLimiter(64)
	a, b := peer.ID("a"), peer.ID("b")
	day := time.Date(2026, 3, 1, 23, 59, 0, 0, time.UTC)
	for i := range 2 {
		if ok, _ := l.take(a, 32, day); !ok {
			t.Fatalf("batch %d refused within budget", i)
		}
	}
	if ok, used := l.take(a, 32, day); ok || used != 64 {
		t.Errorf("third batch: ok %v, used %d", ok, used)
	}
	if ok, _ := l.take(b, 32, day); !ok {
		t.Error("one peer's budget affected another")
	}
	// Midnight UTC, whatever the local zone of the clock.
	paris := time.FixedZone("CET", 3600)
	if ok, _ := l.take(a, 32, day.Add(2*time.Minute).In(paris)); !ok {
		t.Error("the budget did not renew at midnight UTC")
	}
}

func TestLoadPeerKey(t *testing.T) {
	dir := t.TempDir()
	key, id := newPeerKey(t)
	data, err := crypto.MarshalPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "peer.key")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := LoadPeerKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if gotID, _ := peer.IDFromPrivateKey(got); gotID != id {
		t.Errorf("loaded %s, want %s", gotID, id)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPeerKey(path); !errors.Is(err, ErrPeerKeyPermissions) {
		t.Errorf("readable by others: %v", err)
	}
	secp, _, err := crypto.GenerateSecp256k1Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := crypto.MarshalPrivateKey(secp)
	for name, b := range map[string][]byte{"secp256k1": other, "garbage": []byte("not a key"), "empty": nil} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadPeerKey(p); !errors.Is(err, ErrPeerKeyFormat) {
			t.Errorf("%s: %v, want ErrPeerKeyFormat", name, err)
		}
	}
	if _, err := LoadPeerKey(filepath.Join(dir, "missing")); err == nil {
		t.Error("loaded a missing file")
	}
}

func TestHelloCodec(t *testing.T) {
	m := hello{Federation: "eu-tco", RosterVersion: 7}
	b, err := m.encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeHello(b)
	if err != nil || got != m {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for name, bad := range map[string][]byte{
		"garbage":   []byte("hello"),
		"truncated": b[:len(b)-1],
		"trailing":  append(append([]byte(nil), b...), 0),
	} {
		if _, err := decodeHello(bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// The limits are the numbers announced, and what is not announced is
// blocked rather than left to libp2p's defaults.
func TestLimits(t *testing.T) {
	l := Limits{}.withDefaults(31)
	lim := rcmgr.NewFixedLimiter(l.config())
	checks := []struct {
		name      string
		got, want int
	}{
		{"capacity", l.Capacity, 62},
		{"system conns", lim.GetSystemLimits().GetConnTotalLimit(), 62*4 + 32},
		{"system streams", lim.GetSystemLimits().GetStreamTotalLimit(), 62 * 32},
		{"peer conns", lim.GetPeerLimits("x").GetConnTotalLimit(), 4},
		{"peer inbound streams", lim.GetPeerLimits("x").GetStreamLimit(network.DirInbound), 32},
		{"token streams per peer", lim.GetProtocolPeerLimits(TokenProtocol).GetStreamLimit(network.DirInbound), 4},
		{"other protocol streams per peer", lim.GetProtocolPeerLimits(HelloProtocol).GetStreamLimit(network.DirInbound), 32},
		{"transient conns", lim.GetTransientLimits().GetConnTotalLimit(), 32},
		{"conn scope", lim.GetConnLimits().GetConnTotalLimit(), 1},
		{"stream scope", lim.GetStreamLimits("x").GetStreamTotalLimit(), 1},
		{"no FD per stream", lim.GetStreamLimits("x").GetFDLimit(), 0},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d", c.name, c.got, c.want)
		}
	}
}

// Metrics, off by default, can be exported to a registry of the node's.
func TestMetricsOnRequest(t *testing.T) {
	f := newFederation(t, 2, 1, 1)
	reg := prometheus.NewRegistry()
	a := startHost(t, f.keys[0], f.roster, WithMetrics(reg))
	b := startHost(t, f.keys[1], f.roster)
	meshAddrs(t, a, b)
	waitFor(t, 5*time.Second, "up", allUp(a, b))
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, fam := range families {
		names[fam.GetName()] = true
	}
	for _, want := range []string{"libp2p_rcmgr_connections", "libp2p_swarm_connections_opened_total"} {
		if !names[want] {
			t.Errorf("metric %s not exported (have %d families)", want, len(names))
		}
	}
}

func TestAddressBookChecksPeerIDs(t *testing.T) {
	_, a := newPeerKey(t)
	_, b := newPeerKey(t)
	good, _ := ma.NewMultiaddr("/ip4/192.0.2.1/tcp/4001/p2p/" + a.String())
	got, err := transportAddrs(a, []ma.Multiaddr{good})
	if err != nil || got[0].String() != "/ip4/192.0.2.1/tcp/4001" {
		t.Errorf("own id: %v, %v", got, err)
	}
	if _, err := transportAddrs(b, []ma.Multiaddr{good}); err == nil {
		t.Error("accepted an address naming another peer")
	}
	entry, ok := allowEntry(a, good)
	if !ok || entry.String() != "/ip4/192.0.2.1/p2p/"+a.String() {
		t.Errorf("allow-list entry %v", entry)
	}
	dns, _ := ma.NewMultiaddr("/dns4/node.example/tcp/4001")
	if _, ok := allowEntry(a, dns); ok {
		t.Error("a DNS name cannot be allow-listed")
	}
}

// A roster adopted later brings the addresses of members added by it;
// addresses set by hand for the others stay.
func TestAddressBookAddsOnlyMissingPeers(t *testing.T) {
	_, a := newPeerKey(t)
	_, b := newPeerKey(t)
	rm, err := newResourceManager(Limits{}.withDefaults(2), false)
	if err != nil {
		t.Fatal(err)
	}
	defer rm.Close()
	ps, err := pstoremem.NewPeerstore()
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	book := newAddrBook(ps, rm)
	local, _ := ma.NewMultiaddr("/ip4/127.0.0.1/tcp/1234")
	rosterA, _ := ma.NewMultiaddr("/ip4/192.0.2.1/tcp/4001")
	rosterB, _ := ma.NewMultiaddr("/ip4/192.0.2.2/tcp/4001")
	if _, err := book.replace(map[peer.ID][]ma.Multiaddr{a: {local}}); err != nil {
		t.Fatal(err)
	}
	added := book.addMissing(map[peer.ID][]ma.Multiaddr{a: {rosterA}, b: {rosterB}})
	if len(added) != 1 || added[0] != b {
		t.Fatalf("added %v, want only the new member", added)
	}
	if got := book.addrs[a]; len(got) != 1 || !got[0].Equal(local) {
		t.Fatalf("a's addresses became %v", got)
	}
	if got := book.addrs[b]; len(got) != 1 || !got[0].Equal(rosterB) {
		t.Fatalf("b's addresses are %v", got)
	}
}
