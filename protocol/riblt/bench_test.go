package riblt

import (
	"testing"
	"time"
)

// reconcileFixture is two 1,000,000-item sets whose encoders are built
// before the clock starts, as a node maintains them as records arrive.
type reconcileFixture struct {
	sender, receiver *Encoder
	onlySender       []Symbol
	onlyReceiver     []Symbol
}

func newReconcileFixture(b *testing.B, n, onlySender, onlyReceiver int) reconcileFixture {
	b.Helper()
	start := time.Now()
	common, a, c := splitSets(uint64(n+onlySender), n, onlySender, onlyReceiver)
	f := reconcileFixture{
		sender:       encoderOf(testKey, common, a),
		receiver:     encoderOf(testKey, common, c),
		onlySender:   a,
		onlyReceiver: c,
	}
	b.Logf("built two encoders of %d items in %v (%.2f µs per Add)", n, time.Since(start),
		float64(time.Since(start).Microseconds())/float64(2*n+onlySender+onlyReceiver))
	return f
}

// benchReconcile runs one streamed session per iteration: the receiver asks
// for chunks (NextChunk), the sender encodes bounded batches from its
// maintained encoder, the receiver decodes them, subtracts its own
// maintained symbols and peels.
func benchReconcile(b *testing.B, f reconcileFixture) {
	d := len(f.onlySender) + len(f.onlyReceiver)
	var st sessionStats
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dec := NewDecoderWithLocal(f.receiver)
		var err error
		if st, err = runSession(f.sender, dec); err != nil {
			b.Fatal(err)
		}
		if !dec.Decoded() {
			b.Fatal("not decoded")
		}
		if i == 0 {
			b.StopTimer()
			sameSet(b, "remote", dec.Remote(), f.onlySender)
			sameSet(b, "local", dec.Local(), f.onlyReceiver)
			b.StartTimer()
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/session")
	b.ReportMetric(float64(st.rounds), "round-trips")
	b.ReportMetric(float64(st.messages), "msgs")
	if d > 0 {
		b.ReportMetric(float64(st.bytes)/float64(d), "B/diff")
		b.ReportMetric(float64(st.symbols)/float64(d), "symbols/diff")
	} else {
		b.ReportMetric(float64(st.bytes), "B/session")
	}
}

// BenchmarkReconcile1M_d1000: 1,000,000 ids each side, 500 only on each.
func BenchmarkReconcile1M_d1000(b *testing.B) {
	benchReconcile(b, newReconcileFixture(b, 1_000_000, 500, 500))
}

// BenchmarkReconcileInSync: 1,000,000 identical ids each side.
func BenchmarkReconcileInSync(b *testing.B) {
	benchReconcile(b, newReconcileFixture(b, 1_000_000, 0, 0))
}

// BenchmarkEncoderAdd is the cost of keeping an encoder (window
// DefaultWindow) up to date as records arrive, in a set of 100,000.
func BenchmarkEncoderAdd(b *testing.B) {
	common, _, _ := splitSets(7, 100_000, 0, 0)
	e := encoderOf(testKey, common[:len(common)/2])
	rest := common[len(common)/2:]
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		x := rest[i%len(rest)]
		e.Add(x)
		e.Remove(x)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*b.N), "ns/update")
}

// BenchmarkSketchAdd is the same for a size-2048 sketch.
func BenchmarkSketchAdd(b *testing.B) {
	common, _, _ := splitSets(8, 1024, 0, 0)
	s := NewSketch(testKey, 2048)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Add(common[i%len(common)])
	}
}

// BenchmarkSketchDecode_d1000 is Subtract plus Decode of two size-2048
// sketches that differ in 1,000 items.
func BenchmarkSketchDecode_d1000(b *testing.B) {
	common, a, c := splitSets(9, 100_000, 500, 500)
	sa, sc := NewSketch(testKey, 2048), NewSketch(testKey, 2048)
	for _, x := range append(common, a...) {
		sa.Add(x)
	}
	for _, x := range append(common, c...) {
		sc.Add(x)
	}
	recv := sc.Symbols(2048)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := SketchFromSymbols(testKey, recv)
		if err := s.Subtract(sa); err != nil {
			b.Fatal(err)
		}
		if _, _, err := s.Decode(); err != nil {
			b.Fatal(err)
		}
	}
}
