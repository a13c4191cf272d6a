package store

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ipfs/go-cid"
)

// TestMain removes the shared 1M-indicator store built by the look-up
// benchmark, which outlives any one benchmark run so that -count=N builds
// it once.
func TestMain(m *testing.M) {
	code := m.Run()
	big.cleanup()
	os.Exit(code)
}

const (
	benchBatch      = 256
	benchRecordSize = 400
	bigIndicators   = 1_000_000
	lookupWidth     = 30 // expressions of one URL look-up
)

// benchEntry builds assertion number n: a ~400-byte record on indicator n,
// from one of 28 agencies.
func benchEntry(n int, rng *rand.Rand) Entry {
	b := make([]byte, benchRecordSize)
	rng.Read(b)
	binary.BigEndian.PutUint64(b, uint64(n)) // unique even if the stream repeats
	origin := fmt.Sprintf("agency-%02d", n%28)
	return Entry{
		CID: sum(recordPrefix, b), Bytes: b, Kind: KindAssertion,
		Indicator: benchIndicator(n), Origin: origin, Seq: uint64(n/28 + 1),
		Expires: 1_800_000_000 + int64(n%100_000),
	}
}

func benchIndicator(n int) cid.Cid { return indicator("bench/" + strconv.Itoa(n)) }

func benchBatches(batches int, seed int64) [][]Entry {
	rng := rand.New(rand.NewSource(seed))
	out := make([][]Entry, batches)
	for i := range out {
		out[i] = make([]Entry, benchBatch)
		for j := range out[i] {
			out[i][j] = benchEntry(i*benchBatch+j, rng)
		}
	}
	return out
}

// rawDB for benchmarks: the same Pebble options as the store, so that the
// store/raw ratio measures only the store's own work (indexes, log,
// duplicate and sequence checks).
func openRawBench(b *testing.B) *pebble.DB {
	cfg := newConfig([]Option{quietLogger()})
	db, err := pebble.Open(b.TempDir(), pebbleOptions(cfg, nil, cfg.fs))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	return db
}

func rawCommit(b *testing.B, db *pebble.DB, entries []Entry) {
	batch := db.NewBatch()
	for i := range entries {
		_ = batch.Set(recordKey(entries[i].CID), entries[i].Bytes, nil)
	}
	if err := batch.Commit(pebble.Sync); err != nil {
		b.Fatal(err)
	}
	_ = batch.Close()
}

func reportRecordRate(b *testing.B, records int, d time.Duration) {
	b.ReportMetric(float64(records)/d.Seconds(), "records/s")
}

// BenchmarkPutBatch256: one synced Put of 256 new ~400-byte assertions.
func BenchmarkPutBatch256(b *testing.B) {
	s := newStore(b)
	batches := benchBatches(b.N, 1)
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if _, err := s.Put(context.Background(), batches[i]); err != nil {
			b.Fatal(err)
		}
	}
	reportRecordRate(b, b.N*benchBatch, time.Since(start))
}

// BenchmarkRawPebbleBatch256: the same record bytes as one synced raw Pebble
// batch, without indexes: the floor a Put can approach.
func BenchmarkRawPebbleBatch256(b *testing.B) {
	db := openRawBench(b)
	batches := benchBatches(b.N, 1)
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		rawCommit(b, db, batches[i])
	}
	reportRecordRate(b, b.N*benchBatch, time.Since(start))
}

// BenchmarkPutVsRawBatch256 interleaves a store Put and a raw batch of the
// same size in every iteration, so both see the same disk weather; "ratio"
// is store time / raw time (1.0 = the store costs nothing over Pebble).
func BenchmarkPutVsRawBatch256(b *testing.B) {
	s := newStore(b)
	db := openRawBench(b)
	batches := benchBatches(b.N, 1)
	var storeTime, rawTime time.Duration
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		if _, err := s.Put(context.Background(), batches[i]); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		rawCommit(b, db, batches[i])
		storeTime, rawTime = storeTime+t1.Sub(t0), rawTime+time.Since(t1)
	}
	b.ReportMetric(float64(b.N*benchBatch)/storeTime.Seconds(), "store-records/s")
	b.ReportMetric(float64(b.N*benchBatch)/rawTime.Seconds(), "raw-records/s")
	b.ReportMetric(storeTime.Seconds()/rawTime.Seconds(), "ratio")
}

// bigStore is the 1M-indicator store shared by look-up benchmarks.
type bigStore struct {
	once sync.Once
	dir  string
	err  error
}

var big bigStore

func (g *bigStore) get(b *testing.B) string {
	g.once.Do(func() {
		g.dir, g.err = os.MkdirTemp("", "vigie-store-bench-*")
		if g.err == nil {
			start := time.Now()
			g.err = buildBigStore(g.dir)
			b.Logf("built a store of %d indicators in %v", bigIndicators, time.Since(start).Round(time.Second))
		}
	})
	if g.err != nil {
		b.Fatal(g.err)
	}
	return g.dir
}

func (g *bigStore) cleanup() {
	if g.dir != "" {
		_ = os.RemoveAll(g.dir)
	}
}

// buildBigStore writes 1M assertions, one per indicator, through the
// store's own write path but without fsync (setup only), then lets
// compactions settle so the benchmark sees a steady-state LSM.
func buildBigStore(dir string) error {
	s, err := Open(context.Background(), dir, quietLogger())
	if err != nil {
		return err
	}
	defer s.Close()
	rng := rand.New(rand.NewSource(2))
	const chunk = 10_000
	entries := make([]Entry, chunk)
	for base := 0; base < bigIndicators; base += chunk {
		for j := range entries {
			entries[j] = benchEntry(base+j, rng)
		}
		if _, err := s.put(context.Background(), entries, pebble.NoSync); err != nil {
			return err
		}
	}
	if err := s.db.Flush(); err != nil {
		return err
	}
	waitCompactionsIdle(s.db)
	return nil
}

// waitCompactionsIdle waits until no compaction has run for a second (at
// most five minutes), so that the benchmark reads the LSM shape a store
// settles into rather than a burst of fresh L0 files.
func waitCompactionsIdle(db *pebble.DB) {
	idle := 0
	for deadline := time.Now().Add(5 * time.Minute); idle < 5 && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if db.Metrics().Compact.NumInProgress == 0 {
			idle++
		} else {
			idle = 0
		}
	}
}

// lookupQueries builds look-ups of lookupWidth indicators, the first
// `hits` of them stored, like the expressions of one URL.
func lookupQueries(n, hits int, rng *rand.Rand) [][]cid.Cid {
	out := make([][]cid.Cid, n)
	for i := range out {
		q := make([]cid.Cid, 0, lookupWidth)
		for range hits {
			q = append(q, benchIndicator(rng.Intn(bigIndicators)))
		}
		for len(q) < lookupWidth {
			q = append(q, indicator(fmt.Sprintf("miss/%d", rng.Int63())))
		}
		out[i] = q
	}
	return out
}

// BenchmarkLookupIndicators: a URL look-up (30 indicators) against a store
// of 1,000,000 indicators. Goals: p50 ≤ 200 µs, p99 ≤ 1 ms, RSS ≤ 500 MB.
// Warm-up runs other queries than the measurement, and every measured
// look-up draws a fresh stored indicator as its hit, so hits mostly miss
// the block cache (the OS page cache, warm after the build, still serves
// them: a node cold from boot would add a disk read per hit).
func BenchmarkLookupIndicators(b *testing.B) {
	if testing.Short() {
		b.Skip("-short: building the 1,000,000-indicator store takes minutes and about 1 GB of disk")
	}
	dir := big.get(b)
	debug.FreeOSMemory() // drop the build's garbage: measure the store, not the setup
	s := openT(b, dir)
	defer s.Close()
	logShape(b, s)
	rng := rand.New(rand.NewSource(3))
	for _, q := range lookupQueries(4096, 1, rng) { // warm filters and index blocks
		if _, err := s.LookupIndicators(q); err != nil {
			b.Fatal(err)
		}
	}
	for _, hits := range []int{1, 0} {
		queries := lookupQueries(4096, hits, rng)
		b.Run(fmt.Sprintf("30-indicators-%d-hit", hits), func(b *testing.B) { runLookups(b, s, queries, hits, rng) })
	}
}

func runLookups(b *testing.B, s *Store, queries [][]cid.Cid, hits int, rng *rand.Rand) {
	durs := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		q := queries[i%len(queries)]
		if hits > 0 {
			q[0] = benchIndicator(rng.Intn(bigIndicators)) // untimed: outside t0..t1
		}
		t0 := time.Now()
		res, err := s.LookupIndicators(q)
		durs = append(durs, time.Since(t0))
		if err != nil || len(res) != hits {
			b.Fatalf("look-up %d: %d hits, %v; want %d", i, len(res), err, hits)
		}
	}
	b.StopTimer()
	slices.Sort(durs)
	b.ReportMetric(float64(durs[len(durs)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(durs[len(durs)*99/100].Nanoseconds())/1e3, "p99-µs")
	b.ReportMetric(rssMB(b), "rss-MB")
	st := s.db.Metrics()
	b.ReportMetric(float64(st.Filter.Hits)/float64(max(1, st.Filter.Hits+st.Filter.Misses)), "filter-utility")
}

// logShape logs the store's size and LSM levels, to read the figures by.
func logShape(b *testing.B, s *Store) {
	st, err := s.Stats()
	if err != nil {
		b.Fatal(err)
	}
	m := s.db.Metrics()
	var levels []string
	for i, l := range m.Levels {
		if l.TablesCount > 0 {
			levels = append(levels, fmt.Sprintf("L%d:%d tables/%d MB", i, l.TablesCount, l.TablesSize>>20))
		}
	}
	b.Logf("%d assertions, %d MB on disk; %s", st.Records[KindAssertion], st.DiskBytes>>20, strings.Join(levels, " "))
}

// rssMB reads the process's resident memory from /proc/self/status.
func rssMB(b *testing.B) float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Logf("no /proc/self/status: %v", err)
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
