package p2p

import (
	"context"
	"crypto/tls"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/quic-go/quic-go"
)

// The TLS stack libp2p uses for TCP negotiates the hybrid X25519MLKEM768
// key exchange: the host's own start-up check, run here on its own.
func TestTLSNegotiatesHybridKeyExchange(t *testing.T) {
	g, err := negotiatedGroup(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if g != tls.X25519MLKEM768 {
		t.Errorf("negotiated %v, want X25519MLKEM768", g)
	}
}

// A live QUIC connection between two hosts negotiated X25519MLKEM768. QUIC
// is the one transport whose TLS state libp2p lets us read.
func TestQUICConnectionIsPostQuantum(t *testing.T) {
	f := newFederation(t, 2, 1, 1)
	hosts := f.startMembers(t, []int{0, 1})
	a, b := hosts[0], hosts[1]
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	target := peer.AddrInfo{ID: b.ID(), Addrs: []ma.Multiaddr{addrOf(t, b.LibP2P().Addrs(), "quic-v1")}}
	if err := a.LibP2P().Connect(ctx, target); err != nil {
		t.Fatal(err)
	}
	conns := a.LibP2P().Network().ConnsToPeer(b.ID())
	if len(conns) == 0 {
		t.Fatal("no connection")
	}
	var qc *quic.Conn
	if !conns[0].As(&qc) {
		t.Fatalf("connection over %s is not QUIC", conns[0].ConnState().Transport)
	}
	st := qc.ConnectionState().TLS
	if st.CurveID != tls.X25519MLKEM768 || st.Version != tls.VersionTLS13 {
		t.Errorf("QUIC connection: key exchange %v, TLS version %x; want X25519MLKEM768 over TLS 1.3", st.CurveID, st.Version)
	}
}

// With the hybrid turned off (GODEBUG=tlsmlkem=0, read once at process
// start, hence the child process), the host refuses to start.
func TestRefusesClassicalKeyExchange(t *testing.T) {
	if os.Getenv("VIGIE_P2P_CLASSICAL_CHILD") == "1" {
		err := checkPostQuantum(context.Background())
		if !errors.Is(err, ErrNotPostQuantum) {
			t.Fatalf("check: %v, want ErrNotPostQuantum", err)
		}
		f := newFederation(t, 1, 1, 1)
		if _, err := New(context.Background(), f.keys[0], f.roster); !errors.Is(err, ErrNotPostQuantum) {
			t.Fatalf("New: %v, want ErrNotPostQuantum", err)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRefusesClassicalKeyExchange$", "-test.count=1")
	cmd.Env = append(os.Environ(), "VIGIE_P2P_CLASSICAL_CHILD=1", "GODEBUG=tlsmlkem=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
}
