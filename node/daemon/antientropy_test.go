package daemon

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/node/reconcile"
	"github.com/vigie-project/vigie/node/syncengine"
	"github.com/vigie-project/vigie/node/syncnet"
	"github.com/vigie-project/vigie/protocol/record"
	"github.com/vigie-project/vigie/protocol/riblt"
)

// cursorInto returns d's persisted feed cursor into peer's log.
func cursorInto(t *testing.T, d, peer *Daemon) (syncengine.Cursor, bool) {
	t.Helper()
	cs, err := d.Node().SyncCursors()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if string(c.Peer) == peer.Host().ID().String() {
			return c.Cursor, true
		}
	}
	return syncengine.Cursor{}, false
}

// waitCursor waits until d has persisted a cursor into peer's current log
// epoch: what makes a rebuilt peer's new epoch a reset for d. (A cursor
// is persisted once the peer's feed or pushes moved it: a member that
// never receives anything from a peer, all its records coming from their
// origins directly, keeps none, and just feeds a rebuilt peer's new log
// from its start, skipping everything.)
func waitCursor(t *testing.T, d, peer *Daemon) {
	t.Helper()
	epoch, _, err := peer.Node().Store().LogHead()
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, d.Node().Agency().String()+"'s cursor into "+peer.Node().Agency().String(), func() bool {
		c, ok := cursorInto(t, d, peer)
		return ok && c.Epoch == syncengine.Epoch(epoch)
	})
}

// rebuild stops member i, deletes its store (its log gets a new epoch)
// and starts it again.
func rebuild(t *testing.T, l *Local, i int) {
	t.Helper()
	if err := l.Stop(i); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(l.Dir, l.Countries[i], "store")); err != nil {
		t.Fatal(err)
	}
	restart(t, l, i)
}

func restart(t *testing.T, l *Local, i int) {
	t.Helper()
	if err := l.Start(context.Background(), i, fast); err != nil {
		t.Fatal(err)
	}
	if err := l.Mesh(); err != nil {
		t.Fatal(err)
	}
	waitConnected(t, l)
}

func noRejections(t *testing.T, l *Local) {
	t.Helper()
	for _, d := range l.Members {
		if d == nil {
			continue
		}
		if c := d.Node().SyncCounters(); c.BundlesRejected != 0 || c.PolicyViolations != 0 {
			t.Fatalf("%s: %+v", d.Node().Agency(), c)
		}
		if s := d.AntiEntropyStats(); s.Failed != 0 || s.Rejected != 0 {
			t.Fatalf("%s: anti-entropy %+v", d.Node().Agency(), s)
		}
	}
}

// A member whose store was rebuilt is reconciled with by the others (its
// log epoch changed), and gets everything back by feeding from them.
func TestRebuiltMemberIsReconciledWith(t *testing.T) {
	l := startLocal(t, 1, 3, "FR", "DE", "IT")
	fr, de, it := l.Members[0], l.Members[1], l.Members[2]
	own := assertMany(t, de, "de-own", 5) // DE's pushes give FR and IT cursors into its log
	added := assertMany(t, fr, "rebuilt", 200)
	added = append(added, assertMany(t, it, "rebuilt-it", 10)...)
	eventually(t, 20*time.Second, "everyone has everything", holdsAll(l, append(added, own...)))
	waitCursor(t, fr, de)
	waitCursor(t, it, de)

	rebuild(t, l, 1)
	de = l.Members[1]
	if ok, _ := de.Node().Store().Has(added[0]); ok {
		t.Fatal("DE's store was not rebuilt")
	}
	eventually(t, 30*time.Second, "DE has everything again", holdsAll(l, added))
	eventually(t, 20*time.Second, "FR and IT reconciled with DE", func() bool {
		return fr.AntiEntropyStats().Sessions >= 1 && it.AntiEntropyStats().Sessions >= 1 && de.AntiEntropyStats().Served >= 2
	})
	// The reconciliations end: FR and IT feed from DE's new epoch again.
	waitCursor(t, fr, de)
	waitCursor(t, it, de)
	noRejections(t, l)
	// DE's own records are lost with its store: no peer sends an origin its
	// own records (the engine's relay rule), and DE, whose cursors are
	// gone with its store, gets no EpochReset and starts no session that
	// could find them. FR and IT keep them.
	eventually(t, 5*time.Second, "FR and IT still hold DE's records", holdsAll(l, own, 1))
	for _, d := range []*Daemon{fr, it} {
		s := d.AntiEntropyStats()
		t.Logf("%s: %+v", d.Node().Agency(), s)
		if s.Theirs != 0 || s.Fetched != 0 {
			t.Fatalf("%s fetched from a rebuilt DE that holds nothing it lacks: %+v", d.Node().Agency(), s)
		}
	}
}

// The case only anti-entropy covers: records whose origin has gone away
// reach a member that was offline only through a peer whose log has
// changed epoch meanwhile. FR's cursor into DE is from DE's old log, so DE
// answers EpochReset; FR reconciles, fetches IT's records from DE, and then
// feeds from DE past them.
func TestReconciliationFetchesWhatOnlyThePeerHolds(t *testing.T) {
	n := 2500 // above reconcile.DefaultMaxDifference: the range-based fallback runs
	if testing.Short() {
		n = 300
	}
	l := startLocal(t, 1, 3, "FR", "DE", "IT")
	fr, de := l.Members[0], l.Members[1]
	first := assertMany(t, de, "before", 5)
	eventually(t, 20*time.Second, "DE's first records everywhere", holdsAll(l, first))
	waitCursor(t, fr, de)

	if err := l.Stop(0); err != nil {
		t.Fatal(err)
	}
	it := l.Members[2]
	gone := assertMany(t, it, "gone", n)
	eventually(t, 60*time.Second, "DE has IT's records", holdsAll(l, gone, 0))
	rebuild(t, l, 1) // DE's new log holds IT's records again, by feed from IT
	eventually(t, 60*time.Second, "rebuilt DE has IT's records again", holdsAll(l, gone, 0))
	if err := l.Stop(2); err != nil { // IT goes away
		t.Fatal(err)
	}
	start := time.Now()
	restart(t, l, 0)
	fr = l.Members[0]
	eventually(t, 60*time.Second, "FR has IT's records", holdsAll(l, gone))
	took := time.Since(start)
	s := fr.AntiEntropyStats()
	t.Logf("FR, restarted, has %d records only DE held after %s; %+v", n, took.Round(time.Millisecond), s)
	if s.Sessions != 1 || s.Failed != 0 || s.Theirs != uint64(n) || s.Fetched != uint64(n) {
		t.Fatalf("FR's anti-entropy: %+v; want one session fetching %d records", s, n)
	}
	if fellBack := s.Fallbacks != 0; fellBack != (n > reconcile.DefaultMaxDifference) {
		t.Fatalf("fallback used: %v for %d differences", fellBack, n)
	}
	if got := l.Members[1].AntiEntropyStats().ServedRecords; got != uint64(n) {
		t.Fatalf("DE served %d records, want %d", got, n)
	}
	// FR then feeds from DE's new epoch, past what it reconciled.
	waitCursor(t, fr, l.Members[1])
	noRejections(t, l)
	// DE's own first records were lost with its store: they are not in the
	// difference FR fetches (FR holds them), and FR keeps them.
	eventually(t, 5*time.Second, "FR still holds DE's first records", holdsAll(l, first, 1))
}

func TestFetchWire(t *testing.T) {
	ids := []riblt.Symbol{{1}, {2, 3}, {31: 9}}
	got, err := decodeFetchRequest(encodeFetchRequest(ids))
	if err != nil || len(got) != 3 || got[2] != ids[2] {
		t.Fatalf("request round trip: %v %v", got, err)
	}
	for _, bad := range [][]byte{nil, {0}, {1}, append([]byte{2}, make([]byte, 33)...), {0x81, 0}, append([]byte{0x81, 0x04}, make([]byte, 513*32)...)} {
		if _, err := decodeFetchRequest(bad); !errors.Is(err, syncnet.ErrMalformed) {
			t.Fatalf("request %x: %v", bad, err)
		}
	}
	if _, err := decodeFetchRequest(encodeFetchRequest(make([]riblt.Symbol, maxFetchIDs+1))); err == nil {
		t.Fatal("a request above maxFetchIDs decoded")
	}
	resp, err := encodeFetchResponse(2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, bs, err := decodeFetchResponse(resp, 2); err != nil || n != 2 || len(bs) != 0 {
		t.Fatalf("response round trip: %d %v %v", n, bs, err)
	}
	for _, asked := range []int{1, 0} {
		if _, _, err := decodeFetchResponse(resp, asked); err == nil {
			t.Fatalf("2 answered of %d asked decoded", asked)
		}
	}
	zero, _ := encodeFetchResponse(0, nil)
	if _, _, err := decodeFetchResponse(zero, 3); err == nil {
		t.Fatal("a response answering nothing decoded")
	}
	hello, _ := syncnet.Encode([]byte{1}, &syncengine.Hello{Next: 1})
	if _, _, err := decodeFetchResponse(hello, 1); err == nil {
		t.Fatal("a response carrying a Hello decoded")
	}
}

// The worst a fetch step adds past the budget (fetchStep records of the
// largest size, each under its own manifest, with their proofs and wire
// framing) still fits in one sync message.
func TestFetchBudgetFitsTheWire(t *testing.T) {
	perRecord := 2*record.MaxRecordSize + record.MaxPlacementSize + 2*(1+128+1+256+3*9+2*4)
	if worst := fetchBudget + fetchStep*perRecord; worst > syncnet.MaxMessageBytes {
		t.Fatalf("a response may reach %d bytes, above the wire's %d", worst, syncnet.MaxMessageBytes)
	}
	if maxFetchIDs > 1024 || maxFetchRequest > 64<<10 {
		t.Fatalf("fetch requests too large: %d ids, %d bytes", maxFetchIDs, maxFetchRequest)
	}
}

func TestCIDIndex(t *testing.T) {
	var x cidIndex
	var cids []cid.Cid
	for i := range 100 {
		cids = append(cids, record.CIDOf([]byte{byte(i)}))
	}
	for _, c := range cids {
		x.entries = append(x.entries, indexEntry{id: reconcile.SymbolOf(c), cid: c})
	}
	sortIndex(&x)
	for _, c := range cids {
		if got, ok := x.lookup(reconcile.SymbolOf(c)); !ok || got != c {
			t.Fatalf("lookup of %s: %v %v", c, got, ok)
		}
	}
	if _, ok := x.lookup(riblt.Symbol{}); ok {
		t.Fatal("lookup of an unknown id")
	}
}

// FuzzFetchWire: whatever decodes re-encodes to the same bytes, and no
// input makes the decoders fail other than with ErrMalformed.
func FuzzFetchWire(f *testing.F) {
	f.Add(encodeFetchRequest([]riblt.Symbol{{1}, {2}}), 2)
	resp, _ := encodeFetchResponse(1, nil)
	f.Add(resp, 1)
	f.Add([]byte{0x80}, 1)
	f.Fuzz(func(t *testing.T, b []byte, asked int) {
		if ids, err := decodeFetchRequest(b); err == nil {
			if !bytes.Equal(encodeFetchRequest(ids), b) {
				t.Fatalf("request %x re-encodes differently", b)
			}
		} else if !errors.Is(err, syncnet.ErrMalformed) {
			t.Fatalf("request %x: %v", b, err)
		}
		asked = max(asked%(maxFetchIDs+1), 1)
		n, bs, err := decodeFetchResponse(b, asked)
		if err != nil {
			if !errors.Is(err, syncnet.ErrMalformed) {
				t.Fatalf("response %x: %v", b, err)
			}
			return
		}
		if n < 1 || n > asked {
			t.Fatalf("response %x: %d answered of %d", b, n, asked)
		}
		back, err := encodeFetchResponse(n, bs)
		if err != nil || !bytes.Equal(back, b) {
			t.Fatalf("response %x re-encodes as %x (%v)", b, back, err)
		}
	})
}
