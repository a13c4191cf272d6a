package node

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ipfs/go-cid"

	"github.com/vigie-project/vigie/node/store"
	"github.com/vigie-project/vigie/protocol/record"
	"github.com/vigie-project/vigie/protocol/urlcanon"
)

func benchNode(b *testing.B) *Node {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "node")
	if err := Init(context.Background(), dir, InitOptions{Country: "FR", Org: "bench"}); err != nil {
		b.Fatal(err)
	}
	n, err := Open(context.Background(), dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { n.Close() })
	return n
}

// BenchmarkIngestVsRawPebble stores received, already-signed batches of
// 256 assertions (verify + decode + index + synced write) and, in the same
// iterations, writes the same bytes as a raw synced Pebble batch, so the
// ratio compares like with like on the same machine at the same moment.
func BenchmarkIngestVsRawPebble(b *testing.B) {
	const batch = 256
	n := benchNode(b)
	raw, err := pebble.Open(filepath.Join(b.TempDir(), "raw"), &pebble.Options{Logger: quietPebbleLogger{}})
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	ctx := context.Background()
	var ingest, plain time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		bt := signedBatch(b, n, uint64(i*batch+1), batch, strconv.Itoa(i))
		b.StartTimer()
		t0 := time.Now()
		if _, err := n.Ingest(ctx, bt); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		wb := raw.NewBatch()
		for _, r := range bt.Records {
			c := record.CIDOf(r)
			wb.Set(c.Bytes(), r, nil)
		}
		if err := wb.Commit(pebble.Sync); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		ingest += t1.Sub(t0)
		plain += t2.Sub(t1)
	}
	ingestRate := float64(b.N*batch) / ingest.Seconds()
	rawRate := float64(b.N*batch) / plain.Seconds()
	b.ReportMetric(ingestRate, "ingest-records/s")
	b.ReportMetric(rawRate, "raw-records/s")
	b.ReportMetric(ingestRate/rawRate, "ratio")
}

// BenchmarkAssert is one local assertion, durable, including tokenisation
// (standalone: the node evaluates its own share and verifies the proof).
func BenchmarkAssert(b *testing.B) {
	n := benchNode(b)
	ctx := context.Background()
	req := baseRequest()
	i := 0
	for b.Loop() {
		i++
		req.Expression = fmt.Sprintf("site-%d.example/", i)
		if _, err := n.Assert(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "assertions/s")
}

// BenchmarkAssertMany512 is the import path: 512 assertions tokenised in
// padded batches of 32, signed under one manifest, one synced write.
func BenchmarkAssertMany512(b *testing.B) {
	n := benchNode(b)
	ctx := context.Background()
	reqs := make([]AssertRequest, 512)
	round := 0
	for b.Loop() {
		round++
		for i := range reqs {
			reqs[i] = baseRequest()
			reqs[i].Expression = fmt.Sprintf("site-%d-%d.example/", round, i)
		}
		if _, err := n.AssertMany(ctx, reqs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(reqs))/b.Elapsed().Seconds(), "assertions/s")
}

// BenchmarkLookup measures a URL look-up against a node holding many
// indicators: "local" is the part after tokenisation (index look-ups,
// decoding, retraction checks), "whole" includes tokenising the URL's
// expressions in standalone mode. It reports p50 and p99 latencies and the
// process's resident memory. The store is seeded directly with synthetic
// signed-format assertions on random indicators (tokenising a million
// expressions would only measure the OPRF); VIGIE_BENCH_INDICATORS sets how
// many (default 1 000 000).
func BenchmarkLookup(b *testing.B) {
	if testing.Short() {
		b.Skip("seeding a large store takes minutes; run without -short")
	}
	count := 1_000_000
	if v := os.Getenv("VIGIE_BENCH_INDICATORS"); v != "" {
		count, _ = strconv.Atoi(v)
	}
	n := benchNode(b)
	ctx := context.Background()
	target := seedIndicators(b, n, count)
	u := "http://www.evil.example/forum/thread/12345/page.html?id=7"
	req := LookupRequest{URL: u, Purpose: "benchmark", Requester: "bench"}
	exprs := mustExpressions(b, u)
	tokens, err := n.tokens.Tokenize(ctx, "lookup", exprs)
	if err != nil {
		b.Fatal(err)
	}
	indicators := make([]cid.Cid, len(tokens))
	for i := range tokens {
		indicators[i] = record.IndicatorCID(tokens[i][:])
	}
	indicators[len(indicators)-1] = target // one expression hits
	exprs[len(exprs)-1] = "evil.example/"
	b.Run("local", func(b *testing.B) {
		lat := make([]time.Duration, 0, 1024)
		for b.Loop() {
			t0 := time.Now()
			res, err := n.match(indicators, exprs)
			lat = append(lat, time.Since(t0))
			if err != nil || len(res.Matches) != 1 {
				b.Fatalf("matches %v (%v)", res, err)
			}
		}
		reportLatency(b, lat)
	})
	b.Run("whole", func(b *testing.B) {
		lat := make([]time.Duration, 0, 1024)
		for b.Loop() {
			t0 := time.Now()
			if _, err := n.Lookup(ctx, req); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		reportLatency(b, lat)
	})
}

func mustExpressions(b *testing.B, u string) []string {
	parsed, err := urlcanon.Canonicalize(u)
	if err != nil {
		b.Fatal(err)
	}
	return parsed.Expressions()
}

// seedIndicators stores count assertions on random indicators in large
// unsigned-by-manifest batches and returns one of their indicators.
func seedIndicators(b *testing.B, n *Node, count int) cid.Cid {
	b.Helper()
	ctx := context.Background()
	var target cid.Cid
	base := baseRequest()
	const chunk = 10_000
	seq := uint64(0)
	for done := 0; done < count; done += chunk {
		entries := make([]store.Entry, 0, chunk)
		for i := 0; i < chunk && done+i < count; i++ {
			var tok [64]byte
			rand.Read(tok[:56])
			binary.BigEndian.PutUint64(tok[56:], uint64(done+i))
			seq++
			a := record.Assertion{Indicator: record.IndicatorCID(tok[:]), Expr: record.ExprHost, Categories: base.Categories,
				LegalStatus: base.LegalStatus, LegalBasis: base.LegalBasis, TLP: base.TLP, PAP: base.PAP,
				SourceEval: base.SourceEval, InfoEval: base.InfoEval, Onward: base.Onward,
				Created: uint64(n.now().Unix()), Origin: record.Agency{Country: "DE", Org: "bench"}, Seq: seq}
			raw, err := a.Encode()
			if err != nil {
				b.Fatal(err)
			}
			e, err := entryFor(raw, record.CIDOf(raw))
			if err != nil {
				b.Fatal(err)
			}
			entries = append(entries, e)
			target = a.Indicator
		}
		if _, err := n.store.Put(ctx, entries); err != nil {
			b.Fatal(err)
		}
	}
	return target
}

func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
	b.ReportMetric(rssMB(), "rss-MB")
}

// rssMB is the process's resident set size in MB, from /proc.
func rssMB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// quietPebbleLogger keeps Pebble's informational lines out of benchmark output.
type quietPebbleLogger struct{}

func (quietPebbleLogger) Infof(string, ...any)         {}
func (quietPebbleLogger) Errorf(f string, args ...any) { fmt.Fprintf(os.Stderr, f+"\n", args...) }
func (quietPebbleLogger) Fatalf(f string, args ...any) { panic(fmt.Sprintf(f, args...)) }
