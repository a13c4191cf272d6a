package daemon

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/vigie-project/vigie/node"
	"github.com/vigie-project/vigie/node/store"
)

// seedOffline asserts n synthetic indicators at member i's node, opened
// directly (it holds an issuer share of a 1-of-n key, so it tokenises
// alone): building 100 000 records this way costs no network round trips.
func seedOffline(b *testing.B, l *Local, i, n int) {
	b.Helper()
	ctx := context.Background()
	nd, err := node.Open(ctx, l.NodeDir(i))
	if err != nil {
		b.Fatal(err)
	}
	defer nd.Close()
	for start := 0; start < n; start += 4096 {
		reqs := make([]node.AssertRequest, 0, 4096)
		for k := start; k < min(start+4096, n); k++ {
			req := request("")
			req.URL, req.Expression = "", fmt.Sprintf("catchup-%d.example/", k)
			reqs = append(reqs, req)
		}
		res, err := nd.AssertMany(ctx, reqs)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
		}
	}
}

// BenchmarkCatchUp100k: DE was offline while FR added 100 000 records; from
// DE's start to DE holding all of them, over loopback QUIC. Reported as
// seconds per catch-up and records per second.
func BenchmarkCatchUp100k(b *testing.B) {
	n := 100_000
	if testing.Short() {
		n = 5_000
	}
	for b.Loop() {
		b.StopTimer()
		ctx := context.Background()
		l, err := NewLocal(ctx, b.TempDir(), LocalOptions{Countries: []string{"FR", "DE"}, Threshold: 1, Issuers: 2})
		if err != nil {
			b.Fatal(err)
		}
		seedOffline(b, l, 0, n)
		if err := l.Start(ctx, 0, fast); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		b.StartTimer()
		start := time.Now()
		if err := l.Start(ctx, 1, fast); err != nil {
			b.Fatal(err)
		}
		if err := l.Mesh(); err != nil {
			b.Fatal(err)
		}
		de := l.Members[1].Node().Store()
		for {
			st, err := de.Stats()
			if err != nil {
				b.Fatal(err)
			}
			if st.Records[store.KindAssertion] == uint64(n) {
				break
			}
			if time.Since(start) > 5*time.Minute {
				b.Fatalf("DE holds %d of %d after 5 minutes", st.Records[store.KindAssertion], n)
			}
			time.Sleep(10 * time.Millisecond)
		}
		d := time.Since(start)
		b.StopTimer()
		b.ReportMetric(d.Seconds(), "s/catchup")
		b.ReportMetric(float64(n)/d.Seconds(), "records/s")
		l.Close()
		b.StartTimer()
	}
}

// BenchmarkPerMemberConnection: heap and goroutines one member connection
// costs a running node (libp2p connection, hello, the sync session's two
// streams, reader and writer), measured across a 12-member federation
// before and after the members connect: per node and per peer.
func BenchmarkPerMemberConnection(b *testing.B) {
	for _, transport := range []string{"quic", "tcp"} {
		b.Run(transport, func(b *testing.B) { benchConnections(b, transport == "tcp") })
	}
}

func benchConnections(b *testing.B, tcp bool) {
	const members = 12
	for b.Loop() {
		b.StopTimer()
		ctx := context.Background()
		l, err := NewLocal(ctx, b.TempDir(), LocalOptions{Countries: Federation31[:members], Threshold: 1, Issuers: 2, TCP: tcp})
		if err != nil {
			b.Fatal(err)
		}
		for i := range members {
			if err := l.Start(ctx, i, fast); err != nil {
				b.Fatal(err)
			}
		}
		time.Sleep(time.Second)
		heap0, gr0 := settledHeap()
		b.StartTimer()
		if err := l.Mesh(); err != nil {
			b.Fatal(err)
		}
		if err := l.WaitConnected(ctx, time.Minute); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		time.Sleep(2 * time.Second) // sessions open, first feeds answered
		heap1, gr1 := settledHeap()
		if f := os.Getenv("VIGIE_HEAPPROFILE"); f != "" {
			writeHeapProfile(b, f)
		}
		conns := float64(members * (members - 1))
		b.ReportMetric(float64(heap1-heap0)/conns, "heapB/conn")
		b.ReportMetric(float64(gr1-gr0)/conns, "goroutines/conn")
		l.Close()
		b.StartTimer()
	}
}

func writeHeapProfile(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		b.Fatal(err)
	}
}

func settledHeap() (uint64, int) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc, runtime.NumGoroutine()
}

// BenchmarkPushLatency: one assertion at a time (200 ms apart) from FR on
// an idle federation of n members, from FR's acknowledgement to each
// member storing it. vigie demo --check measures the same under load.
func BenchmarkPushLatency(b *testing.B) {
	for _, n := range []int{4, 31} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				a := NewArrivals(n)
				l, err := StartLocal(context.Background(), b.TempDir(), LocalOptions{Countries: Federation31[:n], Threshold: 1, Issuers: n,
					PerMember: func(i int, _ string) []Option { return []Option{a.Option(i)} }})
				if err != nil {
					b.Fatal(err)
				}
				if err := l.WaitConnected(context.Background(), time.Minute); err != nil {
					b.Fatal(err)
				}
				time.Sleep(2 * time.Second)
				b.StartTimer()
				var recs []seeded
				for k := range 20 {
					req := request("")
					req.URL, req.Expression = "", fmt.Sprintf("latency-%d.example/", k)
					res, err := l.Members[0].Node().AssertMany(context.Background(), []node.AssertRequest{req})
					if err != nil {
						b.Fatal(err)
					}
					recs = append(recs, seeded{origin: 0, cid: res[0].Assertion, at: time.Now()})
					time.Sleep(200 * time.Millisecond)
				}
				b.StopTimer()
				time.Sleep(time.Second)
				lat := pushLatencies(l, a, recs)
				if len(lat) != 20*(n-1) {
					b.Fatalf("%d arrivals, want %d", len(lat), 20*(n-1))
				}
				b.ReportMetric(percentile(lat, 50), "p50_ms")
				b.ReportMetric(percentile(lat, 99), "p99_ms")
				l.Close()
				b.StartTimer()
			}
		})
	}
}

// BenchmarkCosignedCheckpoint31: 31 members, each checkpoint cosigned by a
// quorum of 16 of 17 peer witnesses; from an entry appended at FR to a
// checkpoint covering it with the quorum (checkpoints are published at
// most every second while entries arrive).
func BenchmarkCosignedCheckpoint31(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		ctx := context.Background()
		l, err := StartLocal(ctx, b.TempDir(), LocalOptions{Countries: Federation31, Threshold: 1, Issuers: 2, WitnessQuorum: 16})
		if err != nil {
			b.Fatal(err)
		}
		if err := l.WaitConnected(ctx, time.Minute); err != nil {
			b.Fatal(err)
		}
		fr := l.Members[0]
		var lat []float64
		b.StartTimer()
		for k := range 20 {
			start := time.Now()
			fr.Node().Audit(ctx, node.AuditEvent{Kind: "key_event", Actor: "bench", Fields: map[string]string{"event": "probe", "key_id": strconv.Itoa(k)}})
			if err := fr.AuditLog().Sync(ctx); err != nil {
				b.Fatal(err)
			}
			size := fr.AuditLog().DurableSize()
			for fr.WitnessStats().CosignedSize < size {
				if time.Since(start) > 30*time.Second {
					b.Fatalf("no cosigned checkpoint after 30 s: %+v", fr.WitnessStats())
				}
				time.Sleep(5 * time.Millisecond)
			}
			lat = append(lat, ms(time.Since(start)))
			time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
		}
		b.StopTimer()
		b.ReportMetric(percentile(lat, 50), "p50_ms")
		b.ReportMetric(percentile(lat, 99), "p99_ms")
		l.Close()
		b.StartTimer()
	}
}
