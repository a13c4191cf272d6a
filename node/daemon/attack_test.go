package daemon

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/vigie-project/vigie/crypto/hybrid"
	"github.com/vigie-project/vigie/crypto/merkle"
	"github.com/vigie-project/vigie/node/p2p"
	"github.com/vigie-project/vigie/node/store"
	"github.com/vigie-project/vigie/node/syncengine"
	"github.com/vigie-project/vigie/node/syncnet"
	"github.com/vigie-project/vigie/protocol/record"
)

// A member gone rogue (FR's peer key and agency key in an attacker's
// hands, speaking the sync protocol directly) sends DE forged, re-signed,
// replayed, malformed and oversized messages. DE stores nothing it should
// not, counts what it refused, and goes on syncing with the real FR.
func TestRogueMemberCannotHarmReceiver(t *testing.T) {
	ctx := context.Background()
	l := startLocal(t, 1, 2, "FR", "DE")
	fr, de := l.Members[0], l.Members[1]
	genuine, err := fr.Node().Assert(ctx, request("http://genuine.example/"))
	if err != nil {
		t.Fatal(err)
	}
	deOwn, err := de.Node().Assert(ctx, request("http://de-own.example/"))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "first records synced", holdsAll(l, []cid.Cid{genuine.Assertion, deOwn.Assertion}))
	frBundle := logBundle(t, fr, genuine.Assertion)
	deBundle := logBundle(t, de, deOwn.Assertion)
	frKey, err := hybrid.ReadKeyFile(filepath.Join(l.Dir, "genesis", "FR-ctu", "agency.key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Stop(0); err != nil {
		t.Fatal(err)
	}
	before, _ := de.Node().Store().Stats()

	rogue := rogueHost(t, l, 0, de)
	flipped := frBundle
	flipped.Records = []syncengine.Record{frBundle.Records[0]}
	flipped.Records[0].Bytes = bytes.Clone(frBundle.Records[0].Bytes)
	flipped.Records[0].Bytes[30] ^= 1
	pushes := []syncengine.Bundle{
		flipped,                        // forged: altered after signing
		resignedAs(t, frKey, deBundle), // DE's record under a manifest FR signed
		deBundle,                       // replay of DE's own record
		{Records: frBundle.Records},    // no manifest
	}
	s := rogue.open(t, de)
	for _, b := range pushes {
		rogue.send(t, s, &syncengine.Push{Bundles: []syncengine.Bundle{b}})
	}
	eventually(t, 10*time.Second, "DE refused the forgeries", func() bool {
		return de.Node().SyncCounters().BundlesRejected >= 2
	})
	// Garbage and an oversized frame: DE drops the stream, nothing more.
	s = rogue.open(t, de)
	_, _ = s.Write([]byte{0x05, 0xff, 0xff, 0xff, 0xff, 0x0f})
	s = rogue.open(t, de)
	_, _ = s.Write(binary.AppendUvarint(nil, syncnet.MaxMessageBytes+1))
	_, _ = s.Write(make([]byte, 64<<10))
	time.Sleep(500 * time.Millisecond)

	after, _ := de.Node().Store().Stats()
	if after.LogLength != before.LogLength {
		t.Fatalf("DE's log grew by %d entries from a rogue member", after.LogLength-before.LogLength)
	}
	if c := de.Node().SyncCounters(); c.RecordsAccepted != 1 || c.BundlesRejected != 3 {
		t.Fatalf("DE counters %+v: want the genuine record of before accepted and the 3 forgeries refused (the replay stores nothing)", c)
	}
	if st := de.SyncStats().Peers[syncengine.PeerID(fr.Host().ID().String())]; st.Invalid != 3 || st.Malformed == 0 {
		t.Fatalf("DE's view of FR %+v: want 3 invalid bundles and a malformed stream attributed to FR", st)
	}
	rogue.close()

	// The real FR comes back and sync goes on.
	if err := l.Start(ctx, 0, fast); err != nil {
		t.Fatal(err)
	}
	if err := l.Mesh(); err != nil {
		t.Fatal(err)
	}
	next, err := l.Members[0].Node().Assert(ctx, request("http://after.example/"))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "sync after the attack", holdsAll(l, []cid.Cid{next.Assertion}))
}

// logBundle is the bundle holding c as d's log serves it.
func logBundle(t *testing.T, d *Daemon, c cid.Cid) syncengine.Bundle {
	t.Helper()
	entries, err := d.Node().SyncLog().Range(0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range entries {
		if en.Record.Ref.CID.Equals(c) {
			return syncengine.Bundle{Manifest: en.Manifest, Records: []syncengine.Record{en.Record}}
		}
	}
	t.Fatalf("%s not in the log", c)
	return syncengine.Bundle{}
}

// resignedAs puts b's record under a manifest that key signs for its own
// agency (FR), keeping the record's own origin (DE): what a member would
// send to pass another's records off as its own.
func resignedAs(t *testing.T, key *hybrid.PrivateKey, b syncengine.Bundle) syncengine.Bundle {
	t.Helper()
	rec := b.Records[0]
	m := record.Manifest{Origin: record.Agency{Country: "FR", Org: "ctu"}, First: rec.Ref.Seq, Last: rec.Ref.Seq, Count: 1,
		Root: merkle.Root([][]byte{rec.Ref.CID.Bytes()}), Created: uint64(time.Now().Unix()), KeyID: key.Public().KeyID()}
	msg, err := m.SigningBytes()
	if err != nil {
		t.Fatal(err)
	}
	if m.Signature, err = key.Sign(record.ManifestContext, msg); err != nil {
		t.Fatal(err)
	}
	mb, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	mc := record.CIDOf(mb)
	p := record.Placement{Manifest: mc, Index: 0}
	proof, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	rec.Proof = proof
	return syncengine.Bundle{
		Manifest: &syncengine.Record{Ref: syncengine.RecordRef{CID: mc, Kind: store.KindManifest, Origin: "FR/ctu"}, Bytes: mb},
		Records:  []syncengine.Record{rec},
	}
}

// rogue is a raw host holding member i's peer key, outside any daemon.
type rogue struct{ h *p2p.Host }

func rogueHost(t *testing.T, l *Local, i int, target *Daemon) *rogue {
	t.Helper()
	key, err := p2p.LoadPeerKey(filepath.Join(l.NodeDir(i), "peer.key"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := p2p.New(context.Background(), key, target.Node().Roster(), p2p.WithListenAddrs("/ip4/127.0.0.1/udp/0/quic-v1"),
		p2p.WithPeerAddrs(map[peer.ID][]ma.Multiaddr{target.Host().ID(): target.Host().Addrs()}))
	if err != nil {
		t.Fatal(err)
	}
	// Accept DE's sync stream and read nothing from it.
	h.Handle(syncnet.ProtocolID, func(_ context.Context, s network.Stream) { _, _ = io.Copy(io.Discard, s) })
	eventually(t, 10*time.Second, "the rogue connected", func() bool { return h.IsUp(target.Host().ID()) })
	return &rogue{h: h}
}

func (r *rogue) open(t *testing.T, to *Daemon) network.Stream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := r.h.NewStream(ctx, to.Host().ID(), syncnet.ProtocolID)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (r *rogue) send(t *testing.T, s network.Stream, m syncengine.Msg) {
	t.Helper()
	b, err := syncnet.Encode(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	if err := p2p.WriteFrame(s, b, syncnet.MaxMessageBytes); err != nil && !errors.Is(err, network.ErrReset) {
		t.Fatal(err)
	}
}

func (r *rogue) close() { r.h.Close() }
