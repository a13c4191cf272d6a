package record

import (
	"bytes"
	"errors"
	"testing"
)

func TestPlacementsLetEveryRecordTravelAlone(t *testing.T) {
	m, recs, _ := signedBatch(t, 37)
	mb, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	mc := CIDOf(mb)
	for i, p := range BatchPlacements(mc, recs) {
		wire, err := p.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var back Placement
		if err := back.UnmarshalBinary(wire); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		c, err := m.Places(mc, recs[i], &back)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if !c.Equals(CIDOf(recs[i])) {
			t.Fatalf("record %d: CID %s", i, c)
		}
		// The same proof must not place another record, or this record elsewhere.
		if _, err := m.Places(mc, recs[(i+1)%len(recs)], &back); !errors.Is(err, ErrBatch) {
			t.Fatalf("record %d: a neighbour was placed with its proof: %v", i, err)
		}
		back.Index = (back.Index + 1) % len(recs)
		if _, err := m.Places(mc, recs[i], &back); !errors.Is(err, ErrBatch) {
			t.Fatalf("record %d placed at the wrong index: %v", i, err)
		}
	}
}

func TestPlacementRejectsMalformedEncodings(t *testing.T) {
	recs := sampleRecords(t, 1, 3)
	p := BatchPlacements(CIDOf(recs[0]), recs)[1]
	good, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"empty":     nil,
		"truncated": good[:len(good)-1],
		"trailing":  append(bytes.Clone(good), 0),
		"bad cid":   append([]byte{3, 1, 2, 3}, good[1+good[0]:]...),
		"too long":  make([]byte, MaxPlacementSize+1),
	} {
		var q Placement
		if err := q.UnmarshalBinary(b); !errors.Is(err, ErrPlacement) {
			t.Errorf("%s: got %v, want ErrPlacement", name, err)
		}
	}
}

func FuzzPlacement(f *testing.F) {
	recs := [][]byte{[]byte("a"), []byte("b"), []byte("c")}
	for _, p := range BatchPlacements(CIDOf([]byte("m")), recs) {
		b, _ := p.MarshalBinary()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Placement
		if p.UnmarshalBinary(b) != nil {
			return
		}
		again, err := p.MarshalBinary()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("decoded placement re-encodes to %x (%v), not %x", again, err, b)
		}
	})
}
