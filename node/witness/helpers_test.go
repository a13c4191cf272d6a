package witness

import (
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"

	"github.com/vigie-project/vigie/crypto/checkpoint"
	"github.com/vigie-project/vigie/crypto/merkle"
	"github.com/vigie-project/vigie/node/p2p"
	"github.com/vigie-project/vigie/node/p2p/p2ptest"
	"github.com/vigie-project/vigie/protocol/record"
)

// testLog is an origin: a node's audit log, reduced to an in-memory
// RFC 6962 tree and the node's two checkpoint keys.
type testLog struct {
	name      string
	tree      *testonly.Tree
	signers   []checkpoint.Signer
	verifiers []checkpoint.Verifier
	tag       string // makes this log's leaves differ from a fork's
}

func newTestLog(t testing.TB, name string) *testLog {
	t.Helper()
	l := &testLog{name: name, tree: testonly.New(rfc6962.DefaultHasher)}
	for _, typ := range []byte{checkpoint.TypeEd25519, checkpoint.TypeMLDSA44} {
		s, v := newKey(t, typ, name)
		l.signers, l.verifiers = append(l.signers, s), append(l.verifiers, v)
	}
	return l
}

// fork returns a log with the same keys and the first n leaves, whose
// later leaves differ from l's.
func (l *testLog) fork(n uint64) *testLog {
	f := &testLog{name: l.name, tree: testonly.New(rfc6962.DefaultHasher), signers: l.signers, verifiers: l.verifiers, tag: l.tag + "/fork"}
	for i := range n {
		f.tree.Append(l.tree.LeafHash(i))
	}
	return f
}

func newKey(t testing.TB, typ byte, name string) (checkpoint.Signer, checkpoint.Verifier) {
	t.Helper()
	skey, vkey, err := checkpoint.GenerateKey(rand.Reader, typ, name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := checkpoint.NewSigner(skey, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := checkpoint.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

// grow appends n leaves.
func (l *testLog) grow(n int) {
	for range n {
		l.tree.AppendData(fmt.Appendf(nil, "%s entry %d%s", l.name, l.tree.Size(), l.tag))
	}
}

func (l *testLog) root() merkle.Hash {
	var h merkle.Hash
	copy(h[:], l.tree.Hash())
	return h
}

// note signs the current tree head.
func (l *testLog) note(t testing.TB) []byte {
	t.Helper()
	n, err := checkpoint.SignCheckpoint(checkpoint.Checkpoint{Origin: l.name, Size: l.tree.Size(), Root: l.root()}, l.signers...)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// proof is the consistency proof from old to the current size.
func (l *testLog) proof(old uint64) ([]merkle.Hash, error) {
	if old == 0 || old == l.tree.Size() {
		return nil, nil
	}
	p, err := l.tree.ConsistencyProof(old, l.tree.Size())
	if err != nil {
		return nil, err
	}
	out := make([]merkle.Hash, len(p))
	for i := range p {
		copy(out[i][:], p[i])
	}
	return out, nil
}

func (l *testLog) request(t testing.TB, old uint64) *Request {
	t.Helper()
	p, err := l.proof(old)
	if err != nil {
		t.Fatal(err)
	}
	return &Request{OldSize: old, Proof: p, Note: l.note(t)}
}

// origins maps each log's name to its keys.
func origins(logs ...*testLog) OriginKeys {
	return func(origin string) ([]checkpoint.Verifier, error) {
		for _, l := range logs {
			if l.name == origin {
				return l.verifiers, nil
			}
		}
		return nil, fmt.Errorf("not in the roster")
	}
}

// testWitness is a witness with its key.
type testWitness struct {
	*Witness
	dir      string
	signer   checkpoint.Signer
	verifier checkpoint.Verifier
}

func openWitness(t testing.TB, dir string, signer checkpoint.Signer, keys OriginKeys, opts ...func(*Config)) *Witness {
	t.Helper()
	cfg := Config{Dir: dir, Cosigners: []checkpoint.Signer{signer}, Origins: keys}
	for _, o := range opts {
		o(&cfg)
	}
	w, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func newTestWitness(t testing.TB, name string, keys OriginKeys, opts ...func(*Config)) *testWitness {
	t.Helper()
	s, v := newKey(t, checkpoint.TypeEd25519Cosignature, name)
	dir := t.TempDir()
	return &testWitness{Witness: openWitness(t, dir, s, keys, opts...), dir: dir, signer: s, verifier: v}
}

// ---- real hosts on loopback ----

type federation struct {
	roster *record.Roster
	keys   []crypto.PrivKey
	ids    []peer.ID
}

var countries = []string{"AT", "AU", "BE", "BG", "CA", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GB", "GR", "HR",
	"HU", "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "US"}

func newFederation(t testing.TB, n int) *federation {
	t.Helper()
	f := p2ptest.New(t, "vigie-witness-test", n)
	return &federation{roster: f.Roster, keys: f.Keys, ids: f.IDs}
}

// start starts every member's host on loopback QUIC and tells each where
// the others listen.
func (f *federation) start(t testing.TB) []*p2p.Host {
	t.Helper()
	hosts := make([]*p2p.Host, len(f.keys))
	for i, k := range f.keys {
		hosts[i] = p2ptest.Start(t, k, f.roster, p2p.WithListenAddrs("/ip4/127.0.0.1/udp/0/quic-v1"))
	}
	p2ptest.Mesh(t, hosts...)
	return hosts
}
