package syncengine

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Unit tests drive one engine by hand: peers p01, p02... are remote nodes
// of agencies C01, C02...; the engine is p00 of C00.

type driver struct {
	t      *testing.T
	e      *Engine
	log    *fakeStore
	now    time.Time
	seq    uint64
	oracle *oracle
}

func peerID(i int) PeerID { return PeerID(fmt.Sprintf("p%02d", i)) }
func origin(i int) string { return fmt.Sprintf("C%02d", i) }

func newDriver(t *testing.T, tweak func(*Config)) *driver {
	d := &driver{t: t, log: newFakeStore(Epoch{1}), now: time.Unix(1_700_000_000, 0), oracle: newOracle()}
	idx := map[PeerID]int{}
	for i := range 8 {
		idx[peerID(i)] = i
		d.oracle.addNode(peerID(i), origin(i), i)
	}
	cfg := Config{Origin: origin(0), Log: d.log, Policy: &fakePolicy{origin: origin(0), index: idx}}
	if tweak != nil {
		tweak(&cfg)
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	d.e = e
	d.step(Tick{Now: d.now})
	return d
}

// step applies ev and checks every send against the oracle.
func (d *driver) step(ev Event) []Action {
	d.t.Helper()
	acts := append([]Action(nil), d.e.Step(ev)...)
	for _, a := range acts {
		if s, ok := a.(*Send); ok {
			d.oracle.check(peerID(0), s)
		}
	}
	if len(d.oracle.violations) > 0 {
		d.t.Fatalf("oracle: %v", d.oracle.violations)
	}
	return acts
}

func (d *driver) tick(dt time.Duration) []Action {
	d.now = d.now.Add(dt)
	return d.step(Tick{Now: d.now})
}

// commit logs own records and announces them.
func (d *driver) commit(specs ...recordSpec) []Action {
	ev := d.log.commitOwn(origin(0), d.seq+1, specs)
	d.seq += uint64(len(specs))
	return d.step(ev)
}

// connect brings peer i up and lets the connection settle, so that the
// feed request goes out.
func (d *driver) connect(i int) []Action {
	acts := d.step(PeerUp{Peer: peerID(i), Origin: origin(i)})
	return append(acts, d.tick(DefaultDirectDelay)...)
}

// up connects peer i and completes its feed handshake (an empty log:
// Done at once), so that pushes to it carry claims.
func (d *driver) up(i int) []Action {
	acts := d.step(PeerUp{Peer: peerID(i), Origin: origin(i)})
	acts = append(acts, d.step(Received{From: peerID(i), Msg: &FeedRequest{}})...)
	return acts
}

func sendsTo(acts []Action, to PeerID) []*Send {
	var out []*Send
	for _, a := range acts {
		if s, ok := a.(*Send); ok && s.To == to {
			out = append(out, s)
		}
	}
	return out
}

func actionsOf[T Action](acts []Action) []T {
	var out []T
	for _, a := range acts {
		if x, ok := a.(T); ok {
			out = append(out, x)
		}
	}
	return out
}

func msgsOf[T Msg](sends []*Send) []T {
	var out []T
	for _, s := range sends {
		if m, ok := s.Msg.(T); ok {
			out = append(out, m)
		}
	}
	return out
}

func assertion(note string) recordSpec {
	return recordSpec{kind: KindAssertion, audience: 0xff, onward: true, note: note}
}

func retraction(note string) recordSpec {
	return recordSpec{kind: KindRetraction, audience: 0xff, onward: true, note: note}
}

func TestRetractionsOvertakeQueuedAssertions(t *testing.T) {
	d := newDriver(t, func(c *Config) { c.SendWindow = 1; c.PushRecords = 1 })
	acts := d.up(1)
	// Confirm the handshake sends, so that the window is empty.
	for range sendsTo(acts, peerID(1)) {
		d.step(SendDone{Peer: peerID(1)})
	}
	var order []Kind
	collect := func(acts []Action) {
		for _, m := range msgsOf[*Push](sendsTo(acts, peerID(1))) {
			for _, b := range m.Bundles {
				for _, r := range b.Records {
					order = append(order, r.Ref.Kind)
				}
			}
		}
	}
	for i := range 5 {
		collect(d.commit(assertion(fmt.Sprint("a", i))))
	}
	collect(d.commit(retraction("r")))
	for range 10 {
		collect(d.step(SendDone{Peer: peerID(1)}))
	}
	want := []Kind{KindAssertion, KindRetraction, KindAssertion, KindAssertion, KindAssertion, KindAssertion}
	if fmt.Sprint(order) != fmt.Sprint(want) {
		t.Fatalf("send order %v, want %v (the retraction overtakes the queued assertions)", order, want)
	}
}

func TestRetractionSendsHavePriority(t *testing.T) {
	d := newDriver(t, nil)
	d.up(1)
	sends := sendsTo(d.commit(retraction("r")), peerID(1))
	if len(sends) != 1 || sends[0].Priority != PriorityHigh {
		t.Fatalf("retraction push: %v", sends)
	}
}

func TestFeedCursorAdvancesOnlyAfterAck(t *testing.T) {
	d := newDriver(t, nil)
	acts := d.connect(1)
	reqs := msgsOf[*FeedRequest](sendsTo(acts, peerID(1)))
	if len(reqs) != 1 || reqs[0].After != 0 || !reqs[0].Epoch.IsZero() {
		t.Fatalf("first contact must request from the start: %+v", reqs)
	}
	b1 := newBundle(origin(1), 1, []recordSpec{assertion("x"), assertion("y")})
	b2 := newBundle(origin(1), 3, []recordSpec{assertion("z")})
	peerEpoch := Epoch{9}
	acts = d.step(Received{From: peerID(1), Msg: &FeedBatch{Epoch: peerEpoch, After: 0, Next: 6, Done: true, Bundles: []Bundle{b1, b2}}})
	delivers := actionsOf[*Deliver](acts)
	if len(delivers) != 2 {
		t.Fatalf("%d deliveries, want 2", len(delivers))
	}
	if p := actionsOf[*PersistCursor](acts); len(p) != 0 {
		t.Fatalf("cursor persisted before any ack: %+v", p)
	}
	if p := actionsOf[*PersistCursor](d.step(Accepted{Delivery: delivers[1].Delivery})); len(p) != 0 {
		t.Fatalf("cursor persisted with a delivery unanswered: %+v", p)
	}
	p := actionsOf[*PersistCursor](d.step(Accepted{Delivery: delivers[0].Delivery}))
	if len(p) != 1 || p[0].Cursor != (Cursor{Epoch: peerEpoch, After: 6}) {
		t.Fatalf("after both acks: %+v", p)
	}
	// Live now: a push claim moves the cursor once its delivery is stored.
	b3 := newBundle(origin(1), 4, []recordSpec{assertion("w")})
	acts = d.step(Received{From: peerID(1), Msg: &Push{Epoch: peerEpoch, Through: 8, Bundles: []Bundle{b3}}})
	if len(actionsOf[*PersistCursor](acts)) != 0 {
		t.Fatal("push claim persisted before its ack")
	}
	p = actionsOf[*PersistCursor](d.step(Accepted{Delivery: actionsOf[*Deliver](acts)[0].Delivery}))
	if len(p) != 1 || p[0].Cursor.After != 8 {
		t.Fatalf("push claim after ack: %+v", p)
	}
	// A claim in another epoch, or from before the chain was live, is
	// ignored.
	acts = d.step(Received{From: peerID(1), Msg: &Push{Epoch: Epoch{7}, Through: 20}})
	if len(actionsOf[*PersistCursor](acts)) != 0 {
		t.Fatal("claim in a foreign epoch accepted")
	}
}

func TestLocalFailureRedeliversFromMemory(t *testing.T) {
	d := newDriver(t, nil)
	d.connect(1)
	pe := Epoch{9}
	b := newBundle(origin(1), 1, []recordSpec{assertion("x")})
	acts := d.step(Received{From: peerID(1), Msg: &FeedBatch{Epoch: pe, After: 0, Next: 3, Bundles: []Bundle{b}}})
	// The chain continues while the node works.
	if r := msgsOf[*FeedRequest](sendsTo(acts, peerID(1))); len(r) != 1 || r[0].After != 3 {
		t.Fatalf("pipelined request: %+v", r)
	}
	del := actionsOf[*Deliver](acts)[0]
	acts = d.step(Rejected{Delivery: del.Delivery, Reason: "disk full"})
	if len(actionsOf[*PersistCursor](acts)) != 0 || len(actionsOf[*Deliver](acts)) != 0 {
		t.Fatalf("after a failed store: %v", acts)
	}
	// The same bundle goes to the node again after the retry delay; the
	// peer is not asked again.
	acts = d.tick(DefaultRetryDelay)
	again := actionsOf[*Deliver](acts)
	if len(again) != 1 || again[0].Delivery != del.Delivery || len(sendsTo(acts, peerID(1))) != 0 {
		t.Fatalf("retry: %v", acts)
	}
	p := actionsOf[*PersistCursor](d.step(Accepted{Delivery: del.Delivery}))
	if len(p) != 1 || p[0].Cursor.After != 3 {
		t.Fatalf("cursor after the retry succeeded: %+v", p)
	}
	if st := d.e.Stats(); st.RejectedLocal != 1 || st.Redelivered != 1 {
		t.Fatalf("stats: %+v", st)
	}
}

func TestInvalidBundleIsCountedAndSkipped(t *testing.T) {
	d := newDriver(t, nil)
	d.step(PeerUp{Peer: peerID(1), Origin: origin(1)})
	b := newBundle(origin(1), 1, []recordSpec{assertion("x")})
	acts := d.step(Received{From: peerID(1), Msg: &FeedBatch{Epoch: Epoch{9}, After: 0, Next: 2, Done: true, Bundles: []Bundle{b}}})
	acts = d.step(Rejected{Delivery: actionsOf[*Deliver](acts)[0].Delivery, Invalid: true, Reason: "bad signature"})
	if p := actionsOf[*PersistCursor](acts); len(p) != 1 || p[0].Cursor.After != 2 {
		t.Fatalf("an invalid bundle must not hold the cursor back: %+v", p)
	}
	if ps, _ := d.e.Peer(peerID(1)); ps.Invalid != 1 {
		t.Fatalf("invalid count %d", ps.Invalid)
	}
	if n := actionsOf[*Note](acts); len(n) != 1 || n[0].Event != "invalid_bundle" || n[0].Peer != peerID(1) {
		t.Fatalf("notes: %+v", n)
	}
}

func TestDeliveryTimeoutRedelivers(t *testing.T) {
	d := newDriver(t, func(c *Config) { c.DeliveryTimeout = time.Second })
	d.up(2)
	d.connect(1)
	b := newBundle(origin(1), 1, []recordSpec{assertion("x")})
	acts := d.step(Received{From: peerID(1), Msg: &FeedBatch{Epoch: Epoch{9}, After: 0, Next: 2, Done: true, Bundles: []Bundle{b}}})
	del := actionsOf[*Deliver](acts)[0]
	sched := actionsOf[*Schedule](acts)
	if len(sched) != 1 || !sched[0].At.Equal(d.now.Add(time.Second)) {
		t.Fatalf("schedule: %+v", sched)
	}
	acts = d.tick(time.Second)
	if n := actionsOf[*Note](acts); len(n) != 1 || n[0].Event != "delivery_timeout" {
		t.Fatalf("notes: %+v", n)
	}
	if again := actionsOf[*Deliver](acts); len(again) != 1 || again[0].Delivery != del.Delivery {
		t.Fatalf("not delivered again: %v", acts)
	}
	// The next timeout is twice as long.
	if s := actionsOf[*Schedule](acts); len(s) != 1 || !s[0].At.Equal(d.now.Add(2*time.Second)) {
		t.Fatalf("schedule after a timeout: %+v", s)
	}
	// The answer to either copy completes it: the cursor moves and what
	// was stored is relayed; a second answer changes nothing.
	stored := d.log.put(del.Bundle)
	acts = d.step(Accepted{Delivery: del.Delivery, Stored: stored})
	if len(actionsOf[*PersistCursor](acts)) != 1 || len(msgsOf[*Push](sendsTo(acts, peerID(2)))) != 1 {
		t.Fatalf("answer: %v", acts)
	}
	if acts = d.step(Accepted{Delivery: del.Delivery}); len(acts) != 0 {
		t.Fatalf("second answer: %v", acts)
	}
}

func TestServingFeedSkipsTombstonesRetractionsFirst(t *testing.T) {
	d := newDriver(t, nil)
	d.commit(assertion("a1"), assertion("a2"))
	d.commit(retraction("r1"))
	d.commit(assertion("a3"))
	d.log.erase(d.log.entries[1].Record.Ref.CID) // a2
	d.step(PeerUp{Peer: peerID(1), Origin: origin(1)})
	acts := d.step(Received{From: peerID(1), Msg: &FeedRequest{Epoch: Epoch{}, After: 0}})
	fb := msgsOf[*FeedBatch](sendsTo(acts, peerID(1)))
	if len(fb) != 1 {
		t.Fatalf("feed answers: %v", acts)
	}
	m := fb[0]
	_, next := d.log.Head()
	if m.Next != next-1 || !m.Done || m.Epoch != d.log.epoch {
		t.Fatalf("batch (%d,%d] done %t, log next %d", m.After, m.Next, m.Done, next)
	}
	var got []string
	for _, b := range m.Bundles {
		for _, r := range b.Records {
			f, _ := parseFacts(r.Bytes)
			got = append(got, fmt.Sprint(f.kind, f.seq))
		}
	}
	if want := "[retraction 3 assertion 1 assertion 4]"; fmt.Sprint(got) != want {
		t.Fatalf("feed order %v, want %s", got, want)
	}
	if sendsTo(acts, peerID(1))[0].Priority != PriorityHigh {
		t.Fatal("a feed batch holding a retraction is not high priority")
	}
}

func TestUnknownEpochGetsEpochReset(t *testing.T) {
	d := newDriver(t, nil)
	d.commit(assertion("a"))
	d.step(PeerUp{Peer: peerID(1), Origin: origin(1)})
	_, next := d.log.Head()
	for _, req := range []*FeedRequest{
		{Epoch: Epoch{42}, After: 1},          // another epoch
		{Epoch: d.log.epoch, After: next + 3}, // beyond our head
		{Epoch: Epoch{}, After: 5},            // no epoch, yet a position
	} {
		acts := d.step(Received{From: peerID(1), Msg: req})
		r := msgsOf[*EpochReset](sendsTo(acts, peerID(1)))
		if len(r) != 1 || r[0].Epoch != d.log.epoch || r[0].Next != next {
			t.Fatalf("request %+v answered %v", req, acts)
		}
	}
}

func TestEpochResetEmitsReconcile(t *testing.T) {
	old := Epoch{5}
	d := newDriver(t, func(c *Config) {
		c.Cursors = []PeerCursor{{Peer: peerID(1), Cursor: Cursor{Epoch: old, After: 40}}}
	})
	acts := d.connect(1)
	if r := msgsOf[*FeedRequest](sendsTo(acts, peerID(1))); len(r) != 1 || r[0].Epoch != old || r[0].After != 40 {
		t.Fatalf("request from the persisted cursor: %+v", r)
	}
	acts = d.step(Received{From: peerID(1), Msg: &EpochReset{Epoch: Epoch{6}, Next: 100}})
	rc := actionsOf[*Reconcile](acts)
	if len(rc) != 1 || rc[0].Peer != peerID(1) || rc[0].Epoch != (Epoch{6}) || rc[0].Next != 100 {
		t.Fatalf("reconcile: %+v", acts)
	}
	if len(actionsOf[*PersistCursor](acts)) != 0 {
		t.Fatal("cursor reset before reconciliation ended")
	}
	// No feeding from that peer until reconciled.
	if len(sendsTo(d.step(Received{From: peerID(1), Msg: &Hello{Epoch: Epoch{6}, Next: 100}}), peerID(1))) != 0 {
		t.Fatal("fed while reconciling")
	}
	acts = d.step(Reconciled{Peer: peerID(1), Epoch: Epoch{6}, Through: 99})
	if p := actionsOf[*PersistCursor](acts); len(p) != 1 || p[0].Cursor != (Cursor{Epoch: Epoch{6}, After: 99}) {
		t.Fatalf("after reconciliation: %+v", acts)
	}
	if r := msgsOf[*FeedRequest](sendsTo(acts, peerID(1))); len(r) != 1 || r[0].After != 99 {
		t.Fatalf("feed resumes after the reconciled position: %+v", r)
	}
}

func TestRelayNeverBackToSourceNorToDirectReceivers(t *testing.T) {
	d := newDriver(t, nil)
	for i := 1; i <= 3; i++ {
		d.up(i)
	}
	// p03 says it receives C01 directly.
	d.step(Received{From: peerID(3), Msg: &Direct{Origins: []string{origin(0), origin(1)}}})
	b := newBundle(origin(1), 1, []recordSpec{assertion("from C01")})
	acts := d.step(Received{From: peerID(1), Msg: &Push{Bundles: []Bundle{b}}})
	del := actionsOf[*Deliver](acts)[0]
	stored := d.log.put(del.Bundle)
	acts = d.step(Accepted{Delivery: del.Delivery, Stored: stored})
	if len(sendsTo(acts, peerID(1))) != 0 {
		t.Error("relayed back to the peer it came from")
	}
	if len(sendsTo(acts, peerID(3))) != 0 {
		t.Error("relayed to a peer that receives the origin directly")
	}
	pushes := msgsOf[*Push](sendsTo(acts, peerID(2)))
	if len(pushes) != 1 || pushes[0].Bundles[0].Records[0].Ref.CID != b.Records[0].Ref.CID {
		t.Fatalf("not relayed to p02: %v", acts)
	}
	if pushes[0].Bundles[0].Records[0].Ref.LogIndex != stored[0].LogIndex {
		t.Error("relayed record does not carry our log index")
	}
	// p02 later sends it to us again: we will never send it to p02 again.
	d.step(Received{From: peerID(2), Msg: &Push{Bundles: []Bundle{b}}})
	if ps, _ := d.e.Peer(peerID(2)); ps.Known != 1 {
		t.Fatalf("known %d", ps.Known)
	}
}

func TestPolicyFiltersPushAndFeedPerDestination(t *testing.T) {
	d := newDriver(t, nil)
	d.up(1)
	d.up(2)
	acts := d.commit(
		recordSpec{kind: KindAssertion, audience: 0b011, note: "for p01"},
		recordSpec{kind: KindAssertion, audience: 0b111, red: true, note: "red"},
	)
	if p := msgsOf[*Push](sendsTo(acts, peerID(1))); len(p) != 1 || len(p[0].Bundles[0].Records) != 1 {
		t.Fatalf("p01 gets exactly its record: %v", acts)
	}
	if len(sendsTo(acts, peerID(2))) != 0 {
		t.Fatal("p02 was sent something it may not have")
	}
	if d.e.Stats().Withheld != 3 {
		t.Fatalf("withheld %d, want 3", d.e.Stats().Withheld)
	}
}

func TestMayAcceptFiltersReceived(t *testing.T) {
	d := newDriver(t, func(c *Config) {
		c.Policy.(*fakePolicy).refuse = map[string]bool{origin(2): true}
	})
	d.up(1)
	ok := newBundle(origin(1), 1, []recordSpec{assertion("fine")})
	bad := newBundle(origin(2), 1, []recordSpec{assertion("unwanted")})
	acts := d.step(Received{From: peerID(1), Msg: &Push{Bundles: []Bundle{ok, bad}}})
	if del := actionsOf[*Deliver](acts); len(del) != 1 || del[0].Bundle.Records[0].Ref.Origin != origin(1) {
		t.Fatalf("deliveries: %v", acts)
	}
	if d.e.Stats().Refused != 1 {
		t.Fatalf("refused %d", d.e.Stats().Refused)
	}
}

func TestFullQueueDropsPushAndFallsBackToFeed(t *testing.T) {
	d := newDriver(t, func(c *Config) { c.SendWindow = 1; c.QueueRecords = 2 })
	acts := d.up(1)
	for range sendsTo(acts, peerID(1)) {
		d.step(SendDone{Peer: peerID(1)})
	}
	var all []Action
	for i := range 6 {
		all = append(all, d.commit(assertion(fmt.Sprint(i)))...)
	}
	hellos := msgsOf[*Hello](sendsTo(all, peerID(1)))
	if len(hellos) != 1 || d.e.Stats().PushRecordsDropped == 0 {
		t.Fatalf("a drop must tell the peer to catch up once: %v", all)
	}
	if ps, _ := d.e.Peer(peerID(1)); ps.Live {
		t.Fatal("peer still live after a drop: pushes would vouch past the gap")
	}
	// The peer asks; the feed (which goes before queued pushes) covers
	// everything, and the peer is live again.
	d.step(Received{From: peerID(1), Msg: &FeedRequest{Epoch: d.log.epoch, After: 0}})
	var fb []*FeedBatch
	for range 10 {
		fb = append(fb, msgsOf[*FeedBatch](sendsTo(d.step(SendDone{Peer: peerID(1)}), peerID(1)))...)
	}
	if len(fb) != 1 || !fb[0].Done || len(fb[0].Bundles) != 6 {
		t.Fatalf("feed batches: %+v", fb)
	}
	if ps, _ := d.e.Peer(peerID(1)); !ps.Live || ps.QueuedNormal != 0 {
		t.Fatalf("after the feed: %+v", ps)
	}
}

func TestLargeBundleIsSplitKeepingItsManifest(t *testing.T) {
	d := newDriver(t, func(c *Config) { c.PushRecords = 256; c.SendWindow = 100 })
	d.up(1)
	specs := make([]recordSpec, 600)
	for i := range specs {
		specs[i] = assertion(fmt.Sprint(i))
	}
	pushes := msgsOf[*Push](sendsTo(d.commit(specs...), peerID(1)))
	if len(pushes) != 3 {
		t.Fatalf("%d pushes, want 3", len(pushes))
	}
	total := 0
	for _, p := range pushes {
		if len(p.Bundles) != 1 || p.Bundles[0].Manifest == nil {
			t.Fatal("a part travels without its manifest")
		}
		total += len(p.Bundles[0].Records)
	}
	if total != 600 {
		t.Fatalf("%d records pushed", total)
	}
	// Each part vouches exactly for what has left: records 1–256, 1–512,
	// then everything with the manifest (index 601).
	for i, want := range []uint64{256, 512, 601} {
		if pushes[i].Through != want {
			t.Fatalf("part %d vouches through %d, want %d", i, pushes[i].Through, want)
		}
	}
}

func TestRangeErrorRetriesLater(t *testing.T) {
	d := newDriver(t, nil)
	d.commit(assertion("a"))
	d.connect(1)
	d.log.failRange = true
	acts := d.step(Received{From: peerID(1), Msg: &FeedRequest{}})
	if len(msgsOf[*FeedBatch](sendsTo(acts, peerID(1)))) != 0 || len(actionsOf[*Schedule](acts)) != 1 {
		t.Fatalf("on a log error: %v", acts)
	}
	d.log.failRange = false
	acts = d.tick(DefaultRetryDelay)
	if fb := msgsOf[*FeedBatch](sendsTo(acts, peerID(1))); len(fb) != 1 || !fb[0].Done {
		t.Fatalf("retry: %v", acts)
	}
}

func TestAnnounceGapSendsPeersBackToFeed(t *testing.T) {
	d := newDriver(t, nil)
	d.up(1)
	// An entry reaches the log without being announced.
	d.log.commitOwn(origin(0), 1, []recordSpec{assertion("silent")})
	d.seq = 1
	acts := d.commit(assertion("loud"))
	if len(msgsOf[*Hello](sendsTo(acts, peerID(1)))) != 1 {
		t.Fatalf("a gap must send the peer back to the feed: %v", acts)
	}
	for _, p := range msgsOf[*Push](sendsTo(acts, peerID(1))) {
		if p.Through != 0 {
			t.Fatalf("a push vouches through %d past an unannounced entry", p.Through)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	if _, err := New(Config{}); err == nil || !strings.Contains(err.Error(), "required") {
		t.Fatalf("empty config: %v", err)
	}
	if _, err := New(Config{Origin: "x", Log: newFakeStore(Epoch{}), Policy: permitAll{}, SendWindow: -1}); err == nil {
		t.Fatal("negative limit accepted")
	}
}

func TestFeedRequestSkipsOriginsReceivedDirectly(t *testing.T) {
	d := newDriver(t, nil)
	// Our log holds a record of C02 (relayed) and one of our own.
	b := newBundle(origin(2), 1, []recordSpec{assertion("C02's")})
	d.log.put(b)
	d.commit(assertion("ours"))
	d.step(PeerUp{Peer: peerID(1), Origin: origin(1)})
	acts := d.step(Received{From: peerID(1), Msg: &FeedRequest{Skip: []string{origin(2)}}})
	fb := msgsOf[*FeedBatch](sendsTo(acts, peerID(1)))
	if len(fb) != 1 || len(fb[0].Bundles) != 1 || fb[0].Bundles[0].Records[0].Ref.Origin != origin(0) || !fb[0].Done {
		t.Fatalf("feed with C02 skipped: %v", describe(sendsTo(acts, peerID(1))[0]))
	}
	// Without Skip, C02's record is relayed.
	acts = d.step(Received{From: peerID(1), Msg: &FeedRequest{}})
	if fb := msgsOf[*FeedBatch](sendsTo(acts, peerID(1))); len(fb) != 1 || len(fb[0].Bundles) != 2 {
		t.Fatalf("feed without Skip: %v", acts)
	}
}

func TestConnectionsComingUpTogetherSkipEachOther(t *testing.T) {
	d := newDriver(t, nil)
	d.step(PeerUp{Peer: peerID(1), Origin: origin(1)})
	d.step(PeerUp{Peer: peerID(2), Origin: origin(2)})
	acts := d.step(PeerUp{Peer: peerID(3), Origin: origin(3)})
	// The newcomer hears the Direct set at once; the others after the
	// delay, in one message each.
	if dm := msgsOf[*Direct](sendsTo(acts, peerID(3))); len(dm) != 1 || len(dm[0].Origins) != 3 {
		t.Fatalf("direct to the newcomer: %v", acts)
	}
	if len(sendsTo(acts, peerID(1))) != 0 || len(msgsOf[*FeedRequest](sendsTo(acts, peerID(3)))) != 0 {
		t.Fatalf("sent before the connections settled: %v", acts)
	}
	acts = d.tick(DefaultDirectDelay)
	for i := 1; i <= 3; i++ {
		sends := sendsTo(acts, peerID(i))
		req := msgsOf[*FeedRequest](sends)
		if len(req) != 1 {
			t.Fatalf("p%02d: %v", i, sends)
		}
		var want []string
		for k := 1; k <= 3; k++ {
			if k != i {
				want = append(want, origin(k))
			}
		}
		if fmt.Sprint(req[0].Skip) != fmt.Sprint(want) {
			t.Fatalf("p%02d asked to skip %v, want %v", i, req[0].Skip, want)
		}
		if i < 3 && len(msgsOf[*Direct](sends)) != 1 {
			t.Fatalf("p%02d did not hear the new Direct set: %v", i, sends)
		}
	}
}
