package record

import (
	"testing"

	"github.com/vigie-project/vigie/crypto/hybrid"
)

// BenchmarkVerifyBatch256 and BenchmarkHybridVerify run together so that
// the per-record cost of batch verification can be compared with one
// signature verification measured on the same machine in the same run.
func BenchmarkVerifyBatch256(b *testing.B) {
	const n = 256
	key := testKey(b, 2)
	records := sampleRecords(b, 1, n)
	m, err := SignBatch(key, agencyFR, records, created+60)
	if err != nil {
		b.Fatal(err)
	}
	pub := key.Public()
	size := 0
	for _, r := range records {
		size += len(r)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := VerifyBatch(&m, records, pub); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/record")
	b.ReportMetric(float64(size)/n, "B/record")
}

func BenchmarkHybridVerify(b *testing.B) {
	key := testKey(b, 2)
	msg := []byte("one manifest's signing bytes stand here")
	sig, err := key.Sign(ManifestContext, msg)
	if err != nil {
		b.Fatal(err)
	}
	pub := key.Public()
	b.ReportAllocs()
	for b.Loop() {
		if err := hybrid.Verify(pub, ManifestContext, msg, sig); err != nil {
			b.Fatal(err)
		}
	}
}
