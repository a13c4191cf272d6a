package syncengine

import (
	"fmt"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
)

// FuzzEngine drives one engine (p00, agency C00) with event sequences
// decoded from the fuzzer's bytes: peers p01–p03 coming and going, any
// message they could send (well-formed or not, in or out of chain, in any
// epoch), the node's answers in any order, ticks, local commits and
// erasures. After every step it checks:
//
//   - the policy oracle on every record sent;
//   - no send to a peer that is down, and never more data messages in
//     flight to a peer than the send window;
//   - every push cursor claim (Through) is true: each entry of our log up to
//     it that the peer may have, since the start of the feed chain that
//     made it live, was sent to it on this connection (or is its own, or
//     one it sent us, or of an origin it said it receives directly, by
//     Direct or in a FeedRequest's Skip);
//   - a cursor persisted while receiving a message never covers that
//     message's own deliveries, and never moves back within an epoch;
//   - deliveries carry only records policy lets in, never a bare manifest;
//   - the same input gives the same actions (replayed at the end).
func FuzzEngine(f *testing.F) {
	f.Add([]byte{0, 1, 3, 5, 7, 1, 0, 0, 12, 1, 10, 0, 2, 9})
	f.Add([]byte{0, 1, 0, 2, 8, 1, 1, 0, 3, 1, 10, 0, 10, 1, 6, 1, 1, 9, 3, 3, 2, 200})
	f.Add([]byte{0, 2, 7, 2, 0, 0, 0, 3, 4, 4, 12, 2, 12, 2, 6, 2, 1, 50, 3, 5, 11, 0, 2, 255, 10, 0})
	f.Add([]byte{0, 3, 5, 3, 1, 3, 8, 3, 2, 0, 9, 7, 9, 3, 5, 13, 3, 1, 0, 14, 2, 1, 3, 3, 3, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		trace := runFuzz(t, data)
		if again := runFuzz(t, data); again != trace {
			t.Fatal("same events, different actions")
		}
	})
}

const fuzzPeers = 3

type fuzzSession struct {
	up        bool
	sent      map[cid.Cid]bool
	direct    map[string]bool
	chainFrom uint64 // After of the request that started the served chain
	lastNext  uint64
	liveFrom  uint64
	live      bool
	unconfirm []bool // data or not, per unconfirmed send
}

type fuzzer struct {
	t        *testing.T
	in       []byte
	e        *Engine
	log      *fakeStore
	pol      *fakePolicy
	oracle   *oracle
	now      time.Time
	seq      uint64
	sess     [fuzzPeers + 1]*fuzzSession
	known    [fuzzPeers + 1]map[cid.Cid]bool // CIDs each peer sent us, ever
	pending  map[DeliveryID]*Deliver
	ids      []DeliveryID // pending, in issue order
	cursors  map[PeerID]Cursor
	universe []Bundle
	trace    []string
}

func (z *fuzzer) byte() byte {
	if len(z.in) == 0 {
		return 0
	}
	b := z.in[0]
	z.in = z.in[1:]
	return b
}

func (z *fuzzer) peer() int { return 1 + int(z.byte())%fuzzPeers }

func runFuzz(t *testing.T, data []byte) string {
	z := &fuzzer{t: t, in: data, log: newFakeStore(Epoch{0xee}), now: time.Unix(1_700_000_000, 0),
		oracle: newOracle(), pending: map[DeliveryID]*Deliver{}, cursors: map[PeerID]Cursor{}}
	idx := map[PeerID]int{}
	for i := 0; i <= fuzzPeers; i++ {
		idx[peerID(i)] = i
		z.oracle.addNode(peerID(i), origin(i), i)
		z.known[i] = map[cid.Cid]bool{}
	}
	z.pol = &fakePolicy{origin: origin(0), index: idx, refuse: map[string]bool{origin(3) + "x": true}}
	e, err := New(Config{Origin: origin(0), Log: z.log, Policy: z.pol, SendWindow: 2, QueueRecords: 6, PushRecords: 3,
		FeedRecords: 4, FeedScan: 8, KnownPerPeer: 4, MaxDeliveries: 12, DeliveryTimeout: time.Second, RetryDelay: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	z.e = e
	z.makeUniverse()
	z.step(Tick{Now: z.now})
	for ops := 0; len(z.in) > 0 && ops < 500; ops++ {
		z.op()
	}
	return fmt.Sprint(z.trace)
}

// makeUniverse builds the records peers may send: bundles of every
// origin, with every marking.
func (z *fuzzer) makeUniverse() {
	for i := 0; i < 16; i++ {
		o := origin(i % (fuzzPeers + 1))
		specs := []recordSpec{{kind: Kind(1 + i%3), audience: uint64(i*7) & 0xf, red: i%5 == 0, onward: i%2 == 0, note: fmt.Sprint(i)}}
		if i%3 == 0 {
			specs = append(specs, recordSpec{kind: KindRetraction, audience: 0xf, onward: true, note: fmt.Sprint("r", i)})
		}
		z.universe = append(z.universe, newBundle(o, uint64(100+i*3), specs))
	}
}

// bundles picks some bundles, possibly damaged.
func (z *fuzzer) bundles() []Bundle {
	n := int(z.byte()) % 4
	out := make([]Bundle, 0, n)
	for range n {
		b := z.universe[int(z.byte())%len(z.universe)]
		switch z.byte() % 8 {
		case 0:
			b.Manifest = nil
		case 1:
			r := b.Records[0]
			r.Bytes = append([]byte("junk"), r.Bytes...)
			b.Records = append([]Record{r}, b.Records[1:]...)
		case 2:
			b.Records = nil
		case 3:
			b.Records = append([]Record{{Ref: RecordRef{Kind: KindManifest, CID: b.Manifest.Ref.CID}, Bytes: b.Manifest.Bytes}}, b.Records...)
		}
		out = append(out, b)
	}
	return out
}

func (z *fuzzer) epoch(i int) Epoch {
	switch z.byte() % 4 {
	case 0:
		return Epoch{}
	case 1:
		return z.log.epoch
	case 2:
		return Epoch{byte(i)}
	}
	return Epoch{byte(i), 1}
}

func (z *fuzzer) op() {
	switch z.byte() % 17 {
	case 0:
		i := z.peer()
		z.step(PeerUp{Peer: peerID(i), Origin: origin(i)})
	case 1:
		z.step(PeerDown{Peer: peerID(z.peer())})
	case 2:
		z.now = z.now.Add(time.Duration(z.byte()) * 10 * time.Millisecond)
		z.step(Tick{Now: z.now})
	case 3:
		n := 1 + int(z.byte())%5
		specs := make([]recordSpec, n)
		for k := range specs {
			b := z.byte()
			specs[k] = recordSpec{kind: Kind(1 + b%3), audience: uint64(b>>2) & 0xf, red: b&0x40 != 0, onward: b&0x80 != 0, note: fmt.Sprint(z.seq + uint64(k))}
		}
		ev := z.log.commitOwn(origin(0), z.seq+1, specs)
		z.seq += uint64(n)
		if z.byte()%8 != 0 { // sometimes the node forgets to announce: a gap
			z.step(ev)
		}
	case 4:
		i := z.peer()
		z.recv(i, &Hello{Epoch: z.epoch(i), Next: uint64(z.byte())})
	case 5:
		i := z.peer()
		z.recv(i, &Direct{Origins: z.origins()})
	case 6:
		i := z.peer()
		z.recv(i, &Push{Epoch: z.epoch(i), Through: z.position(i), Bundles: z.bundles()})
	case 7:
		i := z.peer()
		z.recv(i, &FeedRequest{Epoch: z.epoch(i), After: uint64(z.byte() % 40), Limit: int(z.byte()%8) - 1, Skip: z.origins()})
	case 8:
		i := z.peer()
		after := z.position(i)
		z.recv(i, &FeedBatch{Epoch: z.epoch(i), After: after, Next: after + uint64(z.byte()%20), Done: z.byte()%2 == 0, Bundles: z.bundles()})
	case 9:
		i := z.peer()
		z.recv(i, &EpochReset{Epoch: z.epoch(i), Next: uint64(z.byte())})
	case 10:
		z.answer(true)
	case 11:
		z.answer(false)
	case 12:
		z.step(SendDone{Peer: peerID(z.peer())})
	case 13:
		i := z.peer()
		z.step(Reconciled{Peer: peerID(i), Epoch: z.epoch(i), Through: uint64(z.byte() % 30)})
	case 14:
		if n := len(z.log.entries); n > 0 {
			e := z.log.entries[int(z.byte())%n]
			if !e.Erased && e.Record.Ref.Kind != KindManifest {
				z.log.erase(e.Record.Ref.CID)
			}
		}
	case 15:
		z.step(Accepted{Delivery: DeliveryID(z.byte())})
	case 16:
		z.step(Received{From: peerID(z.peer()), Msg: nil})
	}
}

// origins picks a set of origins, in any order.
func (z *fuzzer) origins() []string {
	var o []string
	for k, b := 0, z.byte(); k <= fuzzPeers; k++ {
		if b&(1<<k) != 0 {
			o = append(o, origin(fuzzPeers-k))
		}
	}
	return o
}

// position is a plausible log position for messages from peer i: often
// the engine's own chain position, so that messages continue the chain.
func (z *fuzzer) position(i int) uint64 {
	if z.byte()%3 != 0 {
		if p, ok := z.e.peers[peerID(i)]; ok {
			return p.in.pos + uint64(z.byte()%3)
		}
	}
	return uint64(z.byte() % 30)
}

func (z *fuzzer) recv(i int, m Msg) {
	if s := z.sess[i]; s == nil || !s.up {
		return // the adapter only reports messages of live connections
	}
	var bundles []Bundle
	switch m := m.(type) {
	case *Push:
		bundles = m.Bundles
	case *FeedBatch:
		bundles = m.Bundles
	}
	for _, b := range bundles {
		for _, r := range b.Records {
			if r.Ref.CID.Defined() {
				z.known[i][r.Ref.CID] = true
			}
		}
	}
	z.step(Received{From: peerID(i), Msg: m})
}

// answer plays the node on the oldest or a random pending delivery.
func (z *fuzzer) answer(ok bool) {
	if len(z.ids) == 0 {
		return
	}
	k := 0
	if z.byte()%2 == 0 {
		k = int(z.byte()) % len(z.ids)
	}
	id := z.ids[k]
	d := z.pending[id]
	if !ok {
		z.step(Rejected{Delivery: id, Reason: "disk"})
		return
	}
	z.ids = append(z.ids[:k], z.ids[k+1:]...)
	delete(z.pending, id)
	if err := verify(d.Bundle); err != nil {
		z.step(Rejected{Delivery: id, Invalid: true, Reason: err.Error()})
		return
	}
	z.step(Accepted{Delivery: id, Stored: z.log.put(d.Bundle)})
}

func (z *fuzzer) step(ev Event) {
	z.t.Helper()
	if up, ok := ev.(PeerUp); ok {
		i := idxOf(up.Peer)
		z.sess[i] = &fuzzSession{up: true, sent: map[cid.Cid]bool{}, direct: map[string]bool{}}
	}
	if down, ok := ev.(PeerDown); ok {
		if s := z.sess[idxOf(down.Peer)]; s != nil {
			s.up = false
		}
	}
	if d, ok := ev.(Received); ok {
		var skip []string
		switch m := d.Msg.(type) {
		case *Direct:
			skip = m.Origins
		case *FeedRequest:
			skip = m.Skip
		}
		for _, o := range skip {
			z.sess[idxOf(d.From)].direct[o] = true
		}
	}
	if sd, ok := ev.(SendDone); ok {
		if s := z.sess[idxOf(sd.Peer)]; s != nil && s.up && len(s.unconfirm) > 0 {
			s.unconfirm = s.unconfirm[1:]
		}
	}
	acts := z.e.Step(ev)
	delivered := map[PeerID]bool{}
	for _, a := range acts {
		z.trace = append(z.trace, describe(a))
		switch a := a.(type) {
		case *Send:
			z.checkSend(a)
		case *Deliver:
			z.checkDeliver(a)
			delivered[a.From] = true
		case *PersistCursor:
			z.checkPersist(ev, a, delivered)
		}
	}
	if len(z.oracle.violations) > 0 {
		z.t.Fatalf("oracle: %v", z.oracle.violations)
	}
}

func idxOf(id PeerID) int {
	var i int
	fmt.Sscanf(string(id), "p%02d", &i)
	return i
}

func (z *fuzzer) checkSend(a *Send) {
	i := idxOf(a.To)
	s := z.sess[i]
	if s == nil || !s.up {
		z.t.Fatalf("sent %T to %s, which is down", a.Msg, a.To)
	}
	z.oracle.check(peerID(0), a)
	data := false
	switch m := a.Msg.(type) {
	case *Push:
		data = true
		z.noteSent(s, m.Bundles)
		if m.Through != 0 {
			z.checkClaim(i, s, m.Through)
		}
	case *FeedBatch:
		data = true
		z.noteSent(s, m.Bundles)
		if m.After != s.lastNext || !s.live && s.chainFrom > m.After {
			s.chainFrom = m.After
		}
		s.lastNext = m.Next
		if m.Done {
			s.live, s.liveFrom = true, s.chainFrom
		}
	case *FeedRequest, *Hello:
	}
	s.unconfirm = append(s.unconfirm, data)
	n := 0
	for _, d := range s.unconfirm {
		if d {
			n++
		}
	}
	if n > z.e.cfg.SendWindow {
		z.t.Fatalf("%d data messages in flight to %s, window %d", n, a.To, z.e.cfg.SendWindow)
	}
}

func (z *fuzzer) noteSent(s *fuzzSession, bundles []Bundle) {
	for _, b := range bundles {
		for _, r := range b.Records {
			s.sent[r.Ref.CID] = true
		}
	}
}

// checkClaim verifies a push's Through against our log.
func (z *fuzzer) checkClaim(i int, s *fuzzSession, through uint64) {
	if !s.live {
		z.t.Fatalf("push to p%02d claims %d before any Done batch", i, through)
	}
	if through > uint64(len(z.log.entries)) {
		z.t.Fatalf("push to p%02d claims %d past our log (%d)", i, through, len(z.log.entries))
	}
	for idx := s.liveFrom + 1; idx <= through; idx++ {
		e := z.log.entries[idx-1]
		if e.Erased || e.Record.Ref.Kind == KindManifest {
			continue
		}
		c, f := e.Record.Ref.CID, e.Record.Ref.Facts.(*facts)
		switch {
		case s.sent[c], z.known[i][c], f.origin == origin(i), f.origin != origin(0) && s.direct[f.origin]:
			continue
		case z.oracle.forbidden(peerID(0), peerID(i), e.Record.Bytes) != "":
			continue
		}
		z.t.Fatalf("push to p%02d claims %d, but entry %d (%s) was never sent", i, through, idx, e.Record.Bytes)
	}
}

func (z *fuzzer) checkDeliver(a *Deliver) {
	if _, again := z.pending[a.Delivery]; !again {
		z.pending[a.Delivery] = a
		z.ids = append(z.ids, a.Delivery)
	}
	if len(a.Bundle.Records) == 0 {
		z.t.Fatalf("empty delivery %d", a.Delivery)
	}
	for _, r := range a.Bundle.Records {
		if r.Ref.Kind == KindManifest || !r.Ref.CID.Defined() || !z.pol.MayAccept(a.From, &r) {
			z.t.Fatalf("delivered a record that must not reach the node: %+v", r.Ref)
		}
	}
}

func (z *fuzzer) checkPersist(ev Event, a *PersistCursor, delivered map[PeerID]bool) {
	if r, ok := ev.(Received); ok && r.From == a.Peer && delivered[a.Peer] {
		z.t.Fatalf("cursor for %s persisted in the step that delivered its records", a.Peer)
	}
	switch ev.(type) {
	case Received, Accepted, Rejected, Reconciled:
	default:
		z.t.Fatalf("cursor persisted on a %T", ev)
	}
	if prev, ok := z.cursors[a.Peer]; ok && prev.Epoch == a.Cursor.Epoch && a.Cursor.After < prev.After {
		if _, reconciled := ev.(Reconciled); !reconciled {
			z.t.Fatalf("cursor for %s moved back from %d to %d", a.Peer, prev.After, a.Cursor.After)
		}
	}
	z.cursors[a.Peer] = a.Cursor
}
