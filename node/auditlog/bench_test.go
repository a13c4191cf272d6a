package auditlog

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigie-project/vigie/crypto/merkle"
)

func reportRate(b *testing.B, n int) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(n)/s, "entries/s")
	}
}

// The CPU cost of an append before I/O: salt, leaf hash, compact range
// update and level storage, with the record buffered in memory.
func BenchmarkAppendInMemory(b *testing.B) {
	enc, err := sampleEntry(1).Encode()
	if err != nil {
		b.Fatal(err)
	}
	l := &Log{tree: newTree()}
	l.salts = newTestChaCha()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.appendEncoded(enc); err != nil {
			b.Fatal(err)
		}
		if len(l.pending) > 64<<20 {
			l.pending = l.pending[:0] // no I/O here; keep memory flat
		}
	}
	reportRate(b, b.N)
}

// Append including validation and canonical encoding of the entry.
func BenchmarkAppendWithEncoding(b *testing.B) {
	e := sampleEntry(1)
	l := &Log{tree: newTree(), o: options{now: nil}}
	l.salts = newTestChaCha()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Append(ctx, e); err != nil {
			b.Fatal(err)
		}
		if len(l.pending) > 64<<20 {
			l.pending = l.pending[:0]
		}
	}
	reportRate(b, b.N)
}

// Durable appends: entries buffered and fsynced in batches by the
// background loop (50 ms), plus a final Sync inside the timer.
func BenchmarkAppendDurable(b *testing.B) {
	l := openTest(b, b.TempDir())
	defer l.Close()
	e := sampleEntry(1)
	ctx := context.Background()
	for b.Loop() {
		if _, err := l.Append(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
	if err := l.Sync(ctx); err != nil {
		b.Fatal(err)
	}
	reportRate(b, b.N)
}

// Durable appends where every caller waits for its entry to be durable
// (what Sink does for a look-up), 64 callers sharing fsyncs.
func BenchmarkAppendDurableEach(b *testing.B) {
	l := openTest(b, b.TempDir())
	defer l.Close()
	e := sampleEntry(1)
	ctx := context.Background()
	b.SetParallelism(64)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := l.Append(ctx, e); err != nil {
				b.Error(err)
				return
			}
			if err := l.Sync(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportRate(b, b.N)
}

func BenchmarkInclusionProofVerify(b *testing.B) {
	const n = 1 << 20
	tr := newTree()
	var leaves []merkle.Hash
	for i := range uint64(n) {
		var d [8]byte
		putU64(d[:], i)
		h := merkle.LeafHash(d[:])
		tr.append(h)
		if i%997 == 0 {
			leaves = append(leaves, h)
		}
	}
	root, _ := tr.root(n)
	type pr struct {
		i    uint64
		leaf merkle.Hash
		p    []merkle.Hash
	}
	var proofs []pr
	for k, h := range leaves {
		i := uint64(k) * 997
		p, err := tr.inclusion(i, n)
		if err != nil {
			b.Fatal(err)
		}
		proofs = append(proofs, pr{i, h, p})
	}
	k := 0
	b.ResetTimer()
	for b.Loop() {
		q := proofs[k%len(proofs)]
		k++
		if err := VerifyInclusion(q.i, n, q.leaf, q.p, root); err != nil {
			b.Fatal(err)
		}
	}
}

// Full offline verification of a 1,000,000-entry bundle read from a file:
// decoding and hashing every entry, recomputing the tree, checking every
// checkpoint (one per 50,000 entries, Ed25519 + ML-DSA-44) and its
// consistency proof.
func BenchmarkRecompute1M(b *testing.B) {
	const n = 1_000_000
	dir := b.TempDir()
	l := openTest(b, filepath.Join(dir, "log"), WithCheckpointInterval(1<<62))
	ctx := context.Background()
	for i := range n {
		if _, err := l.Append(ctx, sampleEntry(i)); err != nil {
			b.Fatal(err)
		}
		if (i+1)%50_000 == 0 {
			if _, err := l.Publish(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	path := filepath.Join(dir, "bundle")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := l.Export(ctx, f); err != nil {
		b.Fatal(err)
	}
	f.Close()
	l.Close()
	st, _ := os.Stat(path)
	b.ReportMetric(float64(st.Size())/n, "bundle-bytes/entry")
	b.ResetTimer()
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		res, err := VerifyBundle(bufio.NewReaderSize(f, 1<<20))
		f.Close()
		if err != nil || res.Entries != n {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/recompute")
}

func BenchmarkDecodeEntry(b *testing.B) {
	enc, _ := sampleEntry(2).Encode()
	for b.Loop() {
		if _, err := DecodeEntry(enc); err != nil {
			b.Fatal(err)
		}
	}
}
