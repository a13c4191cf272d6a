package p2p

import (
	"context"
	"crypto/rand"
	"fmt"
	"math"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/vigie-project/vigie/crypto/fedtoken"
	"github.com/vigie-project/vigie/protocol/issuance"
)

// BenchmarkTokenOverNetwork tokenises full 32-expression batches with 2 of
// 3 issuers on loopback (TCP), all in this process, so the issuers' CPU
// and the client's share the machine. ask=2 asks exactly the threshold;
// ask=3 adds the default spare and returns on the first two valid answers;
// in-process is the same protocol with no network (fedtoken's
// TokenizeLocal with two issuers), the baseline for the overhead.
func BenchmarkTokenOverNetwork(b *testing.B) {
	b.Run("in-process", func(b *testing.B) {
		f := newFederation(b, 2, 2, 2)
		client, err := fedtoken.NewClient(testFederation, f.group)
		if err != nil {
			b.Fatal(err)
		}
		var issuers []*fedtoken.Issuer
		for _, s := range f.shares {
			is, err := fedtoken.NewIssuer(s)
			if err != nil {
				b.Fatal(err)
			}
			issuers = append(issuers, is)
		}
		in, _ := testInputs(sampleExprs(32))
		var lat []time.Duration
		start := time.Now()
		for b.Loop() {
			t0 := time.Now()
			if _, err := client.TokenizeLocal(rand.Reader, in, issuers); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		b.ReportMetric(float64(len(lat)*len(in))/time.Since(start).Seconds(), "expr/s")
		b.ReportMetric(median(lat).Seconds()*1000, "p50-ms")
	})
	for _, spare := range []int{0, 1} {
		b.Run(fmt.Sprintf("ask=%d", 2+spare), func(b *testing.B) {
			f, _, client := tokenFederation(b, 2, 3, IssuerConfig{DailyLimit: math.MaxInt})
			tok := newTestTokenizer(b, f, client, WithSpareIssuers(spare))
			exprs := sampleExprs(32)
			ctx := context.Background()
			var lat []time.Duration
			start := time.Now()
			for b.Loop() {
				t0 := time.Now()
				if _, err := tok.Tokenize(ctx, issuance.UseImport, exprs); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			b.ReportMetric(float64(len(lat)*len(exprs))/time.Since(start).Seconds(), "expr/s")
			b.ReportMetric(median(lat).Seconds()*1000, "p50-ms")
		})
	}
}

// BenchmarkMemberConnection measures what one member connection costs: a
// hub and 16 members that dial it, all greeted (hello and identify done),
// against the same hosts before connecting; only the members dial. Both ends of every connection
// live in this process, so "conn" is both ends and "end" half of that,
// which is what one node pays per member.
func BenchmarkMemberConnection(b *testing.B) {
	const n = 16
	for _, transport := range []string{"tcp", "quic-v1"} {
		b.Run(transport, func(b *testing.B) {
			var heap, routines []float64
			for b.Loop() {
				h, g := connectionCost(b, n, transport)
				heap, routines = append(heap, h), append(routines, g)
			}
			slices.Sort(heap)
			slices.Sort(routines)
			b.ReportMetric(heap[len(heap)/2], "heapB/conn")
			b.ReportMetric(heap[len(heap)/2]/2, "heapB/end")
			b.ReportMetric(routines[len(routines)/2], "goroutines/conn")
			b.ReportMetric(routines[len(routines)/2]/2, "goroutines/end")
		})
	}
}

// connectionCost returns the heap bytes and goroutines added per
// connection when n members connect to a hub.
func connectionCost(b *testing.B, n int, transport string) (heapPerConn, goroutinesPerConn float64) {
	f := newFederation(b, n+1, 1, 1)
	listen := map[string]string{"tcp": "/ip4/127.0.0.1/tcp/0", "quic-v1": "/ip4/127.0.0.1/udp/0/quic-v1"}[transport]
	hosts := make([]*Host, n+1)
	for i := range hosts {
		// Every host listens, as a node does, so that sockets (one UDP
		// socket per QUIC node) are in the baseline, not in the cost.
		h, err := New(context.Background(), f.keys[i], f.roster, WithListenAddrs(listen))
		if err != nil {
			b.Fatal(err)
		}
		hosts[i] = h
	}
	defer func() {
		for _, h := range hosts {
			h.Close()
		}
	}()
	hub := hosts[0]
	heap0, g0 := settledHeap(), runtime.NumGoroutine()
	book := map[peer.ID][]ma.Multiaddr{hub.ID(): hub.LibP2P().Addrs()}
	for _, h := range hosts[1:] {
		if err := h.SetPeerAddrs(book); err != nil {
			b.Fatal(err)
		}
	}
	waitFor(b, 10*time.Second, "members up", func() bool { return hub.Stats().Up == n })
	time.Sleep(100 * time.Millisecond) // identify and hello streams wind down
	heap1, g1 := settledHeap(), runtime.NumGoroutine()
	return float64(int64(heap1)-int64(heap0)) / float64(n), float64(g1-g0) / float64(n)
}

func settledHeap() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
