package syncengine

import (
	"fmt"
	"testing"
	"time"
)

// benchEngine builds an engine whose policy lets everything through to
// peers p01..pNN (all nodes in the audience), with those peers connected,
// live (served a Done batch) and their handshake sends confirmed.
func benchEngine(b *testing.B, peers int, log *fakeStore, tweak func(*Config)) *Engine {
	idx := map[PeerID]int{}
	for i := 0; i <= peers; i++ {
		idx[peerID(i)] = i % 64
	}
	cfg := Config{Origin: origin(0), Log: log, Policy: &fakePolicy{origin: origin(0), index: idx}}
	if tweak != nil {
		tweak(&cfg)
	}
	e, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	e.Step(Tick{Now: time.Unix(1_700_000_000, 0)})
	for i := 1; i <= peers; i++ {
		e.Step(PeerUp{Peer: peerID(i), Origin: origin(i)})
		_, next := log.Head()
		e.Step(Received{From: peerID(i), Msg: &FeedRequest{Epoch: log.epoch, After: next - 1}})
	}
	for i := 1; i <= peers; i++ {
		drain(e, peerID(i))
	}
	return e
}

// drain confirms every send to p, so that its window is empty.
func drain(e *Engine, p PeerID) {
	for !e.peers[p].out.unconfirmed.empty() {
		e.Step(SendDone{Peer: p})
	}
}

// BenchmarkPushFanout30 measures one Step announcing one new assertion
// (with its manifest) that goes to 30 connected peers: policy per peer,
// queueing, 30 Push messages with cursor claims.
func BenchmarkPushFanout30(b *testing.B) {
	log := newFakeStore(Epoch{1})
	e := benchEngine(b, 30, log, nil)
	ev := log.commitOwn(origin(0), 1, []recordSpec{{kind: KindAssertion, audience: ^uint64(0), note: "x"}})
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		acts := e.Step(ev)
		if len(acts) != 30 {
			b.Fatalf("%d actions", len(acts))
		}
		b.StopTimer()
		for i := 1; i <= 30; i++ {
			e.Step(SendDone{Peer: peerID(i)})
		}
		b.StartTimer()
	}
}

// BenchmarkFeedBatch measures serving one 1000-record FeedBatch from a log
// of 100,000 records in signed batches of 100: reading the log, policy per
// record and manifest, grouping into bundles, retractions first.
func BenchmarkFeedBatch(b *testing.B) {
	log := newFakeStore(Epoch{1})
	for i := range 1000 {
		specs := make([]recordSpec, 100)
		for k := range specs {
			specs[k] = recordSpec{kind: KindAssertion, audience: ^uint64(0), note: fmt.Sprint(i, k)}
			if k%50 == 7 {
				specs[k].kind = KindRetraction
			}
		}
		log.commitOwn(origin(0), uint64(i*100+1), specs)
	}
	e := benchEngine(b, 1, log, nil)
	p := peerID(1)
	_, next := log.Head()
	b.ReportAllocs()
	b.ResetTimer()
	records := 0
	for i := range b.N {
		after := uint64(i*1010) % (next - 2000)
		acts := e.Step(Received{From: p, Msg: &FeedRequest{Epoch: log.epoch, After: after}})
		fb := msgsOf[*FeedBatch](sendsTo(acts, p))
		if len(fb) != 1 {
			b.Fatalf("no batch: %v", acts)
		}
		for _, bd := range fb[0].Bundles {
			records += len(bd.Records)
		}
		b.StopTimer()
		drain(e, p)
		b.StartTimer()
	}
	if records != 1000*b.N {
		b.Fatalf("%d records served in %d batches", records, b.N)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(records), "ns/record")
}

// BenchmarkReceiveFeedBatch measures the receiving side of one 1000-record
// batch in 10 bundles: acceptance checks, 10 Delivers, 10 answers and the
// cursor persisted.
func BenchmarkReceiveFeedBatch(b *testing.B) {
	var bundles []Bundle
	for i := range 10 {
		specs := make([]recordSpec, 100)
		for k := range specs {
			specs[k] = recordSpec{kind: KindAssertion, audience: ^uint64(0), note: fmt.Sprint(i, k)}
		}
		bundles = append(bundles, newBundle(origin(1), uint64(i*100+1), specs))
	}
	e := benchEngine(b, 1, newFakeStore(Epoch{1}), nil)
	p := peerID(1)
	peerEpoch := Epoch{2}
	e.Step(PeerDown{Peer: p})
	e.Step(PeerUp{Peer: p, Origin: origin(1)})
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		after := uint64(i) * 1000
		acts := e.Step(Received{From: p, Msg: &FeedBatch{Epoch: peerEpoch, After: after, Next: after + 1000, Bundles: bundles}})
		var ids []DeliveryID
		for _, a := range acts {
			if d, ok := a.(*Deliver); ok {
				ids = append(ids, d.Delivery)
			}
		}
		persisted := 0
		for _, id := range ids {
			for _, a := range e.Step(Accepted{Delivery: id}) {
				if _, ok := a.(*PersistCursor); ok {
					persisted++
				}
			}
		}
		if len(ids) != 10 || persisted != 1 {
			b.Fatalf("%d deliveries, %d cursors", len(ids), persisted)
		}
	}
}
