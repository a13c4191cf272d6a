package syncnet

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/multiformats/go-varint"

	"github.com/vigie-project/vigie/node/p2p"
	"github.com/vigie-project/vigie/node/syncengine"
)

func peerOf(n *node) syncengine.PeerID { return syncengine.PeerID(n.host.ID().String()) }

// holdsExactly checks that st holds every body once and nothing else.
func holdsExactly(t *testing.T, who string, st *memStore, bodies []string) {
	t.Helper()
	recs := st.records()
	if len(recs) != len(bodies) {
		t.Errorf("%s holds %d records, want %d", who, len(recs), len(bodies))
	}
	for _, b := range bodies {
		if n := recs[cidOf([]byte(b))]; n != 1 {
			t.Errorf("%s holds %q %d times", who, b, n)
		}
	}
}

func holdsAll(st *memStore, bodies []string) func() bool {
	return func() bool {
		for _, b := range bodies {
			if !st.has(b) {
				return false
			}
		}
		return true
	}
}

// A announces 500 records; B and C store each exactly once. C goes away,
// A announces one more, and C, back with the same key and store, gets it
// by the catch-up feed.
func TestThreeNodes(t *testing.T) {
	f := newFederation(t, 3)
	a, b, c := f.start(t, 0, newMemStore()), f.start(t, 1, newMemStore()), f.start(t, 2, newMemStore())
	mesh(t, a.host, b.host, c.host)
	waitFor(t, 10*time.Second, "all up", allUp(a, b, c))

	var bodies []string
	for batch := range 50 {
		var bs []string
		for i := range 10 {
			bs = append(bs, fmt.Sprintf("record %d.%d", batch, i))
		}
		a.store.commit(f.agency[0], bs...)
		bodies = append(bodies, bs...)
	}
	waitFor(t, 10*time.Second, "B and C hold the 500 records", func() bool {
		return holdsAll(b.store, bodies)() && holdsAll(c.store, bodies)()
	})
	holdsExactly(t, "B", b.store, bodies)
	holdsExactly(t, "C", c.store, bodies)

	// C goes away; A announces while it is gone; B gets it by push.
	cStore := c.store
	c.stop(t)
	waitFor(t, 10*time.Second, "C down", func() bool { return !upWith(a, c) && !upWith(b, c) })
	a.store.commit(f.agency[0], "missed by C")
	bodies = append(bodies, "missed by C")
	waitFor(t, 10*time.Second, "B holds the new record", holdsAll(b.store, bodies))
	if cStore.has("missed by C") {
		t.Fatal("C got the record while down")
	}

	// C comes back on a new host with the same key and store: its engine
	// starts from the cursors it persisted and catches up by feed.
	c2 := f.start(t, 2, cStore)
	mesh(t, a.host, b.host, c2.host)
	waitFor(t, 10*time.Second, "C back up", allUp(a, b, c2))
	waitFor(t, 10*time.Second, "C holds the missed record", holdsAll(cStore, bodies))
	holdsExactly(t, "C after reconnection", cStore, bodies)
	// Nobody pushed it to C (it was announced, and relayed by B, while C
	// was down): it came by feed, from its origin (B does not relay to a
	// peer connected to the origin).
	if from := cStore.sender("missed by C"); from != peerOf(a) {
		t.Errorf("C got the missed record from %s, want A", from)
	}
	if st := c2.run.Stats(); st.Engine.FeedBatchesReceived == 0 {
		t.Errorf("C caught up without a feed batch: %+v", st.Engine)
	}
	ab := a.run.Stats().Peers[peerOf(b)]
	if ab.BytesSent == 0 || ab.MessagesReceived == 0 || ab.Sessions != 1 || ab.StreamFailures != 0 || ab.SendsDropped != 0 {
		t.Errorf("A's counters for B (one healthy session): %+v", ab)
	}
}

// A bundle the receiving node finds invalid is counted against the
// sender, and the sync goes on.
func TestInvalidBundleCounted(t *testing.T) {
	f := newFederation(t, 2)
	bst := newMemStore()
	bst.invalid = func(b syncengine.Bundle) bool { return string(b.Records[0].Bytes) == "bad" }
	a, b := f.start(t, 0, newMemStore()), f.start(t, 1, bst)
	mesh(t, a.host, b.host)
	waitFor(t, 10*time.Second, "up", allUp(a, b))

	a.store.commit(f.agency[0], "bad")
	a.store.commit(f.agency[0], "good")
	waitFor(t, 10*time.Second, "B holds the good record", holdsAll(bst, []string{"good"}))
	waitFor(t, 5*time.Second, "the invalid bundle counted", func() bool {
		return b.run.Stats().Peers[peerOf(a)].Invalid == 1
	})
	if bst.has("bad") {
		t.Error("B stored the invalid record")
	}
	if st := b.run.Stats(); st.Engine.RejectedInvalid != 1 {
		t.Errorf("engine counted %d invalid", st.Engine.RejectedInvalid)
	}
}

// A member that writes garbage on its sync stream gets its session reset
// and its connections closed; the receiver stores nothing and goes on.
func TestGarbageOnStream(t *testing.T) {
	f := newFederation(t, 2)
	a := f.start(t, 0, newMemStore())
	// D is a bare member host with no runner: it accepts A's stream and
	// discards what comes, and writes garbage of its own.
	d := startHost(t, f.keys[1], f.roster)
	d.Handle(ProtocolID, func(_ context.Context, s network.Stream) {
		io.Copy(io.Discard, s)
		s.Reset()
	})
	mesh(t, a.host, d)
	dPeer := syncengine.PeerID(d.ID().String())

	badCID := func() []byte {
		m, err := Encode(nil, &syncengine.Push{Bundles: sampleBundles(t)})
		if err != nil {
			t.Fatal(err)
		}
		// The first record's CID codec byte, after type, epoch, through,
		// count, hasManifest and the CID's length and version.
		m[1+16+1+1+1+1+1] = 0x55 // raw
		return m
	}()
	frames := map[string][]byte{
		"unknown type": varint.ToUvarint(3),
		"oversized":    varint.ToUvarint(MaxMessageBytes + 1),
		"bad cid":      append(varint.ToUvarint(uint64(len(badCID))), badCID...),
	}
	// A fresh stream reaches a fresh session only once A has seen D come
	// back up after the previous failure.
	want := uint64(0)
	for name, frame := range frames {
		sessions := want + 1
		waitFor(t, 10*time.Second, "D up at A ("+name+")", func() bool {
			st := a.run.Stats().Peers[dPeer]
			return st.Up && st.Sessions >= sessions && st.StreamFailures == want
		})
		s, err := d.NewStream(context.Background(), a.host.ID(), ProtocolID)
		if err != nil {
			t.Fatal(err)
		}
		if name == "unknown type" {
			frame = append(frame, 9, 1, 2)
		}
		if _, err := s.Write(frame); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want++
		waitFor(t, 10*time.Second, "A drops the stream ("+name+")", func() bool {
			return a.run.Stats().Peers[dPeer].Malformed == want
		})
		s.Reset()
	}
	if n, d := len(a.store.records()), a.store.deliveries(); n != 0 || d != 0 {
		t.Errorf("A stored %d records from garbage (%d deliveries)", n, d)
	}
	// A still works: D comes back up once more.
	waitFor(t, 10*time.Second, "D up again", func() bool {
		st := a.run.Stats().Peers[dPeer]
		return st.Up && st.Sessions > want
	})
}

// Stopping runners and closing hosts leaves no goroutine behind. A warm-up
// round first starts libp2p's process-wide helpers.
func TestRunnerStopsCleanly(t *testing.T) {
	round := func() {
		f := newFederation(t, 2)
		a, b := f.start(t, 0, newMemStore()), f.start(t, 1, newMemStore())
		mesh(t, a.host, b.host)
		waitFor(t, 10*time.Second, "up", allUp(a, b))
		a.store.commit(f.agency[0], "one", "two")
		waitFor(t, 10*time.Second, "sync", holdsAll(b.store, []string{"one", "two"}))
		a.stop(t)
		b.stop(t)
	}
	round()
	before := settledGoroutines(0)
	round()
	round()
	after := settledGoroutines(before + 3)
	if after > before+3 {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines: %d before, %d after two rounds\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}

// settledGoroutines waits up to two seconds for the count to fall to want
// (or to stop falling) and returns it.
func settledGoroutines(want int) int {
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m <= want || (want == 0 && m == n) {
			return m
		}
		n = m
	}
	return n
}

// New refuses budgets the wire cannot carry.
func TestNewChecksConfig(t *testing.T) {
	st := newMemStore()
	for _, cfg := range []syncengine.Config{
		{Origin: "FR/svc", Log: st, Policy: allowAll{}, MessageBytes: MaxMessageBytes},
		{Origin: "FR/svc", Log: st, Policy: allowAll{}, FeedRecords: MaxRecords},
		{Origin: "FR/svc", Policy: allowAll{}},
	} {
		if _, err := New(cfg, st); err == nil {
			t.Errorf("New accepted %+v", cfg)
		}
	}
}

var _ p2p.StreamHandler = (*Runner)(nil).serve
