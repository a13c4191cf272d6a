package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ipfs/go-cid"
)

func TestPutGetRoundTrip(t *testing.T) {
	s := newStore(t)
	a := assertion("fr", 1, indicator("evil.example/"), 0)
	if added := putT(t, s, a); !added[0] {
		t.Fatal("new record not reported as added")
	}
	got, kind, err := s.Get(a.CID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if !bytes.Equal(got, a.Bytes) || kind != KindAssertion {
		t.Fatalf("Get = %q, %v; want %q, assertion", got, kind, a.Bytes)
	}
	got[0] ^= 0xff // the copy is the caller's
	if again, _, _ := s.Get(a.CID); !bytes.Equal(again, a.Bytes) {
		t.Fatal("Get returned a slice aliasing store memory")
	}
	if ok, err := s.Has(a.CID); err != nil || !ok {
		t.Fatalf("Has = %v, %v; want true", ok, err)
	}
	missing := assertion("fr", 2, indicator("other.example/"), 0).CID
	if _, _, err := s.Get(missing); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(missing) error = %v; want ErrNotFound", err)
	}
	if ok, err := s.Has(missing); err != nil || ok {
		t.Fatalf("Has(missing) = %v, %v; want false", ok, err)
	}
	checkT(t, s)
}

func TestDuplicatePutIsNotRelogged(t *testing.T) {
	s := newStore(t)
	a := assertion("fr", 1, indicator("a.example/"), 0)
	b := assertion("fr", 2, indicator("b.example/"), 0)
	putT(t, s, a)
	added := putT(t, s, a, b, b)
	if added[0] || !added[1] || added[2] {
		t.Fatalf("added = %v; want [false true false]", added)
	}
	if added := putT(t, s, a, b); added[0] || added[1] {
		t.Fatalf("all-duplicate Put added %v", added)
	}
	_, next, _ := s.LogHead()
	if next != 3 {
		t.Fatalf("log next = %d; want 3 (two records, indexes 1 and 2)", next)
	}
	log, err := s.LogRange(0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 2 || !log[0].CID.Equals(a.CID) || !log[1].CID.Equals(b.CID) || log[0].Index != 1 || log[1].Index != 2 {
		t.Fatalf("log = %+v", log)
	}
	checkT(t, s)
}

func TestIndicatorIndexSeveralOrigins(t *testing.T) {
	s := newStore(t)
	ind, other, miss := indicator("evil.example/a/"), indicator("evil.example/"), indicator("fine.example/")
	fr := assertion("fr", 1, ind, 0)
	de := assertion("de", 7, ind, 0)
	be := assertion("be", 3, ind, 0)
	frHost := assertion("fr", 2, other, 0)
	putT(t, s, fr, de)
	putT(t, s, be, frHost)

	got, err := s.AssertionsOf(ind)
	if err != nil || !sameCIDs(got, []cid.Cid{fr.CID, de.CID, be.CID}) {
		t.Fatalf("AssertionsOf = %v, %v; want the three agencies' assertions", got, err)
	}
	if got, err := s.AssertionsOf(miss); err != nil || len(got) != 0 {
		t.Fatalf("AssertionsOf(miss) = %v, %v; want none", got, err)
	}
	res, err := s.LookupIndicators([]cid.Cid{miss, ind, other, ind})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || !sameCIDs(res[ind], []cid.Cid{fr.CID, de.CID, be.CID}) || !sameCIDs(res[other], []cid.Cid{frHost.CID}) {
		t.Fatalf("LookupIndicators = %v", res)
	}
	if _, ok := res[miss]; ok {
		t.Fatal("an indicator with no assertion appears in the result")
	}
	checkT(t, s)
}

func TestRetractionAndSightingIndexes(t *testing.T) {
	s := newStore(t)
	ind := indicator("google.example/")
	a := assertion("fr", 1, ind, 0)
	r := retraction("fr", 2, a.CID)
	// Retractions travel first: store one before its assertion.
	putT(t, s, r)
	if got, err := s.RetractionsOf(a.CID); err != nil || !sameCIDs(got, []cid.Cid{r.CID}) {
		t.Fatalf("RetractionsOf before the assertion = %v, %v", got, err)
	}
	sg1 := sighting("de", 1, ind, a.CID)
	sg2 := sighting("it", 1, ind, cid.Undef)
	putT(t, s, a, sg1, sg2)
	if got, err := s.SightingsOf(ind); err != nil || !sameCIDs(got, []cid.Cid{sg1.CID, sg2.CID}) {
		t.Fatalf("SightingsOf = %v, %v", got, err)
	}
	if got, err := s.AssertionsOf(ind); err != nil || !sameCIDs(got, []cid.Cid{a.CID}) {
		t.Fatalf("AssertionsOf = %v, %v; sightings must not show as assertions", got, err)
	}
	if _, kind, err := s.Get(r.CID); err != nil || kind != KindRetraction {
		t.Fatalf("Get(retraction) kind = %v, %v", kind, err)
	}
	checkT(t, s)
}

func TestOriginSequence(t *testing.T) {
	s := newStore(t)
	a1 := assertion("fr", 1, indicator("1.example/"), 0)
	a5 := assertion("fr", 5, indicator("5.example/"), 0)
	d3 := assertion("de", 3, indicator("3.example/"), 0)
	putT(t, s, a5, a1, d3)
	for _, tc := range []struct {
		origin string
		want   uint64
	}{{"fr", 5}, {"de", 3}, {"nl", 0}, {"f", 0}} {
		if got, err := s.OriginHead(tc.origin); err != nil || got != tc.want {
			t.Errorf("OriginHead(%q) = %d, %v; want %d", tc.origin, got, err, tc.want)
		}
	}
	if got, err := s.ByOriginSeq("fr", 1); err != nil || !got.Equals(a1.CID) {
		t.Errorf("ByOriginSeq(fr, 1) = %v, %v", got, err)
	}
	if _, err := s.ByOriginSeq("fr", 2); !errors.Is(err, ErrNotFound) {
		t.Errorf("ByOriginSeq(fr, 2) error = %v; want ErrNotFound", err)
	}
	// A lower sequence arriving later does not lower the head.
	putT(t, s, assertion("de", 2, indicator("2.example/"), 0))
	if got, _ := s.OriginHead("de"); got != 3 {
		t.Errorf("OriginHead(de) = %d after a lower sequence; want 3", got)
	}
}

func TestOriginSequenceConflict(t *testing.T) {
	s := newStore(t)
	a := assertion("fr", 1, indicator("a.example/"), 0)
	putT(t, s, a)
	equivocation := assertion("fr", 1, indicator("b.example/"), 0)
	fresh := assertion("fr", 2, indicator("c.example/"), 0)
	if _, err := s.Put(context.Background(), []Entry{fresh, equivocation}); !errors.Is(err, ErrConflict) {
		t.Fatalf("Put of a reused sequence: %v; want ErrConflict", err)
	}
	if ok, _ := s.Has(fresh.CID); ok {
		t.Fatal("a failed Put wrote part of its batch")
	}
	twice := assertion("de", 9, indicator("x.example/"), 0)
	twice2 := assertion("de", 9, indicator("y.example/"), 0)
	if _, err := s.Put(context.Background(), []Entry{twice, twice2}); !errors.Is(err, ErrConflict) {
		t.Fatalf("Put of one sequence twice in a batch: %v; want ErrConflict", err)
	}
	_, next, _ := s.LogHead()
	if next != 2 {
		t.Fatalf("log next = %d after refused Puts; want 2", next)
	}
	checkT(t, s)
}

func TestPutValidation(t *testing.T) {
	s := newStore(t)
	ind := indicator("v.example/")
	good := assertion("fr", 1, ind, 0)
	wrongHash := good
	wrongHash.Bytes = []byte("other bytes")
	noIndicator := assertion("fr", 2, cid.Undef, 0)
	retractionNoTarget := retraction("fr", 3, cid.Undef)
	indicatorAsRecord := good
	indicatorAsRecord.CID = ind
	recordAsIndicator := assertion("fr", 4, good.CID, 0)
	manifestWithIndicator := record(KindManifest, "fr", 0, ind, cid.Undef, 0)
	badKind := record(Kind(9), "fr", 5, cid.Undef, cid.Undef, 0)
	seqNoOrigin := assertion("", 6, ind, 0)
	negExpiry := assertion("fr", 7, ind, -1)
	longOrigin := assertion(string(bytes.Repeat([]byte("x"), 256)), 8, ind, 0)
	for name, e := range map[string]Entry{
		"bytes not matching CID": wrongHash, "assertion without indicator": noIndicator,
		"retraction without target": retractionNoTarget, "raw CID as record": indicatorAsRecord,
		"record CID as indicator": recordAsIndicator, "manifest with indicator": manifestWithIndicator,
		"unknown kind": badKind, "sequence without origin": seqNoOrigin, "negative expiry": negExpiry,
		"origin too long": longOrigin, "empty": {},
	} {
		if _, err := s.Put(context.Background(), []Entry{good, e}); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Put error = %v; want ErrInvalid", name, err)
		}
	}
	if ok, _ := s.Has(good.CID); ok {
		t.Fatal("a refused Put wrote its valid entries")
	}
	manifest := record(KindManifest, "fr", 0, cid.Undef, cid.Undef, 0)
	roster := record(KindRoster, "", 0, cid.Undef, cid.Undef, 0)
	putT(t, s, good, manifest, roster)
	checkT(t, s)
}

func TestLogRangePaging(t *testing.T) {
	s := newStore(t)
	var want []cid.Cid
	for batch := range 4 {
		var entries []Entry
		for i := range 3 {
			seq := uint64(batch*3 + i + 1)
			entries = append(entries, assertion("fr", seq, indicator(fmt.Sprint(seq)), 0))
			want = append(want, entries[i].CID)
		}
		putT(t, s, entries...)
	}
	var got []LogEntry
	for from := uint64(0); ; {
		page, err := s.LogRange(from, 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		if len(page) > 5 {
			t.Fatalf("page of %d entries exceeds the limit", len(page))
		}
		got = append(got, page...)
		from = page[len(page)-1].Index + 1
	}
	if len(got) != len(want) {
		t.Fatalf("paged %d entries; want %d", len(got), len(want))
	}
	for i, e := range got {
		if e.Index != uint64(i+1) || !e.CID.Equals(want[i]) || e.Kind != KindAssertion || e.Erased {
			t.Fatalf("entry %d = %+v; want index %d, %s", i, e, i+1, want[i])
		}
	}
	if page, _ := s.LogRange(8, 2); len(page) != 2 || page[0].Index != 8 {
		t.Fatalf("LogRange(8, 2) = %+v", page)
	}
	if _, err := s.LogRange(1, 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("LogRange with limit 0: %v; want ErrInvalid", err)
	}
}

func TestExpiryAndErase(t *testing.T) {
	s := newStore(t)
	ind := indicator("old.example/")
	early := assertion("fr", 1, ind, 100)
	late := assertion("de", 1, ind, 200)
	never := assertion("be", 1, ind, 0)
	r := retraction("fr", 2, early.CID)
	putT(t, s, early, late, never, r)

	if got, err := s.ExpiredBefore(150, 10); err != nil || !sameCIDs(got, []cid.Cid{early.CID}) {
		t.Fatalf("ExpiredBefore(150) = %v, %v", got, err)
	}
	if got, _ := s.ExpiredBefore(200, 10); len(got) != 2 || !got[0].Equals(early.CID) {
		t.Fatalf("ExpiredBefore(200) = %v; want early then late", got)
	}
	if got, _ := s.ExpiredBefore(1<<40, 1); len(got) != 1 {
		t.Fatalf("ExpiredBefore with limit 1 returned %d", len(got))
	}

	if err := s.Erase(context.Background(), []cid.Cid{early.CID, early.CID}); err != nil {
		t.Fatalf("Erase: %v", err)
	}
	if _, _, err := s.Get(early.CID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Erase: %v; want ErrNotFound", err)
	}
	if got, _ := s.AssertionsOf(ind); !sameCIDs(got, []cid.Cid{late.CID, never.CID}) {
		t.Fatalf("AssertionsOf after Erase = %v", got)
	}
	if got, _ := s.ExpiredBefore(150, 10); len(got) != 0 {
		t.Fatalf("ExpiredBefore after Erase = %v", got)
	}
	if _, err := s.ByOriginSeq("fr", 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ByOriginSeq of an erased record: %v", err)
	}
	if head, _ := s.OriginHead("fr"); head != 2 {
		t.Fatalf("OriginHead(fr) = %d after Erase; want 2 (never lowered)", head)
	}
	if got, _ := s.RetractionsOf(early.CID); !sameCIDs(got, []cid.Cid{r.CID}) {
		t.Fatalf("the retraction of an erased assertion must stay findable; got %v", got)
	}
	log, _ := s.LogRange(1, 10)
	if !log[0].Erased || log[0].CID.Defined() || log[0].Kind != KindAssertion || log[0].Index != 1 {
		t.Fatalf("log entry of the erased record = %+v; want a tombstone", log[0])
	}
	st, _ := s.Stats()
	if st.Records[KindAssertion] != 2 || st.Records[KindRetraction] != 1 || st.Erased != 1 || st.LogLength != 4 {
		t.Fatalf("Stats = %+v", st)
	}
	checkT(t, s)

	// Erase is idempotent, and an erased record may come back under a new index.
	if err := s.Erase(context.Background(), []cid.Cid{early.CID}); err != nil {
		t.Fatal(err)
	}
	if added := putT(t, s, early); !added[0] {
		t.Fatal("re-adding an erased record was not reported as added")
	}
	if log, _ := s.LogRange(5, 1); len(log) != 1 || !log[0].CID.Equals(early.CID) {
		t.Fatalf("re-added record logged as %+v; want index 5", log)
	}
	checkT(t, s)
}

func TestReopenKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	ind := indicator("keep.example/")
	a := assertion("fr", 1, ind, 500)
	r := retraction("de", 4, a.CID)
	putT(t, s, a, r)
	gone := assertion("it", 2, ind, 0)
	putT(t, s, gone)
	if err := s.Erase(context.Background(), []cid.Cid{gone.CID}); err != nil {
		t.Fatal(err)
	}
	epoch, next, _ := s.LogHead()
	stats, _ := s.Stats()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openT(t, dir)
	defer s.Close()
	epoch2, next2, _ := s.LogHead()
	if epoch2 != epoch || next2 != next {
		t.Fatalf("log head after reopen = %x/%d; want %x/%d", epoch2, next2, epoch, next)
	}
	if b, _, err := s.Get(a.CID); err != nil || !bytes.Equal(b, a.Bytes) {
		t.Fatalf("Get after reopen: %v", err)
	}
	if got, _ := s.AssertionsOf(ind); !sameCIDs(got, []cid.Cid{a.CID}) {
		t.Fatalf("AssertionsOf after reopen = %v", got)
	}
	if got, _ := s.RetractionsOf(a.CID); !sameCIDs(got, []cid.Cid{r.CID}) {
		t.Fatalf("RetractionsOf after reopen = %v", got)
	}
	if h, _ := s.OriginHead("it"); h != 2 {
		t.Fatalf("OriginHead(it) after reopen = %d", h)
	}
	stats2, _ := s.Stats()
	if fmt.Sprint(stats2.Records, stats2.LogLength, stats2.Erased) != fmt.Sprint(stats.Records, stats.LogLength, stats.Erased) {
		t.Fatalf("Stats after reopen = %+v; want %+v", stats2, stats)
	}
	checkT(t, s)
}

func TestClosedStore(t *testing.T) {
	s := openT(t, t.TempDir())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	a := assertion("fr", 1, indicator("c.example/"), 0)
	if _, err := s.Put(context.Background(), []Entry{a}); !errors.Is(err, ErrClosed) {
		t.Errorf("Put after Close: %v", err)
	}
	if _, _, err := s.Get(a.CID); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close: %v", err)
	}
	if _, err := s.LookupIndicators([]cid.Cid{a.Indicator}); !errors.Is(err, ErrClosed) {
		t.Errorf("LookupIndicators after Close: %v", err)
	}
	if err := s.Check(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Check after Close: %v", err)
	}
}

func TestCancelledPutWritesNothing(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	a := assertion("fr", 1, indicator("x.example/"), 0)
	if _, err := s.Put(ctx, []Entry{a}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with a cancelled context: %v", err)
	}
	if ok, _ := s.Has(a.CID); ok {
		t.Fatal("a cancelled Put wrote its record")
	}
}

// TestConcurrentUse runs writers and readers together (meant for -race):
// log indexes must stay dense and unique.
func TestConcurrentUse(t *testing.T) {
	s := newStore(t)
	const writers, perWriter = 4, 25
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				origin := fmt.Sprintf("o%d", w)
				a := assertion(origin, uint64(i+1), indicator(fmt.Sprint(w, "/", i)), 0)
				if _, err := s.Put(context.Background(), []Entry{a}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for i := range perWriter {
				if _, err := s.LookupIndicators([]cid.Cid{indicator(fmt.Sprint(w, "/", i))}); err != nil {
					t.Error(err)
					return
				}
				if _, err := s.LogRange(1, 10); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	log, err := s.LogRange(1, writers*perWriter+1)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[cid.Cid]bool{}
	for i, e := range log {
		if e.Index != uint64(i+1) || seen[e.CID] {
			t.Fatalf("log entry %d = %+v: not dense or duplicated", i, e)
		}
		seen[e.CID] = true
	}
	if len(log) != writers*perWriter {
		t.Fatalf("log has %d entries; want %d", len(log), writers*perWriter)
	}
	checkT(t, s)
}

// TestLookupFromCompactedTables checks look-ups answered from sstables,
// where the prefix bloom filters and the custom key split are used (small
// tests only ever read the memtable). Run it with -tags invariants too:
// Pebble then verifies the comparer's contract on every key.
func TestLookupFromCompactedTables(t *testing.T) {
	s := newStore(t)
	const indicators, perIndicator = 3000, 3
	var entries []Entry
	for i := range indicators {
		for o := range perIndicator {
			entries = append(entries, assertion(fmt.Sprint("o", o), uint64(i+1), indicator(fmt.Sprint("t/", i)), int64(i+1)))
		}
	}
	for start := 0; start < len(entries); start += 1000 {
		if _, err := s.put(context.Background(), entries[start:start+1000], pebble.NoSync); err != nil {
			t.Fatal(err)
		}
		if err := s.db.Flush(); err != nil { // several L0 tables, then compaction
			t.Fatal(err)
		}
	}
	if err := s.db.Compact(context.Background(), []byte{0}, []byte{0xff}, true); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < indicators; i += 7 {
		ind := indicator(fmt.Sprint("t/", i))
		res, err := s.LookupIndicators([]cid.Cid{ind, indicator(fmt.Sprint("miss/", i))})
		if err != nil {
			t.Fatal(err)
		}
		want := []cid.Cid{entries[i*perIndicator].CID, entries[i*perIndicator+1].CID, entries[i*perIndicator+2].CID}
		if len(res) != 1 || !sameCIDs(res[ind], want) {
			t.Fatalf("indicator %d: got %v; want %v", i, res, want)
		}
	}
	if got, _ := s.ExpiredBefore(10, 100); len(got) != 10*perIndicator {
		t.Fatalf("ExpiredBefore(10) = %d records; want %d", len(got), 10*perIndicator)
	}
	checkT(t, s)
}
