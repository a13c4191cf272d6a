package daemon

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/vigie-project/vigie/crypto/hybrid"
	"github.com/vigie-project/vigie/node"
	"github.com/vigie-project/vigie/node/p2p"
	"github.com/vigie-project/vigie/protocol/record"
)

// Members of the roster tests, in LocalOptions order. Every one is an
// issuer (threshold 2 of 4); sorted by agency IT holds share 4, the
// highest, so it can be removed without a resharing ceremony.
const (
	iFR, iDE, iIT, iES = 0, 1, 2, 3
)

func startRosterLocal(t *testing.T, perMember func(int, string) []Option) *Local {
	t.Helper()
	if perMember == nil {
		perMember = fast
	}
	l, err := StartLocal(context.Background(), t.TempDir(), LocalOptions{Countries: []string{"FR", "DE", "IT", "ES"},
		Threshold: 2, Issuers: 4, PerMember: perMember})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// What Daemon.Close should do first: no fetch outlives the host.
		for _, d := range l.Members {
			if d != nil {
				d.stopRosterSync()
			}
		}
		l.Close()
	})
	waitConnected(t, l)
	return l
}

// amendRoster drafts the version after the current roster of l's first
// member with the member of country remove removed, signed by the
// members of countries signers with their genesis agency keys.
func amendRoster(t *testing.T, l *Local, remove string, signers ...string) []byte {
	t.Helper()
	next, err := node.AmendRoster(l.Members[iFR].Node().Roster(), nil, []record.Agency{{Country: remove, Org: "ctu"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range signers {
		key, err := hybrid.ReadKeyFile(filepath.Join(l.Dir, "genesis", c+"-ctu", "agency.key"))
		if err != nil {
			t.Fatal(err)
		}
		if err := next.Sign(key, record.Agency{Country: c, Org: "ctu"}); err != nil {
			t.Fatal(err)
		}
	}
	data, err := next.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func upWith(l *Local, i, j int) bool {
	return l.Members[i].Host().IsUp(l.Members[j].Host().ID())
}

func refusedInbound(l *Local, skip int) uint64 {
	var n uint64
	for i, d := range l.Members {
		if i != skip {
			n += d.Host().Stats().RefusedInbound
		}
	}
	return n
}

// IT is removed by roster version 2, adopted at FR only: FR cuts IT off at
// once, DE and ES learn version 2 from FR and cut IT off too, a record
// asserted afterwards reaches DE and ES but not IT, and IT cannot
// reconnect.
func TestRosterRemovalCutsMemberOff(t *testing.T) {
	logger, logs := logtest.NewNullLogger()
	logger.SetLevel(logrus.InfoLevel)
	l := startRosterLocal(t, func(i int, c string) []Option {
		opts := fast(i, c)
		if i == iFR {
			opts = append(opts, WithLogger(logrus.NewEntry(logger)))
		}
		return opts
	})
	fr, de, it, es := l.Members[iFR], l.Members[iDE], l.Members[iIT], l.Members[iES]
	ctx := context.Background()

	data := amendRoster(t, l, "IT", "FR", "DE", "ES")
	change, err := fr.AdoptRoster(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	if change.From != 1 || change.Version != 2 || len(change.Added) != 0 || len(change.Removed) != 1 || change.Removed[0].Agency.Country != "IT" {
		t.Fatalf("change %+v", change)
	}

	// (a) FR drops IT at once, and IT loses FR.
	eventually(t, 10*time.Second, "FR drops IT", func() bool { return !upWith(l, iFR, iIT) && !upWith(l, iIT, iFR) })

	// (b) DE and ES learn version 2 from FR and drop IT.
	for _, i := range []int{iDE, iES} {
		d := l.Members[i]
		eventually(t, 10*time.Second, d.Node().Agency().String()+" at roster version 2", func() bool { return d.Node().Roster().Version == 2 })
		eventually(t, 10*time.Second, d.Node().Agency().String()+" drops IT", func() bool { return !upWith(l, i, iIT) && !upWith(l, iIT, i) })
		if _, err := os.Stat(filepath.Join(l.NodeDir(i), "rosters", "roster-2.cbor")); err != nil {
			t.Fatal(err)
		}
	}
	if it.Node().Roster().Version != 1 {
		t.Fatal("IT learnt the roster that removes it")
	}
	for _, d := range []*Daemon{fr, de, es} {
		if !d.Host().IsUp(fr.Host().ID()) && d != fr {
			t.Fatalf("%s lost FR", d.Node().Agency())
		}
		if st := d.RosterStats(); st.Adopted != 1 || st.Failed != 0 {
			t.Fatalf("%s: %+v", d.Node().Agency(), st)
		}
	}

	// (c) A record FR asserts now reaches DE and ES, never IT. Tokens come
	// from the new roster's three issuers.
	a, err := fr.Node().Assert(ctx, request("http://after-removal.example/page.html"))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "DE and ES hold FR's new assertion", holdsAll(l, []cid.Cid{a.Assertion}, iIT))
	time.Sleep(500 * time.Millisecond)
	if ok, err := it.Node().Store().Has(a.Assertion); err != nil || ok {
		t.Fatalf("IT holds FR's assertion made after its removal (%v)", err)
	}

	// (d) IT cannot reconnect: its dials are refused by the gates, and a
	// stream it opens fails.
	before := refusedInbound(l, iIT)
	eventually(t, 5*time.Second, "the gates refuse IT's reconnections", func() bool { return refusedInbound(l, iIT) > before })
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if s, err := it.Host().NewStream(sctx, fr.Host().ID(), RosterProtocol); err == nil {
		// TLS 1.3 lets the dialer finish first; FR's gate then closes it.
		_, rerr := s.Read(make([]byte, 1))
		s.Reset()
		if rerr == nil {
			t.Fatal("IT read from FR after its removal")
		}
	}
	time.Sleep(300 * time.Millisecond)
	for _, i := range []int{iFR, iDE, iES} {
		if upWith(l, i, iIT) || upWith(l, iIT, i) {
			t.Fatalf("IT is up with %s again", l.Members[i].Node().Agency())
		}
	}

	// The adoption log says versions and agencies, nothing else.
	var found bool
	for _, e := range logs.AllEntries() {
		if e.Data["event"] != "roster_adopted" {
			continue
		}
		found = true
		var keys []string
		for k := range e.Data {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, []string{"added", "event", "from", "removed", "version"}) ||
			!slices.Equal(e.Data["removed"].([]string), []string{"IT/ctu"}) || len(e.Data["added"].([]string)) != 0 {
			t.Fatalf("adoption log %v", e.Data)
		}
	}
	if !found {
		t.Fatal("FR did not log the adoption")
	}
}

// A member that was down when the federation moved to version 2 learns it
// from the first peer whose hello says so.
func TestRosterLearntOnReconnect(t *testing.T) {
	l := startRosterLocal(t, nil)
	ctx := context.Background()
	if err := l.Stop(iES); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Members[iFR].AdoptRoster(ctx, amendRoster(t, l, "IT", "FR", "DE", "ES")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "DE at roster version 2", func() bool { return l.Members[iDE].Node().Roster().Version == 2 })
	if err := l.Start(ctx, iES, fast); err != nil {
		t.Fatal(err)
	}
	if err := l.Mesh(); err != nil {
		t.Fatal(err)
	}
	es := l.Members[iES]
	eventually(t, 10*time.Second, "ES at roster version 2", func() bool { return es.Node().Roster().Version == 2 })
	eventually(t, 5*time.Second, "ES up with FR and DE, not IT", func() bool {
		return upWith(l, iES, iFR) && upWith(l, iES, iDE) && !upWith(l, iES, iIT) && !upWith(l, iIT, iES)
	})
	if st := es.RosterStats(); st.Adopted != 1 || st.Failed != 0 {
		t.Fatalf("ES: %+v", st)
	}
}

// A roster signed by too few members, offered by a peer, is refused and
// changes nothing, whichever way the peer offers it.
func TestRosterWithoutQuorumRefused(t *testing.T) {
	l := startRosterLocal(t, nil)
	fr, de := l.Members[iFR], l.Members[iDE]
	ctx := context.Background()
	bad := amendRoster(t, l, "IT", "DE", "ES") // 2 of 4: not a strict majority

	// DE serves the bad roster to whoever asks.
	de.Host().Handle(RosterProtocol, func(_ context.Context, s network.Stream) {
		_ = s.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := p2p.ReadFrame(s, maxRosterRequest); err != nil {
			s.Reset()
			return
		}
		if err := p2p.WriteFrame(s, bad, record.MaxRosterSize); err != nil {
			s.Reset()
			return
		}
		s.Close()
	})
	rosterFile := filepath.Join(l.NodeDir(iFR), "roster.cbor")
	before, err := os.ReadFile(rosterFile)
	if err != nil {
		t.Fatal(err)
	}
	deID := de.Host().ID()

	// Asked directly.
	if err := fr.fetchRosters(ctx, deID, 2); !errors.Is(err, node.ErrRosterQuorum) {
		t.Fatalf("fetching an under-signed roster: %v", err)
	}
	// Announced by DE: FR asks DE, and refuses.
	if err := de.sendRosterRequest(ctx, fr.Host().ID(), "have", 2, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "FR counts the refused announcement", func() bool { return fr.RosterStats().Failed == 1 })
	// As a hello announcing version 2 would.
	fr.roster.seen(fr, deID, 2)
	eventually(t, 5*time.Second, "FR counts the refused fetch", func() bool { return fr.RosterStats().Failed == 2 })

	if v := fr.Node().Roster().Version; v != 1 {
		t.Fatalf("FR follows roster version %d", v)
	}
	if after, err := os.ReadFile(rosterFile); err != nil || !bytes.Equal(before, after) {
		t.Fatalf("FR's roster file changed (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(l.NodeDir(iFR), "rosters", "roster-2.cbor")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("FR archived the refused roster: %v", err)
	}
	if st := fr.RosterStats(); st.Adopted != 0 {
		t.Fatalf("FR: %+v", st)
	}
	time.Sleep(200 * time.Millisecond)
	if !upWith(l, iFR, iIT) || !upWith(l, iIT, iFR) {
		t.Fatal("FR dropped IT on a refused roster")
	}
	for _, i := range []int{iDE, iIT, iES} {
		if v := l.Members[i].Node().Roster().Version; v != 1 {
			t.Fatalf("%s follows roster version %d", l.Members[i].Node().Agency(), v)
		}
	}
}

// The request codec refuses what it does not know.
func TestRosterRequestCodec(t *testing.T) {
	for _, kind := range []string{"get", "have"} {
		b, err := encodeRosterRequest(kind, 7)
		if err != nil {
			t.Fatal(err)
		}
		k, v, err := decodeRosterRequest(b)
		if err != nil || k != kind || v != 7 {
			t.Fatalf("%q: %q %d %v", kind, k, v, err)
		}
	}
	for _, kind := range []string{"put", ""} {
		b, err := encodeRosterRequest(kind, 7)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := decodeRosterRequest(b); err == nil {
			t.Fatalf("type %q decoded", kind)
		}
	}
	if _, _, err := decodeRosterRequest([]byte{0xa0}); err == nil {
		t.Fatal("an empty map decoded")
	}
}
