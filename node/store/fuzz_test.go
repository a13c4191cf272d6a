package store

import (
	"bytes"
	"math/rand"
	"testing"

	"github.com/ipfs/go-cid"
)

func seedEntries() []Entry {
	ind := indicator("seed.example/")
	a := assertion("fr", 3, ind, 1700000000)
	return []Entry{
		a,
		retraction("de", 9, a.CID),
		sighting("it", 0, ind, cid.Undef),
		record(KindRoster, "", 0, cid.Undef, cid.Undef, 0),
	}
}

// FuzzDecodeRecordValue: decoding stored record values never panics, and
// what Put encodes decodes back to the same facts and bytes.
func FuzzDecodeRecordValue(f *testing.F) {
	for i, e := range seedEntries() {
		f.Add(encodeRecordValue(&e, uint64(i+1)))
	}
	f.Add([]byte{})
	f.Add(make([]byte, recordFixedLen+3))
	f.Fuzz(func(t *testing.T, v []byte) {
		h, body, err := decodeRecordValue(v)
		if err != nil {
			return
		}
		ind, tgt, err := h.facts()
		if err != nil {
			return
		}
		e := Entry{Kind: h.kind, Bytes: body, Origin: string(h.origin), Seq: h.seq, Expires: h.expires, Indicator: ind, Target: tgt}
		if again := encodeRecordValue(&e, h.logIndex); !bytes.Equal(again, v) {
			t.Fatalf("re-encoding changed the value:\n%x\n%x", v, again)
		}
	})
}

// FuzzDecodeLogValue: decoding stored log values never panics and
// round-trips.
func FuzzDecodeLogValue(f *testing.F) {
	for _, e := range seedEntries() {
		f.Add(encodeLogValue(e.Kind, e.CID))
		f.Add(encodeLogTombstone(e.Kind))
	}
	f.Add([]byte{})
	f.Add([]byte{0x81, 0})
	f.Fuzz(func(t *testing.T, v []byte) {
		e, err := decodeLogValue(v)
		if err != nil {
			return
		}
		again := encodeLogTombstone(e.Kind)
		if !e.Erased {
			again = encodeLogValue(e.Kind, e.CID)
		}
		if !bytes.Equal(again, v) {
			t.Fatalf("re-encoding changed the value: %x → %x", v, again)
		}
	})
}

// FuzzCIDLen: the allocation-free CID length parser agrees with go-cid on
// every input go-cid accepts.
func FuzzCIDLen(f *testing.F) {
	for _, e := range seedEntries() {
		f.Add(append([]byte(e.CID.KeyString()), 1, 2, 3))
		f.Add([]byte(e.Indicator.KeyString()))
	}
	f.Add(bytes.Repeat([]byte{0xff}, 12))
	f.Add(append([]byte{0x12, 0x20}, make([]byte, 32)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, ok := cidLen(b)
		if ok && (n <= 0 || n > len(b)) {
			t.Fatalf("cidLen = %d outside the input of %d bytes", n, len(b))
		}
		m, _, err := cid.CidFromBytes(b)
		if err == nil && (!ok || n != m) {
			t.Fatalf("cidLen = %d, %v; go-cid read %d bytes", n, ok, m)
		}
	})
}

// FuzzSplitKey checks the Pebble comparer contract on arbitrary key pairs:
// comparing prefixes, then suffixes, must agree with bytewise comparison.
func FuzzSplitKey(f *testing.F) {
	e := seedEntries()
	f.Add(pairKey(prefixIndicator, e[0].Indicator, e[0].CID), pairKey(prefixIndicator, e[0].Indicator, e[1].CID))
	f.Add([]byte{prefixIndicator}, pairKey(prefixIndicator, e[0].Indicator, e[1].CID))
	f.Add(recordKey(e[0].CID), []byte{prefixIndicator, 0x01, 0x55})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		checkSplitContract(t, a, b)
	})
}

func checkSplitContract(t *testing.T, a, b []byte) {
	t.Helper()
	na, nb := splitKey(a), splitKey(b)
	if na < 0 || na > len(a) || nb < 0 || nb > len(b) {
		t.Fatalf("split out of range: %d/%d, %d/%d", na, len(a), nb, len(b))
	}
	want := bytes.Compare(a, b)
	got := bytes.Compare(a[:na], b[:nb])
	if got == 0 {
		got = bytes.Compare(a[na:], b[nb:])
	}
	if got != want {
		t.Fatalf("split order %d != bytewise order %d for %x (prefix %d) and %x (prefix %d)", got, want, a, na, b, nb)
	}
}

// TestSplitKeyContract runs the comparer contract over keys that share
// long prefixes, which random fuzz inputs rarely produce.
func TestSplitKeyContract(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	var keys [][]byte
	for i := range 40 {
		ind := indicator(string(rune('a' + i%5)))
		rec := assertion("fr", uint64(i), ind, 0).CID
		for _, p := range []byte{prefixIndicator, prefixSighting, prefixRetraction, prefixRecord, prefixLog} {
			k := pairKey(p, ind, rec)
			keys = append(keys, k, k[:1+rng.Intn(len(k))], append(bytes.Clone(k), byte(rng.Intn(256))))
		}
	}
	for _, a := range keys {
		for _, b := range keys {
			checkSplitContract(t, a, b)
		}
	}
}
