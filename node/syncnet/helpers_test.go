package syncnet

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/multiformats/go-multihash"
	"github.com/sirupsen/logrus"

	"github.com/vigie-project/vigie/node/p2p"
	"github.com/vigie-project/vigie/node/p2p/p2ptest"
	"github.com/vigie-project/vigie/node/syncengine"
	"github.com/vigie-project/vigie/protocol/record"
)

// federation is a real one (node/p2p/p2ptest): real peer keys, a roster
// that passes record's checks, real libp2p hosts on loopback.
type federation struct {
	roster *record.Roster
	keys   []crypto.PrivKey
	ids    []peer.ID
	agency []string
}

func newFederation(t testing.TB, n int) *federation {
	t.Helper()
	f := p2ptest.New(t, "vigie-syncnet-test", n)
	out := &federation{roster: f.Roster, keys: f.Keys, ids: f.IDs}
	for _, a := range f.Agencies {
		out.agency = append(out.agency, a.String())
	}
	return out
}

// startHost starts a TCP-only loopback host (a closed host then refuses
// dials at once) with fast reconnection.
func startHost(t testing.TB, key crypto.PrivKey, r *record.Roster, opts ...p2p.Option) *p2p.Host {
	t.Helper()
	return p2ptest.Start(t, key, r, append([]p2p.Option{p2p.WithListenAddrs("/ip4/127.0.0.1/tcp/0")}, opts...)...)
}

// node is a member running a Runner over a memStore.
type node struct {
	i      int
	store  *memStore
	run    *Runner
	host   *p2p.Host
	cancel context.CancelFunc
	done   chan error
}

func (f *federation) start(t testing.TB, i int, st *memStore) *node {
	t.Helper()
	cfg := syncengine.Config{Origin: f.agency[i], Log: st, Policy: allowAll{}}
	r, err := New(cfg, st, WithLogger(testLogger(t, f.agency[i])))
	if err != nil {
		t.Fatal(err)
	}
	st.attach(r)
	h := startHost(t, f.keys[i], f.roster, p2p.WithHooks(r.Hooks()))
	ctx, cancel := context.WithCancel(context.Background())
	n := &node{i: i, store: st, run: r, host: h, cancel: cancel, done: make(chan error, 1)}
	go func() { n.done <- r.Run(ctx, h) }()
	t.Cleanup(func() { n.stop(t) })
	return n
}

// stop ends the runner, then the host; it may be called twice.
func (n *node) stop(t testing.TB) {
	t.Helper()
	if n.cancel == nil {
		return
	}
	n.cancel()
	n.cancel = nil
	select {
	case err := <-n.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("Run did not return")
	}
	n.host.Close()
}

func testLogger(t testing.TB, who string) *logrus.Entry {
	l := logrus.New()
	l.SetLevel(logrus.WarnLevel)
	l.SetOutput(testWriter{t})
	return logrus.NewEntry(l).WithField("node", who)
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// mesh tells every host where the others listen.
func mesh(t testing.TB, hosts ...*p2p.Host) {
	t.Helper()
	book := map[peer.ID][]ma.Multiaddr{}
	for _, h := range hosts {
		book[h.ID()] = h.LibP2P().Addrs()
	}
	for _, h := range hosts {
		if err := h.SetPeerAddrs(book); err != nil {
			t.Fatal(err)
		}
	}
}

func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// upWith reports whether n's runner has a live session with every other.
func upWith(n *node, others ...*node) bool {
	st := n.run.Stats()
	for _, o := range others {
		if !st.Peers[syncengine.PeerID(o.host.ID().String())].Up {
			return false
		}
	}
	return true
}

func allUp(nodes ...*node) func() bool {
	return func() bool {
		for _, n := range nodes {
			var others []*node
			for _, o := range nodes {
				if o != n {
					others = append(others, o)
				}
			}
			if !upWith(n, others...) {
				return false
			}
		}
		return true
	}
}

type allowAll struct{}

func (allowAll) MayShare(syncengine.PeerID, *syncengine.Record) bool  { return true }
func (allowAll) MayAccept(syncengine.PeerID, *syncengine.Record) bool { return true }

// memStore is a node's store and local log in memory. Records are
// arbitrary bytes named CIDv1(dag-cbor, sha256(bytes)); a manifest is
// "man|origin|cid,cid,..." over the records it covers.
type memStore struct {
	mu        sync.Mutex
	epoch     syncengine.Epoch
	entries   []syncengine.Entry // entries[i] has Index i+1
	byCID     map[cid.Cid]uint64
	manifests map[cid.Cid]*syncengine.Record
	cursors   map[syncengine.PeerID]syncengine.Cursor
	delivers  int
	from      map[cid.Cid]syncengine.PeerID // who sent each stored record
	// invalid marks bundles the node refuses for good.
	invalid func(syncengine.Bundle) bool
	run     *Runner
}

func newMemStore() *memStore {
	s := &memStore{byCID: map[cid.Cid]uint64{}, manifests: map[cid.Cid]*syncengine.Record{}, cursors: map[syncengine.PeerID]syncengine.Cursor{}, from: map[cid.Cid]syncengine.PeerID{}}
	rand.Read(s.epoch[:])
	return s
}

func (s *memStore) attach(r *Runner) {
	s.mu.Lock()
	s.run = r
	s.mu.Unlock()
}

func (s *memStore) Head() (syncengine.Epoch, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.epoch, uint64(len(s.entries)) + 1
}

func (s *memStore) Range(after uint64, limit int) ([]syncengine.Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if after >= uint64(len(s.entries)) {
		return nil, nil
	}
	end := min(uint64(len(s.entries)), after+uint64(limit))
	return slices.Clone(s.entries[after:end]), nil
}

func (s *memStore) Cursors() ([]syncengine.PeerCursor, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []syncengine.PeerCursor
	for p, c := range s.cursors {
		out = append(out, syncengine.PeerCursor{Peer: p, Cursor: c})
	}
	return out, nil
}

func (s *memStore) SaveCursor(_ context.Context, c syncengine.PeerCursor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cursors[c.Peer] = c.Cursor
	return nil
}

var errBadBundle = errors.New("bundle does not verify")

// verify checks what a real node would: names match bytes, and the
// manifest covers every record.
func verify(b syncengine.Bundle) error {
	if b.Manifest == nil || cidOf(b.Manifest.Bytes) != b.Manifest.Ref.CID {
		return errBadBundle
	}
	parts := strings.Split(string(b.Manifest.Bytes), "|")
	if len(parts) != 3 || parts[0] != "man" {
		return errBadBundle
	}
	covers := strings.Split(parts[2], ",")
	for _, r := range b.Records {
		if cidOf(r.Bytes) != r.Ref.CID || !slices.Contains(covers, r.Ref.CID.String()) || r.Ref.Origin != parts[1] {
			return errBadBundle
		}
	}
	return nil
}

func (s *memStore) Deliver(_ context.Context, from syncengine.PeerID, _ string, b syncengine.Bundle) ([]syncengine.RecordRef, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delivers++
	if err := verify(b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if s.invalid != nil && s.invalid(b) {
		return nil, fmt.Errorf("%w: refused by the test", ErrInvalid)
	}
	stored := s.put(b)
	for _, ref := range stored {
		s.from[ref.CID] = from
	}
	return stored, nil
}

// put logs the records of b not held yet, then its manifest if new, and
// returns the refs appended.
func (s *memStore) put(b syncengine.Bundle) []syncengine.RecordRef {
	man := s.manifests[b.Manifest.Ref.CID]
	newMan := man == nil
	if newMan {
		cp := *b.Manifest
		cp.Ref = syncengine.RecordRef{CID: cp.Ref.CID, Kind: syncengine.KindManifest, Origin: cp.Ref.Origin}
		man = &cp
	}
	var stored []syncengine.RecordRef
	for _, r := range b.Records {
		if _, ok := s.byCID[r.Ref.CID]; ok {
			continue
		}
		r.Ref = syncengine.RecordRef{CID: r.Ref.CID, Kind: r.Ref.Kind, Origin: r.Ref.Origin, Seq: r.Ref.Seq}
		r.Proof = nil
		stored = append(stored, s.append(r, man))
	}
	if newMan && len(stored) > 0 {
		s.manifests[man.Ref.CID] = man
		stored = append(stored, s.append(*man, nil))
		man.Ref.LogIndex = stored[len(stored)-1].LogIndex
	}
	return stored
}

func (s *memStore) append(r syncengine.Record, man *syncengine.Record) syncengine.RecordRef {
	r.Ref.LogIndex = uint64(len(s.entries)) + 1
	s.entries = append(s.entries, syncengine.Entry{Index: r.Ref.LogIndex, Record: r, Manifest: man})
	s.byCID[r.Ref.CID] = r.Ref.LogIndex
	return r.Ref
}

// commit stores a batch of our own records and announces it, under the
// lock, so that announcements follow log order.
func (s *memStore) commit(origin string, bodies ...string) {
	recs := make([]syncengine.Record, len(bodies))
	cids := make([]string, len(bodies))
	for i, body := range bodies {
		b := []byte(body)
		recs[i] = syncengine.Record{Ref: syncengine.RecordRef{CID: cidOf(b), Kind: syncengine.KindAssertion, Origin: origin}, Bytes: b}
		cids[i] = recs[i].Ref.CID.String()
	}
	mb := fmt.Appendf(nil, "man|%s|%s", origin, strings.Join(cids, ","))
	man := &syncengine.Record{Ref: syncengine.RecordRef{CID: cidOf(mb), Kind: syncengine.KindManifest, Origin: origin}, Bytes: mb}
	s.mu.Lock()
	defer s.mu.Unlock()
	stored := s.put(syncengine.Bundle{Manifest: man, Records: recs})
	out := syncengine.Bundle{Manifest: s.manifests[man.Ref.CID]}
	for _, ref := range stored {
		if ref.Kind != syncengine.KindManifest {
			out.Records = append(out.Records, s.entries[ref.LogIndex-1].Record)
		}
	}
	s.run.Announce([]syncengine.Bundle{out})
}

// records returns how many times each non-manifest record is in the log.
func (s *memStore) records() map[cid.Cid]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[cid.Cid]int{}
	for _, e := range s.entries {
		if e.Record.Ref.Kind != syncengine.KindManifest {
			out[e.Record.Ref.CID]++
		}
	}
	return out
}

func (s *memStore) deliveries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.delivers
}

func (s *memStore) sender(body string) syncengine.PeerID {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.from[cidOf([]byte(body))]
}

func (s *memStore) has(body string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.byCID[cidOf([]byte(body))]
	return ok
}

func cidOf(b []byte) cid.Cid {
	mh, err := multihash.Sum(b, multihash.SHA2_256, -1)
	if err != nil {
		panic(err)
	}
	return cid.NewCidV1(cid.DagCBOR, mh)
}
